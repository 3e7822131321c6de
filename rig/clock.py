"""Spec time.

Every wait, timeout and timestamp in the rig is in *spec seconds*: the seconds the
manual talks about (design §4).

- A real rig runs on the wall clock at speed 1: :class:`Clock`.
- The virtual bench runs faster, and its spec time is *produced by the bench*:
  :class:`rig.bench_clock.BenchClock` (how, and why it holds, is written there).

Both offer the same waits: ``sleep``/``wait_until``/``wait_condition`` from a thread,
``asleep``/``call_later``/``wait_event`` on an event loop — all in spec seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")

# The name of the RS-485 cable on the bench clock (Clock.in_flight / delivered): the
# charger's master holds spec time while a request crosses it, the meter ends the hold
# when it has the request and will not answer now (rig/bench_clock.py). Here in the
# kernel because both ends of the cable use it: the twin (sim) and the meter (drivers).
RS485_WIRE = "rs485"


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


def _settle(future: asyncio.Future[T], value: T) -> None:
    """Set ``future``'s result unless it is already done (a timer racing an event)."""
    if not future.done():
        future.set_result(value)


class Flight:
    """A request on a virtual cable (Clock.in_flight): ``end()`` once the answer is
    read; a context manager that ends it on exit."""

    def __init__(self, on_end: Callable[[], None] | None = None) -> None:
        self._on_end = on_end

    def end(self) -> None:
        on_end, self._on_end = self._on_end, None
        if on_end is not None:
            on_end()

    def __enter__(self) -> Flight:
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()


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

    async def within(self, awaitable: Awaitable[T], timeout: float) -> T:
        """``awaitable``'s result, or TimeoutError after ``timeout`` spec seconds (the
        awaitable is cancelled then)."""
        task = asyncio.ensure_future(awaitable)
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            task.cancel()

        handle = self.call_later(timeout, expire)
        try:
            return await task
        except asyncio.CancelledError:
            if expired:
                raise TimeoutError(f"no result within {timeout:g} s (spec)") from None
            raise
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

    def in_flight(self, wall_cap: float, wire: str) -> Flight:
        """Bytes are on virtual cable ``wire`` (a request until its answer is read):
        spec time stands still until the flight ends — the block's end, ``end()``, or
        ``delivered(wire)`` from the far end — at most ``wall_cap`` wall seconds. A
        no-op on the wall clock, where a real cable has its own time."""
        return Flight()

    def delivered(self, wire: str) -> None:
        """The far end of ``wire`` has the request and sends nothing now (a silent or
        a late meter): the flights on it end, so its timing runs in spec time."""

    def paused(self) -> contextlib.AbstractContextManager[None]:
        """Spec time stands still for the block: nothing on the bench is looked at (a
        framework test that does not use the rig). A no-op on the wall clock."""
        return contextlib.nullcontext()
