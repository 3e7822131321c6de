"""Thermal derating and overheating (001 Appendix I Temperature Current Limit
Thresholds, VendorID1 code 2, VendorID2 0x0800; profile ``temperature_derating``;
EV PLUS: no derating rows, ERR ROT above ``fault_above_c``, 003 §5, §7.1.2).

Every row of the profile's table: with the sensors at the row's temperature during a
session, the charger offers the row's limit (its console and the PWM duty on CP) and
names DeviceTemperatureLimit. Above ``fault_above_c``: the overtemperature condition
as the unit shows it (RTM 0x0800 or its display string), SN Faulted with the
profile's codes, and only the profile's recoveries clear it. A table without rows
(EV PLUS) deselects the row testcases.
"""

from __future__ import annotations

import pytest

from evrig.testcases.ocpp.steps import start_charging
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import assert_pwm, device_limit_amps, wait_cp, wait_offered
from evrig.testcases.protection.checks import (
    Bench,
    expect_fault,
    expect_latched,
    panel,
    showing,
)

OVERHEAT_STEP_C = 1.0  # how far above fault_above_c the stimulus goes
COOL_C = 25.0  # a temperature well below the table (our stimulus)
ROWS = pytest.mark.applies(tables=("temperature_derating.rows",))


@ROWS
def test_derating_row(csms, ev, charger, clock, spec, derating_row):
    """Sensors at the row's temperature while charging → offered = the row's limit on
    the console and on CP (±0.5 % duty), reason DeviceTemperatureLimit; cooling down
    gives the unlimited offer back."""
    rated = float(spec.ratings["max_current_a"].value)
    limit = derating_row.limit_a
    assert spec.temperature_derating.limit(derating_row.max_temp_c, rated) == limit
    start_charging(csms, ev, charger)  # 32 A cable: the device limit is the cap
    unlimited = min(device_limit_amps(spec), rated)
    wait_offered(clock, charger, unlimited)

    charger.set_temperature(derating_row.max_temp_c)
    status = wait_offered(clock, charger, limit)
    assert float(status["temp"]) == pytest.approx(derating_row.max_temp_c)
    if limit < unlimited:
        assert status["limit"] == spec.limit_reason("DeviceTemperatureLimit").name
    reading = wait_cp(clock, ev, lambda r: abs(r.duty_pct - iec.duty_for_amps(limit))
                      <= iec.DUTY_TOLERANCE_PCT, f"duty for {limit} A")
    assert_pwm(reading, limit)
    assert abs(ev.offered_current() - limit) <= iec.amps_tolerance(limit)
    assert charger.status()["connector"] == "Charging", "derating is not a fault"
    assert charger.rtm_code() == 0

    charger.set_temperature(COOL_C)
    status = wait_offered(clock, charger, unlimited)
    assert status["limit"] != spec.limit_reason("DeviceTemperatureLimit").name


@ROWS
def test_below_table_no_thermal_limit(csms, ev, charger, clock, spec):
    """Just below the table's first row the charger offers its unlimited current."""
    first = spec.temperature_derating.rows[0].max_temp_c
    start_charging(csms, ev, charger)
    charger.set_temperature(first - 1)
    status = wait_offered(clock, charger, min(device_limit_amps(spec),
                                              float(spec.ratings["max_current_a"].value)))
    assert status["limit"] != spec.limit_reason("DeviceTemperatureLimit").name


@pytest.fixture
def bench(request, csms, ev, charger, clock, spec) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 **panel(request, spec))


@pytest.mark.parametrize("recovery", [
    # Clear Faults is a web client button (000 §2.5.1): only where the profile has it.
    pytest.param("web_clear", marks=pytest.mark.applies(web=("device_control",))),
    "power_cycle", "unplug"])
def test_overheating_fault_and_recovery(bench: Bench, recovery):
    """Above fault_above_c while charging: the overtemperature condition as the unit
    shows it (RTM 0x0800 with its vendorErrorCode, or ERR ROT), SN Faulted with the
    profile's errorCode, no PWM. Cooled down it stays latched (not auto); ``recovery``
    clears it exactly when the profile lists it."""
    b, csms, ev, charger, clock, spec = (bench, bench.csms, bench.ev, bench.charger,
                                         bench.clock, bench.spec)
    fault = spec.fault("overtemperature")
    start_charging(csms, ev, charger)
    charger.set_temperature(spec.temperature_derating.fault_above_c + OVERHEAT_STEP_C)
    faulted = expect_fault(b, fault.condition)
    if fault.rtm is not None:
        assert faulted["vendorErrorCode"] == fault.rtm.hex
    wait_cp(clock, ev, lambda r: r.freq_hz == 0, "PWM off when overheated")

    charger.set_temperature(COOL_C)
    assert "auto" not in fault.recovery
    csms.assert_none("StatusNotification", 2, connectorId=1, errorCode="NoError")
    expect_latched(b, fault.condition)  # it must latch after cooling down

    mark = csms.mark()
    if recovery == "web_clear":
        charger.clear_faults()
    elif recovery == "power_cycle":
        charger.power_cycle()
    else:
        ev.unplug()

    def cleared() -> bool:
        if fault.rtm is not None:
            return charger.rtm_code() & fault.rtm.code == 0
        return not showing(b, fault.condition)

    if recovery in fault.recovery:
        if recovery == "power_cycle":
            csms.wait_for("BootNotification", since=mark)
        csms.wait_for("StatusNotification", since=mark, connectorId=1, errorCode="NoError")
        assert clock.wait_until(cleared, 5), f"{fault.condition} not cleared by {recovery}"
    else:
        csms.assert_none("StatusNotification", 2, connectorId=1, errorCode="NoError")
        expect_latched(b, fault.condition)
