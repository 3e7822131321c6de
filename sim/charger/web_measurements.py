"""The web client's Power Meter Measurements (000 §2.5.1 EV NET, 004 §4.2 COMPACT) as
the twin prints them: each label of the profile's ``web_client.measurements`` block
names a quantity in its ``keys`` (rig/profile_ocpp.py WebPage), and this module gives
the quantity's value with the unit the manuals print.

Quantity names: ``energy_import_kwh``, ``energy_export_kwh``, ``active_power_kw``,
``voltage_v``, ``current_a`` (all phases for energy and power, L1 for voltage and
current: so a testcase reads a one-phase and a three-phase page alike), the same with
``_l1``/``_l2``/``_l3`` before the unit (one phase: ``voltage_l2_v``), ``neutral_v``
(N–PE), ``temperature_c`` and ``temperature_2_c`` (the board's two sensors)."""

from __future__ import annotations

import re

from evrig.sim.charger.metering import MeterReading

_QUANTITY = re.compile(
    r"(?P<what>energy_import|energy_export|active_power|voltage|current)"
    r"(?:_l(?P<phase>[123]))?_(?P<unit>kwh|kw|v|a)")
_UNITS = {"kwh": "kWh", "kw": "kW", "v": "V", "a": "A"}
_DECIMALS = {"kwh": 3, "kw": 3, "v": 1, "a": 3}


def printed(key: str, meter: MeterReading, temperatures_c: tuple[float, float]) -> str:
    """The value of quantity ``key`` as the page prints it (``224.8 V``, ``27° C``);
    ValueError for a name this module does not know (a typo in a profile's keys)."""
    if key == "neutral_v":
        return f"{meter.neutral_v:.1f} V"
    if key in ("temperature_c", "temperature_2_c"):
        return f"{temperatures_c[0 if key == 'temperature_c' else 1]:.0f}° C"
    match = _QUANTITY.fullmatch(key)
    if match is None:
        raise ValueError(f"unknown web client quantity {key!r}")
    what, unit = match["what"], match["unit"]
    index = None if match["phase"] is None else int(match["phase"]) - 1
    value = _value(what, index, meter)
    return f"{value:.{_DECIMALS[unit]}f} {_UNITS[unit]}"


def _value(what: str, index: int | None, meter: MeterReading) -> float:
    phases = range(len(meter.voltages_v))
    if what == "energy_import":
        if index is None:
            return meter.energy_wh / 1000
        return _at(meter.energies_wh, index) / 1000
    if what == "energy_export":
        return 0.0  # the twin's charger never exports
    if what == "active_power":
        if index is None:
            return meter.total_power_w() / 1000
        return (meter.power_of(index) or 0.0) / 1000 if index in phases else 0.0
    values = meter.voltages_v if what == "voltage" else meter.currents_a
    return _at(values, index or 0)


def _at(values: list[float], index: int) -> float:
    """A phase the unit is not wired for reads 0 (its row is printed as on 004's page)."""
    return values[index] if index < len(values) else 0.0
