"""A view of the firmware that a sensor or camera reads from another thread (the LED
ring, sim/charger/led_ring.py; the EV PLUS front panel, front_panel.py) takes its
snapshots after each evaluation of the firmware and, for what changes without one
(power, a session's values), every :data:`REFRESH_S` on the bench loop: this task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from evrig.rig.clock import Clock

REFRESH_S = 1.0  # spec seconds between snapshots besides those after each evaluation


class PeriodicRefresh:
    """Calls ``refresh`` at start and every REFRESH_S spec seconds until stopped."""

    def __init__(self, clock: Clock, refresh: Callable[[], object]) -> None:
        self._clock = clock
        self._refresh = refresh
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._refresh()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # a half-built firmware: next tick
                self._refresh()
            await self._clock.asleep(REFRESH_S)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
