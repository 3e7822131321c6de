"""From one sensor reading to a colour name of the profile's LED table."""

from __future__ import annotations

import math

from evrig.drivers.led.tcs34725 import RawReading
from evrig.rig.tables.led_calibration import OFF, Calibration

UNKNOWN = "unknown"  # lit, but like none of the calibrated colours (e.g. mid-transition)


def chromaticity(rates: tuple[float, float, float, float],
                 dark: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """(clear signal, r/c, g/c, b/c) of ``rates`` with the dark reading subtracted."""
    c, r, g, b = (max(0.0, x - d) for x, d in zip(rates, dark, strict=True))
    if c <= 0:
        return 0.0, 0.0, 0.0, 0.0
    return c, r / c, g / c, b / c


class Classifier:
    def __init__(self, calibration: Calibration) -> None:
        self.calibration = calibration

    def label(self, reading: RawReading) -> str:
        return self.label_rates(reading.rates())

    def label_rates(self, rates: tuple[float, float, float, float]) -> str:
        cal = self.calibration
        if rates[0] <= cal.lit_rate:
            return OFF
        _, r, g, b = chromaticity(rates, cal.dark)
        best, best_d = UNKNOWN, math.inf
        for name, ref in cal.colours.items():
            d = math.dist((r, g, b), ref.chromaticity)
            if d < best_d:
                best, best_d = name, d
        return best if best_d <= cal.max_distance else UNKNOWN
