"""The twin's RGB light ring: what the charger shows, as light a sensor can read.

Colour and blink come from the profile's LED table (design §5) for the connector
status and whether the backend link is up; on power-up the ring is constant yellow
until the backend accepts the boot (000 §2.5 "until it is configured"); the
``LightIntensity`` key scales the brightness. The ring emits linear RGB in 0..1 per
channel; the virtual TCS34725 (sim/instruments/tcs34725.py) turns that into counts.

The firmware state is read on the bench loop after each evaluation of the firmware
(before a StatusNotification it queued goes out) and every ``REFRESH_S`` (refresh.py), and
kept as immutable snapshots stamped with the spec time of each change, so a sensor
read from another thread never walks the firmware's structures while the loop changes
them, and sees the light as it was during its integration.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evrig.rig.clock import Clock
from evrig.rig.profile import Profile
from evrig.sim.charger.refresh import PeriodicRefresh

DEFAULT_PERIOD_S, DEFAULT_DUTY = 1.0, 0.5  # when the profile records no blink
# The ring's drive per colour name (linear RGB, 0..1): the twin's firmware table.
# dark_grey is the manuals' swatch for an unlit ring. Brown is a dim, desaturated
# red, as an RGB LED mixes it; the mixes are far enough apart in chromaticity
# (≥ 0.25) that a dimmed ring keeps every colour apart.
COLOUR_RGB: dict[str, tuple[float, float, float]] = {
    "blue": (0.0, 0.10, 1.0),
    "yellow": (1.0, 0.85, 0.0),
    "green": (0.0, 1.0, 0.10),
    "orange": (1.0, 0.30, 0.0),
    "brown": (0.45, 0.15, 0.20),
    "red": (1.0, 0.0, 0.03),
    "dark_grey": (0.0, 0.0, 0.0),
}
DARK: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class RingState:
    """What the ring shows: the table's two patches and the brightness scale."""

    pattern: tuple[str, str]
    intensity: float  # 0..1 (LightIntensity / 100)
    status: str  # the row shown: a connector status, "Powerup" or "Off"
    online: bool
    period_s: float = 1.0  # the row's blink class (profile lights.<name>.blink)
    duty: float = 0.5


OFF = RingState(("dark_grey", "dark_grey"), 0.0, "Off", False)


class LedRing:
    """The ring of one twin. ``twin`` is read lazily: the bench builds the ring and
    the twin in either order."""

    def __init__(self, profile: Profile, clock: Clock, twin: Callable[[], Any]) -> None:
        self._led = profile.led
        self._clock = clock
        self._twin = twin
        self.state = OFF
        # (spec time, state) of each change, newest last: the light's recent history.
        self._changes: deque[tuple[float, RingState]] = deque([(0.0, OFF)], maxlen=256)
        self._lock = threading.Lock()
        self._periodic = PeriodicRefresh(clock, self.refresh)

    # -- state -------------------------------------------------------------------------
    def refresh(self) -> RingState:
        """Take a new snapshot from the twin (call on the bench loop). A change is
        stamped where it happens, in spec time: a sensor integrating over a window
        sees the light as it was in that window, however late it is read."""
        state = self._read_state()
        if state != self.state:
            with self._lock:
                self._changes.append((self._clock.now(), state))
            self.state = state
        return self.state

    def state_at(self, t: float) -> RingState:
        """What the ring showed at spec time ``t``."""
        with self._lock:
            changes = list(self._changes)
        i = bisect.bisect_right([c[0] for c in changes], t)
        return changes[i - 1][1] if i else OFF

    def _read_state(self) -> RingState:
        twin = self._twin()
        fw = getattr(twin, "fw", None)
        if twin is None or not twin.powered or fw is None:
            return OFF
        intensity = min(max(twin.nvm.config.int("LightIntensity", 100), 0), 100) / 100.0
        if "light_intensity_ignored" in twin.defects:  # rig selftest: always full brightness
            intensity = 1.0
        if fw.boot_status != "Accepted" and self._led.powerup is not None:
            row, online = self._led.powerup, False
        else:
            status = fw.connector_status()
            online = bool(fw.link.online)
            # Reserved has no row in the EVNET table (profile note): the connector is
            # still free, so the ring keeps showing Available. No testcase relies on it.
            row = self._led.rows.get(status) or self._led.rows["Available"]
        blink = self._led.blink_of(row.status)
        return RingState(row.pattern(online), intensity, row.status, online,
                         blink.period_s if blink else DEFAULT_PERIOD_S,
                         blink.duty if blink else DEFAULT_DUTY)

    # -- light -------------------------------------------------------------------------
    def colour_at(self, t: float) -> str:
        """The colour name lit at spec time ``t`` (free-running blink timer)."""
        state = self.state_at(t)
        first, second = state.pattern
        if first == second:
            return first
        phase = (t % state.period_s) / state.period_s
        return first if phase < state.duty else second

    def rgb_at(self, t: float) -> tuple[float, float, float]:
        """Emitted linear RGB at spec time ``t``."""
        state = self.state_at(t)
        r, g, b = COLOUR_RGB[self.colour_at(t)]
        k = state.intensity
        return r * k, g * k, b * k

    def rgb(self) -> tuple[float, float, float]:
        return self.rgb_at(self._clock.now())

    # -- running on the bench loop (sim/charger/refresh.py) -----------------------------
    async def start(self) -> None:
        await self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()
