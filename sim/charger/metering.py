"""The charger's meter: what it measures, and how it reports it in MeterValues.

Measurand names and phases come from the configuration value (the manual writes
``Voltage.L1-N``: OCPP measurand ``Voltage``, phase ``L1-N``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PHASES = ("L1-N", "L2-N", "L3-N", "L1-L2", "L2-L3", "L3-L1", "L1", "L2", "L3", "N")
UNITS = {
    "Voltage": "V",
    "Current.Import": "A",
    "Current.Offered": "A",
    "Power.Active.Import": "W",
    "Energy.Active.Import.Register": "Wh",
    "Temperature": "Celsius",
}


def split_measurand(entry: str) -> tuple[str, str | None]:
    """``Voltage.L1-N`` → (``Voltage``, ``L1-N``); ``Temperature`` → (``Temperature``, None)."""
    for phase in PHASES:
        if entry.endswith("." + phase):
            return entry[: -len(phase) - 1], phase
    return entry, None


_PHASE_INDEX = {"L1": 0, "L2": 1, "L3": 2, "L1-N": 0, "L2-N": 1, "L3-N": 2}


@dataclass
class MeterReading:
    """What the charger's meter reads, per phase (index 0 = L1)."""

    voltages_v: list[float] = field(default_factory=lambda: [230.0])
    currents_a: list[float] = field(default_factory=lambda: [0.0])
    neutral_v: float = 0.0  # N–PE; set from the measurement at every update
    offered_a: float = 0.0
    energy_wh: float = 0.0
    energies_wh: list[float] = field(default_factory=lambda: [0.0])  # per phase, own meter
    temperature_c: float = 25.0  # the board's sensor; set at every update
    powers_w: list[float] | None = None  # per phase, from an external MID meter; else V x I

    @property
    def voltage_v(self) -> float:
        """L1–N (what a single-phase charger's pages show)."""
        return self.voltages_v[0]

    @property
    def current_a(self) -> float:
        return self.currents_a[0]

    def power_of(self, index: int) -> float | None:
        if self.powers_w:
            return _at(self.powers_w, index)
        v, i = _at(self.voltages_v, index), _at(self.currents_a, index)
        return None if v is None or i is None else v * i

    def total_power_w(self) -> float:
        phases = len(self.powers_w) if self.powers_w else len(self.voltages_v)
        return sum(self.power_of(i) or 0.0 for i in range(phases))

    def value(self, measurand: str, phase: str | None) -> float | None:
        """A measurand as MeterValues reports it. With a phase (``L2``, ``L2-N``) the
        value of that phase (None where the meter has no such phase); without, L1 for
        voltage and current and the total for power."""
        index = _PHASE_INDEX.get(phase or "")
        if measurand == "Voltage":
            if phase == "N":
                return self.neutral_v
            return _at(self.voltages_v, index or 0)
        if measurand == "Current.Import":
            return _at(self.currents_a, index or 0)
        if measurand == "Power.Active.Import":
            if index is None:
                return self.total_power_w()
            return self.power_of(index)
        return {
            "Current.Offered": self.offered_a,
            "Energy.Active.Import.Register": self.energy_wh,
            "Temperature": self.temperature_c,
        }.get(measurand)


def _at(values: list[float], index: int) -> float | None:
    return values[index] if index < len(values) else None


def sampled_values(reading: MeterReading, entries: list[str], context: str) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        measurand, phase = split_measurand(entry)
        value = reading.value(measurand, phase)
        if value is None:
            continue
        sv: dict[str, Any] = {
            "value": f"{value:.1f}" if measurand != "Energy.Active.Import.Register"
            else str(int(value)),
            "context": context,
            "format": "Raw",
            "measurand": measurand,
            "location": "Body" if measurand == "Temperature" else "Outlet",
            "unit": UNITS[measurand],
        }
        if phase:
            sv["phase"] = phase
        out.append(sv)
    return out
