"""Spec time.

Every wait, timeout and timestamp in the rig is in *spec seconds*: the seconds the
manual talks about. A real rig runs at speed 1. The virtual bench runs the twin's
timers ``speed`` times faster, so the manual's 6 s overcurrent delay takes
6 / speed seconds of wall time, and timing assertions hold at any speed because
both sides of the wire read the same clock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class Clock:
    """Converts between wall time and spec time at a fixed speed."""

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
        """Wall seconds that ``spec_seconds`` take at this speed."""
        return spec_seconds / self.speed

    def sleep(self, spec_seconds: float) -> None:
        if spec_seconds > 0:
            time.sleep(spec_seconds / self.speed)

    async def asleep(self, spec_seconds: float) -> None:
        await asyncio.sleep(max(0.0, spec_seconds) / self.speed)

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
            time.sleep(min(poll / self.speed, 0.05))
