"""An asyncio event loop in a background thread, owned by the rig.

Testcases are plain ``def`` functions. The network side (mock CSMS, the virtual
bench's servers) is asyncio. Each side gets its own loop thread; a test thread
hands coroutines over with :meth:`LoopThread.run` and gets the result back,
bounded by a timeout so nothing hangs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class LoopClock(Protocol):
    """What a loop tells the clock: spec time waits for attached loops (BenchClock)."""

    def attach(self, loop: asyncio.AbstractEventLoop) -> None: ...

    def detach(self, loop: asyncio.AbstractEventLoop) -> None: ...

    def waiting(self, ready: Callable[[], object] | None = None
                ) -> contextlib.AbstractContextManager[None]: ...


class LoopThread:
    """Runs one asyncio loop in a daemon thread until :meth:`stop`."""

    def __init__(self, name: str, clock: LoopClock | None = None) -> None:
        """``clock``: the virtual bench's clock, when this loop runs part of the bench
        (the twin, a virtual instrument, the mock CSMS, the meter emulator): spec time
        then waits for this loop's work (rig/bench_clock.py)."""
        self.name = name
        self.loop = asyncio.new_event_loop()
        self._clock = clock
        if clock is not None:
            clock.attach(self.loop)
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            if self._clock is not None:
                self._clock.detach(self.loop)
        # Cancel what is left so sockets close and nothing lingers at exit.
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 10.0) -> T:
        """Run ``coro`` on the loop and wait at most ``timeout`` wall seconds."""
        if threading.current_thread() is self._thread:
            raise RuntimeError(f"{self.name}: run() called from its own loop (would deadlock)")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        # Waiting on a loop of the bench is waiting, not working: spec time goes on
        # for the loop until the result is there (rig/bench_clock.py).
        waiting = (self._clock.waiting(future.done) if self._clock is not None
                   else contextlib.nullcontext())
        try:
            with waiting:
                return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f"{self.name}: no result within {timeout} s") from None

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
