"""Power management with the external meter (003 §10; profile ``rs485``, its note gives
our readings).

The meter on RS-485 measures the installation — the other loads and the charger. The
charger offers what the contracted power leaves: contracted = Max Current (the web
app's, §10 step 4; not set: the rated current, profile web_client.system_parameters
note) × nominal voltage × phases; offer per phase = (contracted − (meter − own)) /
(nominal voltage × phases). The loads have priority: below the IEC 61851-1 minimum
(ratings.min_current_a) the charger pauses (SuspendedEVSE) and resumes when the loads
leave enough. A silent meter is ERR MET (faults.meter_missing) while it lasts.
"""

from __future__ import annotations

import pytest

from evrig.testcases.evplus.steps import expect_faulted
from evrig.testcases.ocpp.steps import start_charging
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import wait_cp, wait_offered
from evrig.testcases.protection.checks import ZERO_A

pytestmark = pytest.mark.applies(meter_use="power_management")
OTHER_LOADS_W = (2000.0, 4500.0, 1000.0)  # the installation's other loads, stepped
EV_DRAW_A = 10.0  # what the EV draws in the own-draw testcase (per phase)
# 003 §10's example: a 3.7 kW supply set as Max Current 16 A, other loads of 2 kW.
EXAMPLE_MAX_CURRENT_A = 16
EXAMPLE_OTHER_LOADS_W = 2000.0


def _react_s(spec) -> float:
    """Spec seconds from a load step to the new offer: a poll period and one poll cycle
    in which every register may take its response timeout, twice (profile rs485)."""
    rs = spec.rs485
    return 2 * (rs.poll_period_s + len(rs.meter_registers) * rs.response_timeout_s)


def _phases(variant) -> int:
    return int(variant.phases)


def _contracted_a(spec) -> float:
    """Max Current as a new unit has it: the rated current (web_client note)."""
    return float(spec.ratings["max_current_a"].value)


def _offer(spec, variant, other_w: float, contracted_a: float | None = None) -> float:
    """003 §10 for this unit: what the contracted power (``contracted_a``, else the
    rated current) leaves, per phase."""
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    contracted = _contracted_a(spec) if contracted_a is None else contracted_a
    return max(0.0, contracted - other_w / (nominal * _phases(variant)))


def _meter_sees(meter, spec, variant, watts: float) -> None:
    """The installation's power on the meter, shared by the unit's phases (at the
    meter's own nominal voltage, as set_current computes the power)."""
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    phases = _phases(variant)
    for phase in range(1, phases + 1):
        meter.set_current(watts / (nominal * phases), phase=phase)


@pytest.fixture
def installation_meter(meter, charger, spec, variant):
    """The meter connected for power management (service console ``rs485 meter``: 003
    names no setting, profile rs485 note), measuring no load yet."""
    _meter_sees(meter, spec, variant, 0.0)
    charger.rs485_device("meter")
    try:
        yield meter
    finally:
        charger.rs485_device("none")


def _expect_offer(clock, ev, charger, spec, amps: float) -> dict:
    status = wait_offered(clock, charger, round(amps, 1), timeout=_react_s(spec))
    assert status["limit"] == "external_meter" or amps >= _contracted_a(spec), status
    wait_cp(clock, ev, lambda r: abs(r.duty_pct - iec.duty_for_amps(amps))
            <= iec.DUTY_TOLERANCE_PCT, f"duty for {amps:.1f} A", timeout=_react_s(spec))
    return status


def test_offer_is_what_the_contracted_power_leaves(csms, ev, charger, clock, spec, variant,
                                                   installation_meter):
    """The other loads step up and down while charging: the offer follows §10's rule
    (CP duty and the charger's own view), the session stays Charging."""
    start_charging(csms, ev, charger)
    for other_w in OTHER_LOADS_W:
        _meter_sees(installation_meter, spec, variant, other_w)
        amps = _offer(spec, variant, other_w)
        assert amps >= float(spec.ratings["min_current_a"].value), "a step of this test"
        status = _expect_offer(clock, ev, charger, spec, amps)
        assert float(status["installation_w"]) == pytest.approx(other_w, abs=1.0)
        assert status["connector"] == "Charging", "power management is not a fault"


def test_own_draw_is_not_another_load(csms, ev, charger, clock, spec, variant, ac_load,
                                      installation_meter):
    """The meter sees the EV too: the charger takes its own draw out of the reading, so
    an EV drawing does not lower its own offer."""
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    other_w = OTHER_LOADS_W[0]
    start_charging(csms, ev, charger)
    _meter_sees(installation_meter, spec, variant, other_w)
    amps = _offer(spec, variant, other_w)
    _expect_offer(clock, ev, charger, spec, amps)
    ac_load.set_current(EV_DRAW_A)
    ac_load.enable(True)
    assert clock.wait_until(lambda: ac_load.measure().current > EV_DRAW_A - ZERO_A, 5.0)
    own_w = EV_DRAW_A * nominal * _phases(variant)
    _meter_sees(installation_meter, spec, variant, other_w + own_w)
    clock.sleep(_react_s(spec))
    _expect_offer(clock, ev, charger, spec, amps)


@pytest.mark.applies(meter_use="power_management", web=("system_parameters",))
def test_max_current_sets_the_contracted_power(csms, ev, charger, clock, spec, variant, web,
                                               installation_meter):
    """§10 step 4 and its example: the maximum power is set as the web app's Max Current
    (16 A for a 3.7 kW supply); with 2 kW of other loads the charger offers what 16 A
    leaves — (3.7 − 2) kW on a one-phase unit — not what the rated current would."""
    web.set_max_current(EXAMPLE_MAX_CURRENT_A)
    assert web.max_current() == EXAMPLE_MAX_CURRENT_A
    start_charging(csms, ev, charger)
    _meter_sees(installation_meter, spec, variant, EXAMPLE_OTHER_LOADS_W)
    amps = _offer(spec, variant, EXAMPLE_OTHER_LOADS_W, EXAMPLE_MAX_CURRENT_A)
    assert float(spec.ratings["min_current_a"].value) <= amps < EXAMPLE_MAX_CURRENT_A
    status = _expect_offer(clock, ev, charger, spec, amps)
    assert status["limit"] == "external_meter", status


def test_the_loads_have_priority(csms, ev, charger, clock, spec, variant,
                                 installation_meter):
    """Loads that leave less than the minimum current: the charger pauses (no PWM,
    SuspendedEVSE) with the session open; loads that leave enough again: Charging."""
    min_a = float(spec.ratings["min_current_a"].value)
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    per_amp_w = nominal * _phases(variant)
    tx = start_charging(csms, ev, charger)
    mark = csms.mark()
    _meter_sees(installation_meter, spec, variant, (_contracted_a(spec) - min_a + 1) * per_amp_w)
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="SuspendedEVSE",
                  errorCode="NoError", timeout=_react_s(spec))
    wait_cp(clock, ev, lambda r: r.freq_hz == 0, "no PWM while paused", timeout=_react_s(spec))
    assert not [m for m in csms.history.calls("StopTransaction") if m.index >= mark]
    mark = csms.mark()
    other_w = (_contracted_a(spec) - min_a - 1) * per_amp_w  # leaves 7 A (min + 1)
    _meter_sees(installation_meter, spec, variant, other_w)
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Charging",
                  timeout=_react_s(spec))
    _expect_offer(clock, ev, charger, spec, _offer(spec, variant, other_w))
    assert not [m for m in csms.history.calls("StopTransaction")
                if m.payload.get("transactionId") == tx]


@pytest.mark.applies(meter_use="power_management", conditions=("meter_missing",))
def test_a_silent_meter_is_err_met_while_it_lasts(csms, ev, charger, clock, spec, display,
                                                  installation_meter):
    """The meter stops answering (spec.rs485.missing_after cycles): ERR MET with the
    row's errorCode, charging stops; it answers again: the row's recovery (auto) —
    the session goes on."""
    row = spec.fault("meter_missing")
    rs = spec.rs485
    missing_s = 2 * rs.missing_after * (rs.poll_period_s + 2 * rs.response_timeout_s)
    start_charging(csms, ev, charger)
    mark = csms.mark()
    installation_meter.silence(True)
    expect_faulted(csms, spec, "meter_missing", display, since=mark, timeout=missing_s)
    assert row.auto_recovery
    mark = csms.mark()
    installation_meter.silence(False)
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Charging",
                  errorCode="NoError", timeout=_react_s(spec))
