"""The virtual EV emulator board's sense side and its programmable PP resistor.

On a real board a comparator turns CP into edges on the Pi's ``cp_sense`` pin and
an ADC reads CP's levels (README, "The EV emulator board"). Here the comparator
produces the edges of the PWM the twin drives, for the window the driver asks,
with timestamps on the spec-time axis; the ADC returns the levels the pilot
circuit gives. The driver computes duty, frequency and state from them exactly as
it does on the Pi.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

from evrig.rig.clock import Clock

PWM_HZ = 1000.0
EDGE_JITTER_S = 2e-6  # a comparator and GPIO timestamps jitter by microseconds


class VirtualCpBoard:
    """Comparator and ADC on the twin's pilot. ``pilot`` returns
    (duty_pct, freq_hz, high_v, low_v) of what the charger drives."""

    def __init__(self, clock: Clock, pilot: Callable[[], tuple[float, float, float, float]],
                 seed: int = 1) -> None:
        self._clock = clock
        self._pilot = pilot
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def edges(self, window_s: float) -> list[tuple[float, bool]]:
        """The comparator's edges for ``window_s`` spec seconds from now (the call
        takes that long, as on the Pi)."""
        t0 = self._clock.now()
        duty, freq, high, low = self._pilot()
        self._clock.sleep(window_s)
        if freq <= 0 or duty <= 0 or duty >= 100 or high <= 0 or low >= 0:
            return []  # a steady level: the comparator does not switch
        period = 1.0 / freq
        high_s = period * duty / 100.0
        out: list[tuple[float, bool]] = []
        with self._lock:
            jitter = self._random.uniform
            # The PWM's phase is unrelated to the window; no edge before the window opens.
            start = t0 + jitter(EDGE_JITTER_S, period)
            k = 0
            while True:
                rise = start + k * period
                if rise > t0 + window_s:
                    break
                out.append((rise + jitter(-EDGE_JITTER_S, EDGE_JITTER_S), True))
                fall = rise + high_s
                if fall <= t0 + window_s:
                    out.append((fall + jitter(-EDGE_JITTER_S, EDGE_JITTER_S), False))
                k += 1
        return out

    def levels(self) -> tuple[float, float]:
        """What the ADC's peak detectors hold: (high_v, low_v). A steady level puts
        the same voltage on both."""
        duty, freq, high, low = self._pilot()
        if freq <= 0 or duty >= 100:
            return high, high
        if duty <= 0:
            return low, low
        return high, low


def twin_pilot(twin: Any) -> Callable[[], tuple[float, float, float, float]]:
    """What the twin drives on CP: its ``pilot_output()``, read at each sense."""
    return lambda: tuple(twin.pilot_output())


class VirtualPpResistor:
    """A programmable resistor between PP and PE (a digital rheostat on a real
    board). When set, it wins over the PP relays: the driver opens those first."""

    def __init__(self, changed: Callable[[], None] = lambda: None) -> None:
        self.ohms: float | None = None
        self._changed = changed

    def set(self, ohms: float | None) -> None:
        self.ohms = ohms
        self._changed()
