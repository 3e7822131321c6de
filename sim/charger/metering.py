"""The charger's meter: what it measures, and how it reports it in MeterValues.

Measurand names and phases come from the configuration value (the manual writes
``Voltage.L1-N``: OCPP measurand ``Voltage``, phase ``L1-N``).
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass
class MeterReading:
    voltage_v: float = 230.0
    neutral_v: float = 2.6
    current_a: float = 0.0
    offered_a: float = 0.0
    energy_wh: float = 0.0
    temperature_c: float = 30.0
    power_w: float | None = None  # measured by an external MID meter; else V x I

    def value(self, measurand: str, phase: str | None) -> float | None:
        if measurand == "Voltage":
            return self.neutral_v if phase == "N" else self.voltage_v
        power = self.voltage_v * self.current_a if self.power_w is None else self.power_w
        return {
            "Current.Import": self.current_a,
            "Current.Offered": self.offered_a,
            "Power.Active.Import": power,
            "Energy.Active.Import.Register": self.energy_wh,
            "Temperature": self.temperature_c,
        }.get(measurand)


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
