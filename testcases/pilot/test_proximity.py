"""Proximity pilot (IEC 61851-1 / 62196, design §8): a socketed charger reads the
cable's ampacity from the PP resistor and never offers more; a cable it cannot read
is the pp_missing fault and no session (001 VendorID2 0x0200; EV PLUS ERR PP, 003
§7.1.2). A tethered charger knows its own cable and ignores PP (000 §1.4 case C).

Band edges come from ``spec.pp_bands`` (checked against the standard's bands first);
off-nominal resistances need the EV board's programmable PP resistor.
"""

from __future__ import annotations

import pytest

from evrig.testcases.ocpp.steps import ACCEPTED_TAG
from evrig.testcases.pilot import iec61851 as iec
from evrig.testcases.pilot.checks import (
    charge_with_pp,
    device_limit_amps,
    limit_names,
    status_after_unplug_at_car,
    wait_offered,
)
from evrig.testcases.protection.checks import Bench, expect_fault, panel, showing

EDGE_STEP_OHM = 1.0  # "just inside / just outside" a band edge (our stimulus)


def _expected(spec, pp_amps: float) -> tuple[float, set[str]]:
    """Offered current and the limit reasons that may name it (none where the charger
    names no reason, profile ``evse_limits``): the cable wins when it is below the
    device limit; on a tie the charger may name either."""
    device = device_limit_amps(spec)
    if pp_amps < device:
        return pp_amps, limit_names(spec, "ProximityPilotLimit")
    if pp_amps > device:
        return device, limit_names(spec, "DeviceCurrentLimit")
    return device, limit_names(spec, "ProximityPilotLimit", "DeviceCurrentLimit")


def _assert_session_offers(csms, ev, charger, clock, spec, ohms: float, pp_amps: float):
    amps, reasons = _expected(spec, pp_amps)
    charge_with_pp(csms, ev, charger, ohms)
    status = wait_offered(clock, charger, amps)
    assert not reasons or status["limit"] in reasons, \
        f"limit {status['limit']}, expected one of {reasons}"
    ev_amps = ev.offered_current()
    assert abs(ev_amps - amps) <= iec.amps_tolerance(amps), \
        f"EV reads {ev_amps} A from the duty, expected {amps} A"


def _assert_pp_fault(b: Bench) -> None:
    """Authorised with an unreadable PP: the pp_missing fault as the unit shows it (SN
    Faulted with its errorCode; 0x0200 as vendorErrorCode and in the RTM register, or
    ERR PP on the display), no StartTransaction; the cable out clears it (profile
    recovery)."""
    fault = b.spec.fault("pp_missing")
    b.csms.forbid("StartTransaction")
    b.ev.set_state("B")
    b.csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    b.charger.present_tag(ACCEPTED_TAG)
    faulted = expect_fault(b, fault.condition)
    if fault.rtm is not None:
        assert faulted["vendorErrorCode"] == fault.rtm.hex
    assert b.ev.read_cp().freq_hz == 0, "no PWM without a session"
    b.csms.assert_none("StartTransaction", 2)
    assert "unplug" in fault.recovery
    b.ev.unplug()
    b.csms.wait_for("StatusNotification", connectorId=1, status="Available",
                    errorCode="NoError")
    if fault.rtm is not None:
        assert b.charger.rtm_code() == 0
    else:
        assert not showing(b, fault.condition)


@pytest.fixture
def bench(request, csms, ev, charger, clock, spec) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 **panel(request, spec))


def test_profile_bands_are_the_standards(spec):
    """The profile's PP table says what IEC 61851-1 says (design §8)."""
    got = {b.amps: (b.min_ohm, b.max_ohm) for b in spec.pp_bands}
    assert got == iec.PP_BANDS_OHM
    assert {b.amps: b.nominal_ohm for b in spec.pp_bands} == iec.PP_NOMINAL_OHM


@pytest.mark.socketed
def test_pp_rating_limits_offer(csms, ev, charger, clock, spec, pp_band):
    """Cable with the band's nominal resistor: offered = min(cable, device limit);
    reason ProximityPilotLimit when the cable is the lower."""
    _assert_session_offers(csms, ev, charger, clock, spec, pp_band.nominal_ohm, pp_band.amps)


@pytest.mark.socketed
@pytest.mark.parametrize("edge", ["min", "max"])
def test_pp_band_edge_inside(csms, ev, charger, clock, spec, pp_band, edge):
    """A resistance just inside the band's edge still codes the band's ampacity."""
    ohms = pp_band.min_ohm + EDGE_STEP_OHM if edge == "min" else pp_band.max_ohm - EDGE_STEP_OHM
    _assert_session_offers(csms, ev, charger, clock, spec, ohms, pp_band.amps)


@pytest.mark.socketed
@pytest.mark.parametrize("edge", ["min", "max"])
def test_pp_band_edge_outside(bench, pp_band, edge):
    """A resistance just outside the band's edge (in no band) is no valid cable:
    the pp_missing fault, no session."""
    ohms = pp_band.min_ohm - EDGE_STEP_OHM if edge == "min" else pp_band.max_ohm + EDGE_STEP_OHM
    assert bench.spec.pp_amps(ohms) is None, f"{ohms} Ω lies in another band of the profile"
    bench.ev.set_pp(ohms)
    _assert_pp_fault(bench)


@pytest.mark.socketed
def test_pp_missing_no_session(bench):
    """No PP resistor at all (cable without its coding): the pp_missing fault, no
    session."""
    bench.ev.set_pp(None)
    _assert_pp_fault(bench)


@pytest.mark.tethered
def test_tethered_ignores_pp(csms, ev, charger, clock, spec, variant):
    """A tethered unit ignores PP: a 1.5 kΩ (13 A) resistor does not limit the offer,
    which stays at the device limit."""
    thirteen = next(b for b in spec.pp_bands if b.amps < device_limit_amps(spec))
    charge_with_pp(csms, ev, charger, thirteen.nominal_ohm)
    status = wait_offered(clock, charger, device_limit_amps(spec))
    assert status["limit"] not in limit_names(spec, "ProximityPilotLimit")
    assert abs(ev.offered_current() - device_limit_amps(spec)) <= iec.amps_tolerance(
        device_limit_amps(spec))
    ev.set_state("A")
    csms.wait_for("StatusNotification", connectorId=1, status=status_after_unplug_at_car(variant))
