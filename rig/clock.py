"""Spec time.

Every wait, timeout and timestamp in the rig is in *spec seconds*: the seconds the
manual talks about (design §4).

- A real rig runs on the wall clock at speed 1: :class:`Clock`.
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
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


def _settle(future: asyncio.Future[T], value: T) -> None:
    """Set ``future``'s result unless it is already done (a timer racing an event)."""
    if not future.done():
        future.set_result(value)


class Clock:
    """Wall time at a fixed speed: a real rig (speed 1) and the framework's unit tests."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError(f"clock speed must be > 0, got {speed}")
        self.speed = float(speed)
        self._t0 = time.monotonic()
        self._utc0 = datetime.now(UTC)

    def now(self) -> float:
        """Spec seconds since the clock was made."""
        return (time.monotonic() - self._t0) * self.speed

    def utcnow(self) -> datetime:
        """Date and time on the spec axis: what a charger and a backend at this
        speed agree the time is (clock-aligned meter values, reservations' expiry)."""
        return self._utc0 + timedelta(seconds=self.now())

    def wall(self, spec_seconds: float) -> float:
        """Nominal wall seconds that ``spec_seconds`` take: for bounding wall-level
        operations (a socket timeout), never for timing what the spec times."""
        return spec_seconds / self.speed

    # -- waiting from a thread ---------------------------------------------------------
    def sleep(self, spec_seconds: float) -> None:
        if spec_seconds > 0:
            time.sleep(spec_seconds / self.speed)

    def wait_until(
        self,
        predicate: Callable[[], object],
        timeout: float,
        poll: float = 0.1,
    ) -> bool:
        """Poll ``predicate`` until truthy or ``timeout`` spec seconds pass.

        Returns the last result's truthiness: the caller decides whether a
        timeout is a failure, and says what it waited for.
        """
        deadline = self.now() + timeout
        while True:
            if predicate():
                return True
            if self.now() >= deadline:
                return bool(predicate())
            self.sleep(min(poll, max(deadline - self.now(), 1e-3)))

    def wait_condition(self, cond: threading.Condition, predicate: Callable[[], T],
                       timeout: float) -> T | None:
        """``cond.wait_for(predicate)`` bounded by ``timeout`` spec seconds; the
        caller does not hold ``cond``. Returns the predicate's last truthy result."""
        deadline = self.now() + timeout
        with self.waiting(predicate), cond:
            while True:
                result = predicate()
                if result:
                    return result
                left = deadline - self.now()
                if left <= 0:
                    return None
                # Short wall waits: spec time may run slower than nominal (BenchClock).
                cond.wait(min(self.wall(left), 0.05))

    # -- waiting on an event loop ------------------------------------------------------
    def call_later(self, spec_seconds: float, callback: Callable[[], Any]) -> TimerHandle:
        """Run ``callback`` on the running loop after ``spec_seconds``."""
        loop = asyncio.get_running_loop()
        return loop.call_later(max(0.0, spec_seconds) / self.speed, callback)

    async def asleep(self, spec_seconds: float) -> None:
        if spec_seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        handle = self.call_later(spec_seconds, lambda: _settle(future, None))
        try:
            await future
        finally:
            handle.cancel()

    async def wait_event(self, event: asyncio.Event, timeout: float) -> bool:
        """Wait for ``event`` at most ``timeout`` spec seconds; True if it was set."""
        if event.is_set():
            return True
        loop = asyncio.get_running_loop()
        result: asyncio.Future[bool] = loop.create_future()
        handle = self.call_later(timeout, lambda: _settle(result, False))
        waiter = loop.create_task(event.wait())
        waiter.add_done_callback(lambda _: _settle(result, True))
        try:
            return await result
        finally:
            handle.cancel()
            waiter.cancel()

    # -- the bench's loops (BenchClock only) ---------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """A loop whose work spec time waits for (no-op on the wall clock)."""

    def detach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop stops; spec time no longer waits for it."""

    def close(self) -> None:
        """Stop producing time (no-op on the wall clock)."""

    # -- the test's thread (BenchClock only) ---------------------------------------------
    def attach_thread(self) -> None:
        """The calling thread drives the bench (the test's thread): spec time waits
        while it works (no-op on the wall clock)."""

    def waiting(self, ready: Callable[[], object] | None = None
                ) -> contextlib.AbstractContextManager[None]:
        """Mark the calling thread as waiting (spec time may go on) for the block;
        ``ready``: the condition that ends the wait, if any (no-op on the wall clock)."""
        return contextlib.nullcontext()


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

    def _held(self) -> bool:
        """Whether a test thread is busy: running its own steps, or about to run
        because what it waited for has happened. Spec time waits for it then, so a
        test thread held back by a busy machine sees the bench where it left it."""
        wall = time.monotonic()
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
                self._sync()
                wall = time.monotonic()
                step = min(wall - last, self.MAX_STEP_WALL) * self.speed
                last = wall
                if self._held():
                    continue  # the time held is not counted: no jump afterwards
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
