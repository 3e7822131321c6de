"""Spec time produced by the virtual bench (design §4).

- The virtual bench runs faster, and its spec time is *produced by the bench*:
  :class:`BenchClock`. A ticker thread advances spec time in small steps. Before
  each step it waits until every event loop of the bench (the twin and its virtual
  instruments, the mock CSMS, the meter emulator) has run all it had to do — the
  callbacks and I/O that arrived, and the timers that fell due at the time reached
  (a barrier). A step counts at most ``MAX_STEP_WALL`` of wall time. So when the
  machine is slow, or a loop is starved of the CPU, spec time waits for it instead
  of running ahead: the twin's 20 ms contactor delay is 20 ms of spec time however
  loaded the machine is, and a 5 ms scheduling hiccup costs 5 ms of wall time, not
  100 ms of spec time.
- Timers are spec deadlines, not wall sleeps: ``asleep``/``call_later`` register a
  deadline; the ticker stops exactly at it, wakes its owner and waits for the owner's
  loop before going on. A timer therefore sees ``now() == deadline`` and everything
  due before it has happened, in order.
- The test's thread (the one that built the rig, ``attach_thread``) holds spec time
  while it works: spec time goes on only while it waits — in ``sleep``/``wait_until``,
  a CSMS ``wait_for`` (``wait_condition``) or for a bench loop (``LoopThread.run``).
  When what it waited for happens (its deadline, its condition, the loop's result),
  it holds again until it waits next. So a test thread held back by a busy machine
  finds the bench where it left it: eight steps inside a 60 s reservation stay inside
  it whatever the load. A hold longer than ``HOLD_MAX_WALL`` (the thread blocked on
  something this module does not know of) is logged and lets time go on.
- Bytes on a virtual cable are invisible to the barrier: a pty passes them through
  the kernel's flip buffer, a worker thread that a busy machine runs late, and meanwhile
  no loop has anything to do. A Modbus master therefore holds spec time while its
  request is on the wire (``in_flight``), until its answer's bytes are read; a meter
  that will not answer now (silent, or late) says so when it has the request
  (``delivered``), and then the master's response timeout runs in spec time as on a
  real bus. A wall cap bounds a flight nobody ends (no meter on the cable).
- Timing assertions compare stamps made where the event happens (the twin, a virtual
  instrument, the EV emulator's writes), not the test's own polling.

A loop that stops answering the barrier (wedged, or starved) is waited for at most
``SYNC_TIMEOUT_WALL``, with a log line, and not again until it answers (then it
rejoins by itself); a closed loop leaves the barrier. Spec time never stops for
good, so no spec-time wait can hang.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from evrig.rig.clock import Clock, Flight, TimerHandle

log = logging.getLogger(__name__)


class _Timer:
    __slots__ = ("actor", "callback", "cancelled", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop | None, callback: Callable[[], Any],
                 actor: _Actor | None = None):
        self.loop = loop
        self.callback = callback
        self.cancelled = False
        self.actor = actor  # the thread a thread timer wakes

    def cancel(self) -> None:
        self.cancelled = True


class _Actor:
    """A thread that drives the bench (the test's): busy since ``busy_since`` (wall
    seconds), or waiting (None) — until ``ready`` holds, if it waits for a condition."""

    __slots__ = ("busy_since", "ready")

    def __init__(self) -> None:
        self.busy_since: float | None = time.monotonic()
        self.ready: Callable[[], object] | None = None


class BenchClock(Clock):
    """Spec time produced by the virtual bench (see the module docstring)."""

    TICK_WALL = 0.001  # wall seconds between steps when nothing is due
    MAX_STEP_WALL = 0.002  # a step never counts more wall time than this
    SYNC_TIMEOUT_WALL = 5.0  # a loop that does not answer the barrier in this long lags
    # A test thread busy (not in a spec-time wait) holds spec time at most this long in
    # one stretch: beyond it, it may be blocked on something that needs spec time (a
    # wait this module does not know of); it is logged, and ``hold_lapses`` counts it.
    HOLD_MAX_WALL = 10.0

    def __init__(self, speed: float = 1.0) -> None:
        super().__init__(speed)
        self._now = 0.0
        self._lock = threading.Lock()
        self._timers: list[tuple[float, int, _Timer]] = []
        self._seq = itertools.count()
        self._loops: set[asyncio.AbstractEventLoop] = set()
        # The barrier marker each loop last got; unanswered = the loop lags.
        self._markers: dict[asyncio.AbstractEventLoop, threading.Event] = {}
        self._actors: dict[int, _Actor] = {}  # thread ident -> the thread's state
        self._lapsed: _Actor | None = None  # the actor whose hold lapsed, until it waits
        self._pauses = 0  # paused() blocks open: spec time stands still, no lapse
        self._flights: dict[int, tuple[str, float]] = {}  # open flights: wire, wall deadline
        self._flight_ids = itertools.count()
        self.hold_lapses = 0  # diagnostics: holds that ran out (0 on a healthy suite)
        self.lagging = 0  # barriers a loop missed (diagnostics; 0 on a healthy bench)
        self._running = True
        self.steps = 0  # for benchmarks and diagnostics
        self._thread = threading.Thread(target=self._run, name="bench-clock", daemon=True)
        self._thread.start()

    def now(self) -> float:
        return self._now

    def utcnow(self) -> datetime:
        return self._utc0 + timedelta(seconds=self._now)

    # -- timers ------------------------------------------------------------------------
    def _add(self, spec_seconds: float, loop: asyncio.AbstractEventLoop | None,
             callback: Callable[[], Any], actor: _Actor | None = None) -> _Timer:
        timer = _Timer(loop, callback, actor)
        with self._lock:
            heapq.heappush(self._timers,
                           (self._now + max(0.0, spec_seconds), next(self._seq), timer))
        return timer

    def call_later(self, spec_seconds: float, callback: Callable[[], Any]) -> TimerHandle:
        return self._add(spec_seconds, asyncio.get_running_loop(), callback)

    def sleep(self, spec_seconds: float) -> None:
        if spec_seconds <= 0:
            return
        woken = threading.Event()
        timer = self._add(spec_seconds, None, woken.set, self._actors.get(threading.get_ident()))
        try:
            with self.waiting():
                while not woken.wait(1.0):
                    if not self._thread.is_alive():
                        raise RuntimeError("the virtual bench's clock has stopped")
        finally:
            timer.cancel()

    # -- the test's thread -------------------------------------------------------------
    def attach_thread(self) -> None:
        self._actors[threading.get_ident()] = _Actor()

    @contextlib.contextmanager
    def waiting(self, ready: Callable[[], object] | None = None) -> Iterator[None]:
        actor = self._actors.get(threading.get_ident())
        if actor is None:
            yield
            return
        actor.ready, actor.busy_since = ready, None
        if self._lapsed is actor:
            self._lapsed = None
        try:
            yield
        finally:
            actor.ready, actor.busy_since = None, time.monotonic()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            self._pauses += 1
        try:
            yield
        finally:
            with self._lock:
                self._pauses -= 1

    def in_flight(self, wall_cap: float, wire: str) -> Flight:
        key = next(self._flight_ids)
        with self._lock:
            self._flights[key] = (wire, time.monotonic() + wall_cap)

        def end() -> None:
            with self._lock:
                self._flights.pop(key, None)

        return Flight(end)

    def delivered(self, wire: str) -> None:
        with self._lock:
            for key in [k for k, (w, _) in self._flights.items() if w == wire]:
                del self._flights[key]

    def _in_flight(self, wall: float) -> bool:
        with self._lock:
            return any(wall < deadline for _, deadline in self._flights.values())

    def _held(self) -> bool:
        """Whether a test thread is busy: running its own steps, or about to run
        because what it waited for has happened. Spec time waits for it then, so a
        test thread held back by a busy machine sees the bench where it left it."""
        wall = time.monotonic()
        if self._pauses or self._in_flight(wall):
            return True
        for actor in list(self._actors.values()):
            ready = actor.ready
            if actor.busy_since is None and ready is not None:
                with contextlib.suppress(Exception):
                    if ready():
                        actor.busy_since = wall  # it wakes up: hold until it waits again
            since = actor.busy_since
            if since is not None:
                if wall - since < self.HOLD_MAX_WALL:
                    return True
                if actor is not self._lapsed:
                    self._lapsed = actor
                    self.hold_lapses += 1
                    log.warning("bench clock: the test's thread has been busy for %.1f s "
                                "outside any spec-time wait; spec time goes on",
                                self.HOLD_MAX_WALL)
        return False

    # -- loops -------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._loops.add(loop)

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._loops.discard(loop)
            self._markers.pop(loop, None)

    def close(self) -> None:
        self._running = False
        self._thread.join(2.0)

    def _sync(self, loops: set[asyncio.AbstractEventLoop] | None = None) -> None:
        """Wait until each loop has run what was queued and what that queued in turn
        (two hops: a woken task runs in the iteration after its future's callback).

        A loop that has not answered an earlier barrier yet (lagging: blocked, or
        starved of the CPU for longer than SYNC_TIMEOUT_WALL) is not waited for again
        until it answers; then it rejoins by itself. A closed loop leaves the barrier."""
        with self._lock:
            targets = set(self._loops) if loops is None else loops & self._loops
        waits: list[threading.Event] = []
        for loop in targets:
            previous = self._markers.get(loop)
            if previous is not None and not previous.is_set():
                continue  # still lagging: its earlier marker stands for this one
            answered = threading.Event()
            try:
                loop.call_soon_threadsafe(_second_hop, loop, answered)
            except RuntimeError:  # closed without detaching
                self.detach(loop)
                continue
            self._markers[loop] = answered
            waits.append(answered)
        started = time.monotonic()
        for answered in waits:
            left = self.SYNC_TIMEOUT_WALL - (time.monotonic() - started)
            if not answered.wait(max(0.0, left)):
                self.lagging += 1
                log.warning("bench clock: an event loop did not answer within %.1f s "
                            "(blocked or starved of the CPU); spec time goes on without "
                            "it until it answers", self.SYNC_TIMEOUT_WALL)

    def _fire_due(self, target: float) -> bool:
        """Step through the timers due up to ``target``, one deadline at a time; True
        when a test thread was woken (spec time stops at its deadline for it)."""
        while True:
            with self._lock:
                if not self._timers or self._timers[0][0] > target:
                    return False
                deadline = self._timers[0][0]
                due: list[_Timer] = []
                while self._timers and self._timers[0][0] <= deadline:
                    due.append(heapq.heappop(self._timers)[2])
                self._now = max(self._now, deadline)
            loops: set[asyncio.AbstractEventLoop] = set()
            woke = False
            for timer in due:
                if timer.cancelled:
                    continue
                if timer.loop is None:
                    if timer.actor is not None:
                        timer.actor.busy_since = time.monotonic()
                        woke = True
                    timer.callback()
                    continue
                try:
                    timer.loop.call_soon_threadsafe(_run_timer, timer)
                    loops.add(timer.loop)
                except RuntimeError:  # its loop is closed: nobody waits for it
                    pass
            if loops:
                self._sync(loops)
            if woke:
                return True

    def _run(self) -> None:
        last = time.monotonic()
        while self._running:
            time.sleep(self.TICK_WALL)
            try:
                if self._held():
                    # No step, so no barrier either: a held bench costs no CPU. The
                    # time held is not counted: no jump afterwards.
                    last = time.monotonic()
                    continue
                self._sync()
                wall = time.monotonic()
                step = min(wall - last, self.MAX_STEP_WALL) * self.speed
                last = wall
                if self._held():
                    continue  # the thread woke during the barrier: not counted either
                target = self._now + step
                if not self._fire_due(target):
                    self._now = max(self._now, target)
                self.steps += 1
            except Exception:  # the clock must keep running whatever a callback does
                log.exception("bench clock step failed")


def _second_hop(loop: asyncio.AbstractEventLoop, answered: threading.Event) -> None:
    loop.call_soon(answered.set)


def _run_timer(timer: _Timer) -> None:
    if not timer.cancelled:
        timer.callback()
