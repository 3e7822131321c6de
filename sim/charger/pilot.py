"""The charger's control-pilot and proximity circuit, from the EV board's relays.

Physics, not a lookup of the emulator's intent: the charger's 12 V source sits
behind 1 kΩ, the EV's resistors behind a diode (≈0.7 V). The decoded state comes
from the resulting voltage with the IEC 61851-1 ±1 V bands; a missing diode shows
as a negative level far from −12 V.
"""

from __future__ import annotations

from dataclasses import dataclass

R_SOURCE = 1000.0
V_DIODE = 0.7
R_B, R_C, R_D = 2740.0, 1300.0, 270.0

# IEC 61851-1 nominal levels with ±1 V tolerance.
LEVELS = {"A": 12.0, "B": 9.0, "C": 6.0, "D": 3.0, "E": 0.0}


@dataclass(frozen=True)
class PilotReading:
    state: str  # A..E, F (−12 V), or "?" (undefined level)
    high_v: float
    low_v: float


def cp_levels(relays: dict[str, bool]) -> tuple[float, float]:
    """(high, low) CP voltage for the relay positions ``r_b, r_c, r_d, cp_short, diode_short``."""
    if relays.get("cp_short"):
        return 0.0, 0.0
    conductances = [1 / r for name, r in (("r_b", R_B), ("r_c", R_C), ("r_d", R_D))
                    if relays.get(name)]
    if not conductances:
        return 12.0, -12.0
    load = 1 / sum(conductances)  # C's and D's resistors sit in parallel with B's
    diode_present = not relays.get("diode_short")
    vd = V_DIODE if diode_present else 0.0
    high = vd + (12.0 - vd) * load / (load + R_SOURCE)
    low = -12.0 if diode_present else -12.0 * load / (load + R_SOURCE)
    return round(high, 2), round(low, 2)


def decode(high_v: float) -> str:
    for state, level in LEVELS.items():
        if abs(high_v - level) <= 1.0:
            return state
    return "?"


def read_pilot(relays: dict[str, bool]) -> PilotReading:
    high, low = cp_levels(relays)
    return PilotReading(decode(high), high, low)

