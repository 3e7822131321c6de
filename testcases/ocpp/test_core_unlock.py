"""OCTT modules 07/13: Unlocking (Happy and Non-Happy Flow) and the lock failure at
start (module 10/11) — Core, OCPP 1.6 §5.18 UnlockConnector.

The UnlockConnector cases only where the profile lists the operation (EV PLUS: not
in 003 §8.1.4); the lock failure at start wherever the profile has the lock_failed
condition, observed as the unit shows it (testcases/protection/checks.py)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, start_charging
from evrig.testcases.protection.checks import Bench, expect_fault, panel

UNLOCK = pytest.mark.applies(operations=("UnlockConnector",))


@pytest.mark.octt("TC_017_1_CS")
@pytest.mark.socketed
@UNLOCK
def test_unlock_without_session_socket(csms, variant):
    """Socketed charger, no transaction: UnlockConnector(1) → Unlocked, and no
    transaction message. (PNA plugs the cable first, EVT and EVR do not; OCPP 1.6
    §5.18 does not require a cable, so none is plugged.)"""
    assert variant.actuator_lock, "a socketed variant has an actuator lock"
    assert csms.call(call.UnlockConnector(connector_id=1)).status == "Unlocked"
    csms.assert_none("StopTransaction", 3)


@pytest.mark.octt("TC_017_2_CS")
@pytest.mark.tethered
@UNLOCK
def test_unlock_without_session_tethered(csms, variant):
    """Fixed cable, no transaction: UnlockConnector(1) → NotSupported (nothing to
    unlock, OCPP 1.6 §5.18)."""
    assert not variant.actuator_lock
    assert csms.call(call.UnlockConnector(connector_id=1)).status == "NotSupported"


@pytest.mark.octt("TC_018_1_CS")
@pytest.mark.socketed
@UNLOCK
def test_unlock_with_session_socket(csms, ev, charger):
    """Socketed charger, charging: UnlockConnector(1) → Unlocked, StopTransaction
    reason UnlockCommand with the transaction's idTag, SN Finishing; unplugging
    then makes the connector Available (OCPP 1.6 §5.18)."""
    tx_id = start_charging(csms, ev, charger)
    before = csms.mark()
    assert csms.call(call.UnlockConnector(connector_id=1)).status == "Unlocked"
    stop = csms.wait_for("StopTransaction", transactionId=tx_id, reason="UnlockCommand")
    assert stop["idTag"] == ACCEPTED_TAG
    # Finishing and StopTransaction may come in either order (catalogue conventions).
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=before)
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError")


@pytest.mark.octt("TC_018_2_CS")
@pytest.mark.tethered
@UNLOCK
def test_unlock_with_session_tethered(csms, ev, charger):
    """Fixed cable, charging: UnlockConnector(1) → NotSupported and the transaction
    goes on (no StopTransaction, still Charging); a RemoteStop then ends it with
    reason Remote (EVR)."""
    tx_id = start_charging(csms, ev, charger)
    assert csms.call(call.UnlockConnector(connector_id=1)).status == "NotSupported"
    csms.assert_none("StopTransaction", 5)
    assert charger.status()["connector"] == "Charging"
    result = csms.call(call.RemoteStopTransaction(transaction_id=tx_id))
    assert result.status == "Accepted"
    csms.wait_for("StopTransaction", transactionId=tx_id, reason="Remote")


@pytest.mark.octt("TC_024_CS")
@pytest.mark.socketed
@pytest.mark.applies(conditions=("lock_failed",))
def test_start_lock_failure(request, csms, ev, charger, clock, faults, spec):
    """Socketed charger whose actuator cannot lock: remote start Accepted, connector
    Preparing, then on plug-in SN Faulted with errorCode ConnectorLockFailure (the
    profile's code for the lock fault; EV NET: its RTM code as vendorErrorCode, EV
    PLUS: ERR ELK on the display) and no StartTransaction."""
    lock_fault = spec.fault("lock_failed")
    b = Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
              **panel(request, spec))
    faults.lock_jam(True)
    csms.forbid("StartTransaction")
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    ev.plug(cable_amps=32)
    faulted = expect_fault(b, lock_fault.condition, timeout=30)
    if lock_fault.rtm is not None:
        assert faulted["vendorErrorCode"] == lock_fault.rtm.hex
    csms.assert_none("StartTransaction", 10)


@pytest.mark.octt("TC_030_CS")
@pytest.mark.socketed
@UNLOCK
def test_unlock_failure(csms, charger, faults, spec):
    """Socketed charger whose actuator is jammed: UnlockConnector(1) → UnlockFailed
    (OCPP 1.6 §5.18). Beyond the OCTT steps: the EVNET then enters its fault state
    (002 §2.4), SN Faulted with the profile's code for the unlock fault, and only a
    recovery the profile lists for that code (a power cycle) clears it."""
    unlock_fault = spec.rtm("EVSE_FAULT_ACT_UNLOCK_FAULT")
    faults.lock_jam(True)
    try:
        assert csms.call(call.UnlockConnector(connector_id=1)).status == "UnlockFailed"
        faulted = csms.wait_for("StatusNotification", connectorId=1, status="Faulted")
        assert faulted["errorCode"] == unlock_fault.ocpp_error_code
        assert faulted["vendorErrorCode"] == unlock_fault.hex
        faults.lock_jam(False)
        assert "power_cycle" in unlock_fault.recovery
        assert "auto" not in unlock_fault.recovery
        csms.assert_none("StatusNotification", 5, connectorId=1, status="Available")
    finally:
        faults.lock_jam(False)
        if charger.status().get("connector") == "Faulted":
            charger.power_cycle()
    boot = csms.wait_for("BootNotification", timeout=60)
    csms.wait_for("StatusNotification", connectorId=1, status="Available", errorCode="NoError",
                  since=boot.index)
    assert csms.call(call.UnlockConnector(connector_id=1)).status == "Unlocked"


@pytest.mark.socketed
@pytest.mark.parametrize(("setting", "after"), [
    ("true", "unlocked"),
    # Kept locked, only UnlockConnector frees the plug: where the profile lists it.
    pytest.param("false", "locked", marks=UNLOCK)])
def test_ev_side_disconnect_unlocks_as_configured(csms, ev, charger, spec, setting, after):
    """001 App. II UnlockConnectorOnEVSideDisconnect (OCPP 1.6 §9.1): the cable pulled
    at the EV (CP to A, the plug still in the socket) ends the session; TRUE unlocks
    the plug, FALSE keeps it locked until an UnlockConnector frees it (the last step
    where the profile lists UnlockConnector)."""
    key = "UnlockConnectorOnEVSideDisconnect"
    assert spec.key(key).type == "bool" and not spec.key(key).readonly
    assert csms.call(call.ChangeConfiguration(key=key, value=setting)).status == "Accepted"
    tx_id = start_charging(csms, ev, charger)
    assert charger.status()["lock"] == "locked"
    ev.set_state("A")  # the EV side only: PP stays, the plug is still in the socket
    csms.wait_for("StopTransaction", transactionId=tx_id, reason="EVDisconnected")
    assert charger.status()["lock"] == after
    if "UnlockConnector" in spec.ocpp.operations_csms_to_cp:
        assert csms.call(call.UnlockConnector(connector_id=1)).status == "Unlocked"
        assert charger.status()["lock"] == "unlocked"


@pytest.mark.socketed
@pytest.mark.applies(keys=("c_LockerDisengage",))
def test_a_disabled_locker_is_never_operated(csms, ev, charger, faults, spec):
    """001 App. II / 004 §4.2 c_LockerDisengage FALSE (locker disabled): no lock or
    unlock is attempted, so a jammed actuator neither faults the charger (lock and
    unlock codes) nor blocks the session; UnlockConnector has no lock to work."""
    key = "c_LockerDisengage"
    assert spec.key(key).default == "true"  # enabled at the factory (profile note)
    assert csms.call(call.ChangeConfiguration(key=key, value="false")).status == "Accepted"
    faults.lock_jam(True)
    try:
        tx_id = start_charging(csms, ev, charger)
        assert charger.status()["lock"] == "none"
        assert csms.call(call.RemoteStopTransaction(transaction_id=tx_id)).status == \
            "Accepted"
        csms.wait_for("StopTransaction", transactionId=tx_id, reason="Remote")
        csms.assert_none("StatusNotification", 5, connectorId=1, status="Faulted")
        assert charger.rtm_code() & (spec.fault_code("lock_failed")
                                     | spec.fault_code("unlock_failed")) == 0
        assert csms.call(call.UnlockConnector(connector_id=1)).status == "NotSupported"
    finally:
        faults.lock_jam(False)


@pytest.mark.octt("TC_031_CS")
@UNLOCK
def test_unlock_unknown_connector(csms, spec):
    """UnlockConnector for a connector id beyond NumberOfConnectors → NotSupported
    (PNA 9765, EVR 2, EVT 99; 2 is the first id this charger does not have)."""
    unknown = int(spec.key("NumberOfConnectors").default) + 1
    assert csms.call(call.UnlockConnector(connector_id=unknown)).status == "NotSupported"
    csms.assert_none("StopTransaction", 2)

