"""Control pilot (IEC 61851-1 Annex A): every CP state the EV can present, what the
charger drives on CP in each (levels, PWM duty and frequency, read by the EV
emulator's CP sense), and how the charger reacts (OCPP StatusNotification, its own
status on the service console, its RTM fault register).

Standard values come from :mod:`testcases.pilot.iec61851` (design §8); charger
values (fault conditions as the unit shows them — RTM codes on EV NET, display strings
on EV PLUS —, errorCodes, configuration keys, ratings) from the profile.
"""

from __future__ import annotations

import pytest

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, configure, plug_in, start_charging
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import (
    assert_level,
    assert_no_pwm,
    assert_pwm,
    device_limit_value,
    offered_currents,
    set_tx_default,
    status_after_unplug_at_car,
    wait_cp,
    wait_offered,
)
from evrig.testcases.protection.checks import (
    Bench,
    expect_fault,
    expect_latched,
    panel,
    showing,
)


@pytest.fixture
def bench(request, csms, ev, charger, clock, spec) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 **panel(request, spec))


# -- states ----------------------------------------------------------------------------
def test_state_a_no_ev(ev, charger, clock):
    """Nothing connected: steady +12 V (state A), no PWM; the connector is Available."""
    reading = wait_cp(clock, ev, lambda r: r.state == "A", "state A")
    assert_level(reading, "A")
    assert_no_pwm(reading)
    assert reading.duty_pct == 100
    assert charger.status()["connector"] == "Available"


def test_transitions_a_b_c_b_a(csms, ev, charger, clock, variant):
    """A → B: 9 V, still no PWM before authorisation, SN Preparing. Authorised: PWM
    on CP in B (1 kHz, −12 V low). B → C: 6 V, SN Charging. C → B: 9 V, PWM stays,
    SN SuspendedEV. B → A: 12 V, no PWM, StopTransaction EVDisconnected."""
    assert_level(ev.read_cp(), "A")

    plug_in(csms, ev)
    reading = wait_cp(clock, ev, lambda r: r.state == "B", "A → B")
    assert_level(reading, "B")
    assert_no_pwm(reading)  # a steady +12 V source loaded by 2.74 kΩ: no offer yet
    assert charger.status()["connector"] == "Preparing"

    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    reading = wait_cp(clock, ev, lambda r: r.freq_hz > 0, "PWM after authorisation")
    assert_level(reading, "B")
    offered = float(charger.status()["offered"])
    assert_pwm(reading, offered)

    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging", errorCode="NoError")
    reading = wait_cp(clock, ev, lambda r: r.state == "C", "B → C")
    assert_level(reading, "C")
    assert_pwm(reading, offered)
    assert charger.status()["connector"] == "Charging"

    ev.set_state("B")
    csms.wait_for("StatusNotification", connectorId=1, status="SuspendedEV")
    reading = wait_cp(clock, ev, lambda r: r.state == "B", "C → B")
    assert_level(reading, "B")
    assert_pwm(reading, offered)
    assert charger.status()["connector"] == "SuspendedEV"

    ev.set_state("A")
    stop = csms.wait_for("StopTransaction")
    assert stop["reason"] == "EVDisconnected"
    after = csms.wait_for("StatusNotification", connectorId=1,
                          status=status_after_unplug_at_car(variant))
    reading = wait_cp(clock, ev, lambda r: r.state == "A" and r.freq_hz == 0, "B → A")
    assert_level(reading, "A")
    assert_no_pwm(reading)
    ev.unplug()
    if after["status"] != "Available":
        csms.wait_for("StatusNotification", connectorId=1, status="Available")
    assert charger.status()["connector"] == "Available"


@pytest.mark.parametrize("means", [
    pytest.param("c_DeviceLimit_I", marks=pytest.mark.applies(keys=("c_DeviceLimit_I",))),
    "TxDefaultProfile"])
@pytest.mark.parametrize("index", range(5), ids=["min", "10A", "16A", "20A", "rated"])
def test_duty_per_offered_current(csms, ev, charger, clock, spec, means, index):
    """The offered current, set by c_DeviceLimit_I or by a TxDefaultProfile before the
    session, is on CP as the IEC duty (±0.5 %) at 980–1020 Hz; the EV's reading of it
    (ev.offered_current) equals the charger's offered current."""
    amps = offered_currents(spec)[index]
    if means == "c_DeviceLimit_I":
        configure(csms, c_DeviceLimit_I=device_limit_value(spec, amps))
    else:
        set_tx_default(csms, amps)
    start_charging(csms, ev, charger)
    status = wait_offered(clock, charger, amps)
    reading = ev.read_cp()
    assert_level(reading, "C")
    assert_pwm(reading, amps)
    ev_amps = ev.offered_current()
    assert abs(ev_amps - float(status["offered"])) <= iec.amps_tolerance(amps), \
        f"EV reads {ev_amps} A from the duty, charger offers {status['offered']} A"


# -- faults ----------------------------------------------------------------------------
def _cleared(b: Bench, condition: str) -> None:
    """After the recovery: the RTM register empty (EV NET), or the fault no longer shown."""
    if b.spec.fault(condition).rtm is not None:
        assert b.charger.rtm_code() == 0
    else:
        assert not showing(b, condition), f"{condition} still shown"


def test_diode_missing_faults_until_unplug(bench: Bench):
    """The EV's diode shorted while charging: the negative CP half collapses, the
    ev_diode_missing fault as the unit shows it (RTM 0x0100 with its vendorErrorCode
    on EV NET, ERR CP on EV PLUS) and SN Faulted with the profile's errorCode, the PWM
    stops. Restoring the diode does not clear it; unplugging does (profile recovery)."""
    b, csms, ev, charger, clock = bench, bench.csms, bench.ev, bench.charger, bench.clock
    fault = b.spec.fault("ev_diode_missing")
    assert "unplug" in fault.recovery
    start_charging(csms, ev, charger)
    ev.diode(False)
    faulted = expect_fault(b, fault.condition)
    if fault.rtm is not None:
        assert faulted["vendorErrorCode"] == fault.rtm.hex
        assert int(charger.status()["rtm"], 16) & fault.rtm.code
    assert_no_pwm(wait_cp(clock, ev, lambda r: r.freq_hz == 0, "PWM off on the fault"))

    ev.diode(True)
    csms.assert_none("StatusNotification", 2, connectorId=1, errorCode="NoError")
    expect_latched(b, fault.condition)  # the diode fault latches until unplugged

    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError")
    _cleared(b, fault.condition)


@pytest.mark.applies(keys=("c_ChargingVentilatedEnabled",))
def test_state_d_refused_without_ventilation(csms, ev, charger, clock, spec, variant):
    """State D (3 V, ventilation required) with c_ChargingVentilatedEnabled at its
    default (false): the charger does not energise (no Charging, no current at the
    EV) for longer than the contactor's close time."""
    assert spec.key("c_ChargingVentilatedEnabled").default == "false"
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("D")
    reading = wait_cp(clock, ev, lambda r: r.state == "D", "B → D")
    assert_level(reading, "D")
    csms.assert_none("StatusNotification", spec.timing.contactor_close_max_s + 1,
                     connectorId=1, status="Charging")
    assert charger.status()["connector"] != "Charging"
    assert charger.rtm_code() == 0, "state D is a valid state, not a fault"


@pytest.mark.applies(keys=("c_ChargingVentilatedEnabled",))
def test_state_d_accepted_with_ventilation(csms, ev, charger, clock):
    """c_ChargingVentilatedEnabled true: state D charges (SN Charging, PWM on CP)."""
    configure(csms, c_ChargingVentilatedEnabled=True)
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("D")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging", errorCode="NoError")
    reading = wait_cp(clock, ev, lambda r: r.state == "D", "B → D")
    assert_level(reading, "D")
    assert_pwm(reading, float(charger.status()["offered"]))
    assert charger.status()["connector"] == "Charging"


def test_state_e_faults(bench: Bench):
    """CP shorted to PE (state E, 0 V) while charging: the cp_level_invalid fault as the
    unit shows it (RTM 0x0080 with its vendorErrorCode on EV NET, ERR CP on EV PLUS),
    SN Faulted with the profile's errorCode, no PWM; unplugging clears it."""
    b, csms, ev, charger, clock = bench, bench.csms, bench.ev, bench.charger, bench.clock
    fault = b.spec.fault("cp_level_invalid")
    start_charging(csms, ev, charger)
    ev.set_state("E")
    faulted = expect_fault(b, fault.condition)
    if fault.rtm is not None:
        assert faulted["vendorErrorCode"] == fault.rtm.hex
    reading = wait_cp(clock, ev, lambda r: r.state == "E", "state E")
    assert_level(reading, "E")
    assert_no_pwm(reading)
    assert "unplug" in fault.recovery
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError")
    _cleared(b, fault.condition)
