"""The character display and the indicators as a person at the charger reads them,
through the bench's camera (EV PLUS 003 §7.1): the rotation of values in stand-by and
while charging, checked against the bench's instruments; a fault's string replacing
it, the belt red and the fault indicator lit, kept after the cause goes (no automatic
reclosing, 003 §5) until the profile's recovery; the plug and charging indicators.

The belt's pattern per connector status is testcases/led/test_ring.py (the ``led``
fixture is the belt on a camera bench). Every expected value comes from the profile:
formats and units (``display.rotation``), the rotation period (``display.item_s``),
the fault strings (``faults.<condition>.display``), thresholds (``protections``), the
meter class (``ratings.meter_accuracy_pct``), the indicator tables (``lights``).
"""

from __future__ import annotations

from typing import Any

import pytest

from evrig.testcases.ocpp.steps import plug_in, start_charging

pytestmark = pytest.mark.applies(display=True)

VOLT_MARGIN_V = 5.0  # beyond a voltage threshold, well outside a meter's error
HOLD_S = 10.0  # spec seconds a latched fault must stay after its cause is gone
REACT_S = 5.0  # spec seconds for the charger to see a cause (003 gives no time)
DRAW_A = 10.0  # the load's draw while charging: inside every variant's range


def rotation(display: Any, spec: Any, clock: Any, charging: bool) -> dict[str, str]:
    """Unit → text of each rotation item seen over one full rotation and one item."""
    items = spec.display.items(charging)
    units = {item.unit for item in items}
    seen: dict[str, str] = {}
    end = clock.now() + spec.display.item_s * (len(items) + 1)
    while clock.now() < end and set(seen) != units:
        reading = display.reading()
        if reading.unit is not None:
            seen[reading.unit] = reading.text
        clock.sleep(spec.display.item_s / 3)
    return seen


def value_of(spec: Any, seen: dict[str, str], quantity: str) -> float:
    item = spec.display.rotation[quantity]
    assert item.unit in seen, f"{quantity} ({item.unit}) never shown; shown: {seen}"
    value = item.parse(seen[item.unit])
    assert value is not None, f"{quantity}: {seen[item.unit]!r} is not in format {item.format}"
    return value


def resolution(spec: Any, quantity: str) -> float:
    """One count of the item's last shown digit (a fixed '.0' is not a digit)."""
    fmt = spec.display.rotation[quantity].format
    decimals = fmt.split(".")[1].count("c") if "." in fmt else 0
    return 10.0 ** -decimals


def tolerance(spec: Any, quantity: str, value: float) -> float:
    """The meter's class on the value, plus one count of the display."""
    pct = float(spec.ratings["meter_accuracy_pct"].value)
    return abs(value) * pct / 100 + resolution(spec, quantity)


def test_standby_rotation_shows_the_supply(display, ac_source, clock, spec):
    """Stand-by: the stand-by items in rotation, each in its format with its unit lit;
    the voltage and frequency those of the AC source."""
    seen = rotation(display, spec, clock, charging=False)
    assert set(seen) == {item.unit for item in spec.display.items(False)}, seen
    supply = ac_source.measure()
    volts = value_of(spec, seen, "voltage_v")
    assert abs(volts - supply.voltage) <= tolerance(spec, "voltage_v", supply.voltage), \
        f"display {volts} V, AC source {supply.voltage} V"
    assert supply.frequency is not None, "the AC source does not measure frequency"
    hz = value_of(spec, seen, "frequency_hz")
    assert abs(hz - supply.frequency) <= tolerance(spec, "frequency_hz", supply.frequency), \
        f"display {hz} Hz, AC source {supply.frequency} Hz"


def test_charging_rotation_shows_the_session(display, csms, ev, charger, ac_load, clock,
                                             spec):
    """Charging with the load drawing: the charging items join the rotation; the current
    is the load's, the duration whole minutes since the start, the energy grows."""
    start_charging(csms, ev, charger)
    started = clock.now()
    ac_load.set_current(DRAW_A)
    ac_load.enable(True)
    seen = rotation(display, spec, clock, charging=True)
    assert set(seen) == {item.unit for item in spec.display.items(True)}, seen
    drawn = ac_load.measure().current
    amps = value_of(spec, seen, "current_a")
    assert abs(amps - drawn) <= tolerance(spec, "current_a", drawn), \
        f"display {amps} A, load {drawn} A"
    minutes = value_of(spec, seen, "duration_min")
    assert minutes <= (clock.now() - started) / 60 + 1, f"{minutes} min after " \
        f"{clock.now() - started:.0f} s"
    first = value_of(spec, seen, "energy_kwh")
    clock.sleep(120)  # 10 A at 230 V: 0.077 kWh, most of a 0.1 kWh count
    again = value_of(spec, rotation(display, spec, clock, charging=True), "energy_kwh")
    assert again >= first and again > 0, f"energy {first} then {again} kWh"
    assert value_of(spec, rotation(display, spec, clock, charging=True), "duration_min") >= 2


def test_overvoltage_shows_its_string_and_stays_until_recovered(
        display, indicators, led, csms, ev, charger, ac_source, ac_load, clock, spec):
    """Over the voltage band while charging: the fault's string replaces the rotation,
    the belt shows Faulted, the fault indicator is lit. Back at nominal the fault stays
    (003 §5: not automatically reclosed) — string, lights, no current — until the
    profile's first recovery action (unplug); then the rotation and stand-by return."""
    fault = spec.fault("overvoltage")
    assert fault.display, "profile: overvoltage has no display string"
    vp = spec.protections.voltage
    start_charging(csms, ev, charger)
    ac_load.set_current(DRAW_A)
    ac_load.enable(True)
    ac_source.set_voltage(vp.high_v + VOLT_MARGIN_V)
    assert display.wait_for(f"^{fault.display}$", REACT_S)
    led.wait_for("Faulted", timeout=REACT_S)
    indicators.wait_for("fault", "Fault", timeout=REACT_S)
    ac_source.set_voltage(float(vp.nominal_v))
    if not spec.protections.reclosing.automatic:
        clock.sleep(HOLD_S)
        assert display.text() == fault.display, "the fault string went with its cause"
        assert ac_load.measure().current < 0.5, "current flows again after the trip"
        led.wait_for("Faulted", timeout=REACT_S)
    assert "unplug" in fault.recovery, f"overvoltage recovery {fault.recovery}"
    ev.unplug()
    led.wait_for("Available", timeout=REACT_S)
    indicators.wait_for("fault", "NoFault", timeout=REACT_S)
    text = display.text()
    assert not text.startswith("ERR") and text.strip(), f"display {text!r} after recovery"


def test_plug_and_charging_indicators_follow_the_session(indicators, csms, ev, charger,
                                                         spec):
    """The plug indicator follows the cable, the charging indicator the session (003
    §7.1.3, rows as the profile reads them)."""
    indicators.wait_for("plug", "Disconnected", timeout=REACT_S)
    indicators.wait_for("charging", "Idle", timeout=REACT_S)
    plug_in(csms, ev)
    indicators.wait_for("plug", "Connected", timeout=REACT_S)
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available")
    start_charging(csms, ev, charger)
    indicators.wait_for("charging", "Charging", timeout=REACT_S)
    ev.set_state("B")  # the EV pauses: SuspendedEV
    csms.wait_for("StatusNotification", connectorId=1, status="SuspendedEV")
    indicators.wait_for("charging", "Suspended", timeout=REACT_S)
