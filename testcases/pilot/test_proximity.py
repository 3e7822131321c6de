"""Proximity pilot (IEC 61851-1 / 62196, design §8): a socketed charger reads the
cable's ampacity from the PP resistor and never offers more; a cable it cannot read
is fault 0x0200 and no session (001 VendorID2). A tethered charger knows its own
cable and ignores PP (000 §1.4 case C).

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
    status_after_unplug_at_car,
    wait_offered,
)

EDGE_STEP_OHM = 1.0  # "just inside / just outside" a band edge (our stimulus)


def _expected(spec, pp_amps: float) -> tuple[float, set[str]]:
    """Offered current and the limit reasons that may name it: the cable wins when it
    is below the device limit; on a tie the charger may name either."""
    device = device_limit_amps(spec)
    pp = spec.limit_reason("ProximityPilotLimit").name
    dev = spec.limit_reason("DeviceCurrentLimit").name
    if pp_amps < device:
        return pp_amps, {pp}
    if pp_amps > device:
        return device, {dev}
    return device, {pp, dev}


def _assert_session_offers(csms, ev, charger, clock, spec, ohms: float, pp_amps: float):
    amps, reasons = _expected(spec, pp_amps)
    charge_with_pp(csms, ev, charger, ohms)
    status = wait_offered(clock, charger, amps)
    assert status["limit"] in reasons, f"limit {status['limit']}, expected one of {reasons}"
    ev_amps = ev.offered_current()
    assert abs(ev_amps - amps) <= iec.amps_tolerance(amps), \
        f"EV reads {ev_amps} A from the duty, expected {amps} A"


def _assert_pp_fault(csms, ev, charger, spec, variant) -> None:
    """Authorised with an unreadable PP: SN Faulted 0x0200, no StartTransaction;
    the cable out clears it (profile recovery)."""
    fault = spec.rtm(0x0200)
    csms.forbid("StartTransaction")
    ev.set_state("B")
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    charger.present_tag(ACCEPTED_TAG)
    faulted = csms.wait_for("StatusNotification", connectorId=1, status="Faulted")
    assert faulted["errorCode"] == fault.ocpp_error_code
    assert faulted["vendorErrorCode"] == fault.hex
    assert charger.rtm_code() & fault.code
    assert charger.status()["connector"] == "Faulted"
    assert ev.read_cp().freq_hz == 0, "no PWM without a session"
    csms.assert_none("StartTransaction", 2)
    assert "unplug" in fault.recovery
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError")
    assert charger.rtm_code() == 0


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
def test_pp_band_edge_outside(csms, ev, charger, spec, variant, pp_band, edge):
    """A resistance just outside the band's edge (in no band) is no valid cable:
    fault 0x0200, no session."""
    ohms = pp_band.min_ohm - EDGE_STEP_OHM if edge == "min" else pp_band.max_ohm + EDGE_STEP_OHM
    assert spec.pp_amps(ohms) is None, f"{ohms} Ω lies in another band of the profile"
    ev.set_pp(ohms)
    _assert_pp_fault(csms, ev, charger, spec, variant)


@pytest.mark.socketed
def test_pp_missing_no_session(csms, ev, charger, spec, variant):
    """No PP resistor at all (cable without its coding): fault 0x0200, no session."""
    ev.set_pp(None)
    _assert_pp_fault(csms, ev, charger, spec, variant)


@pytest.mark.tethered
def test_tethered_ignores_pp(csms, ev, charger, clock, spec, variant):
    """A tethered unit ignores PP: a 1.5 kΩ (13 A) resistor does not limit the offer,
    which stays at the device limit."""
    thirteen = next(b for b in spec.pp_bands if b.amps < device_limit_amps(spec))
    charge_with_pp(csms, ev, charger, thirteen.nominal_ohm)
    status = wait_offered(clock, charger, device_limit_amps(spec))
    assert status["limit"] != spec.limit_reason("ProximityPilotLimit").name
    assert abs(ev.offered_current() - device_limit_amps(spec)) <= iec.amps_tolerance(
        device_limit_amps(spec))
    ev.set_state("A")
    csms.wait_for("StatusNotification", connectorId=1, status=status_after_unplug_at_car(variant))
