"""OCTT module 17: Fault Behavior — Core, OCPP 1.6 §4.9 StatusNotification (Faulted,
errorCode, vendorErrorCode), with the charger's fault table from the profile."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, plug_in
from evrig.testcases.protection.checks import Bench, expect_fault, expect_latched, panel, showing


@pytest.mark.octt("TC_041_CS")
def test_fault_behavior(request, csms, ev, charger, clock, spec):
    """A fault is injected while plugged in: SN Faulted with errorCode = the profile's
    OCPP code for it and vendorErrorCode its hex; the charger refuses to start a
    transaction (no StartTransaction for a local tag, RemoteStartTransaction
    Rejected); the fault clears only by a recovery the profile lists (unplug), then
    SN Available with NoError. The official steps are unsure (catalogue); this follows
    EVT's description: "refuse starting a transaction when in fault state". The
    stimulus is a shorted pilot (state E, cp_level_invalid) rather than EVR's missing
    diode: the diode shows only on an oscillating pilot (design §8), and before a
    session the pilot is a steady +12 V. The fault is shown as the profile says (RTM
    code as vendorErrorCode on EV NET, ERR CP on the EV PLUS display)."""
    fault = spec.fault("cp_level_invalid")
    b = Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
              **panel(request, spec))
    plug_in(csms, ev)
    ev.set_state("E")
    faulted = expect_fault(b, fault.condition)
    if fault.rtm is not None:
        assert faulted["vendorErrorCode"] == fault.rtm.hex
    csms.forbid("StartTransaction")
    charger.present_tag(ACCEPTED_TAG)
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Rejected"
    csms.assert_none("StartTransaction", 5)

    if "auto" not in fault.recovery:
        # The cause gone is not enough: the fault is latched until a listed recovery.
        ev.set_state("B")
        csms.assert_none("StatusNotification", 5, connectorId=1, errorCode="NoError")
        expect_latched(b, fault.condition)
    assert "unplug" in fault.recovery, "this case recovers by unplugging"
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError")
    if fault.rtm is not None:
        assert charger.rtm_code() == 0
    else:
        assert not showing(b, fault.condition)
