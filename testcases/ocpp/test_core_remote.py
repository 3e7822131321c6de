"""OCTT modules 05 and 12: remote actions, happy and non-happy flow (Core)."""

from __future__ import annotations

import pytest
from ocpp.exceptions import OCPPError
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import (
    ACCEPTED_TAG,
    assert_connection_timeout,
    authorize_remote_tx,
    configure,
    plug_in,
    remote_charging,
    remote_stop,
    start_charging,
    transaction_id_of,
)

CONNECTION_TIMEOUT_S = 10  # the test's own ConnectionTimeOut (spec seconds)




@pytest.mark.octt("TC_010_CS")
def test_remote_start_cable_first(csms, ev):
    """Cable first (SN Preparing), then RemoteStartTransaction(connectorId 1, idTag) →
    Accepted → Authorize.req if AuthorizeRemoteTxRequests is true and none if false
    (read with GetConfiguration) → StartTransaction(same idTag) → SN Charging."""
    artr = authorize_remote_tx(csms)
    plug_in(csms, ev)
    if not artr:
        csms.forbid("Authorize")
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    if artr:
        csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    remote_stop(csms, transaction_id_of(csms, start))


@pytest.mark.octt("TC_011_1_CS")
def test_remote_start_first(csms, ev):
    """AuthorizeRemoteTxRequests=true (PNA): RemoteStartTransaction → Accepted →
    Authorize.req(idTag) → SN Preparing → plug → StartTransaction(same idTag) →
    SN Charging."""
    configure(csms, AuthorizeRemoteTxRequests=True)
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    remote_stop(csms, transaction_id_of(csms, start))


@pytest.mark.octt("TC_011_2_CS")
def test_remote_start_timeout(csms):
    """AuthorizeRemoteTxRequests=true, ConnectionTimeOut set by the test:
    RemoteStartTransaction → Accepted → Authorize.req → SN Preparing → no cable →
    SN Available after ConnectionTimeOut (PNA: 0…+10 s; we allow −1…+3 s), no
    StartTransaction."""
    configure(csms, AuthorizeRemoteTxRequests=True, ConnectionTimeOut=CONNECTION_TIMEOUT_S)
    csms.forbid("StartTransaction")
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    assert_connection_timeout(csms, CONNECTION_TIMEOUT_S)


@pytest.mark.octt("TC_012_CS")
def test_remote_stop(csms, ev):
    """A remote-started session; RemoteStopTransaction(transactionId) → Accepted →
    StopTransaction reason Remote (same transactionId and idTag) and SN Finishing in
    either order; the cable comes out → SN Available (EVR). Whether SN Preparing
    follows Finishing with the cable still in is unsure in the sources and not checked."""
    tx_id = remote_charging(csms, ev)
    remote_stop(csms, tx_id)
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available")


@pytest.mark.octt("TC_026_CS")
def test_remote_start_rejected(csms, ev, charger):
    """While charging, a second RemoteStartTransaction for connector 1 → Rejected; no
    second StartTransaction and the running session goes on."""
    tx_id = start_charging(csms, ev, charger)
    csms.forbid("StartTransaction")
    csms.forbid("StopTransaction")
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Rejected"
    csms.assert_none("StatusNotification", 5, connectorId=1)
    csms.allow("StopTransaction")
    remote_stop(csms, tx_id)


@pytest.mark.octt("TC_027_CS")
def test_remote_start_connector_zero(csms):
    """RemoteStartTransaction with connectorId 0 → Rejected, and nothing starts.
    Sources disagree (PNA expects a CALLERROR). OCPP 1.6 §5.11 says the Charge Point
    SHALL answer RemoteStartTransaction.conf with Accepted or Rejected, and the 1.6
    JSON schema allows connectorId 0, so the frame is valid and a CALLERROR (OCPP-J
    §4.2.3, for a frame the receiver cannot process) is not what 1.6 asks for:
    Rejected is required."""
    csms.forbid("StartTransaction")
    csms.forbid("Authorize")
    try:
        result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=0))
    except OCPPError as exc:  # pragma: no cover - the failure path
        pytest.fail(f"RemoteStartTransaction(connectorId 0) answered with CALLERROR {exc!r}")
    assert result.status == "Rejected"
    csms.assert_none("StatusNotification", 5, connectorId=1, status="Preparing")


@pytest.mark.octt("TC_028_CS")
def test_remote_stop_rejected(csms, ev, charger):
    """While charging, RemoteStopTransaction with a transactionId the charger does not
    have → Rejected; no StopTransaction, the session goes on (still stoppable with
    the right id)."""
    tx_id = start_charging(csms, ev, charger)
    csms.forbid("StopTransaction")
    result = csms.call(call.RemoteStopTransaction(transaction_id=tx_id + 1000))
    assert result.status == "Rejected"
    csms.assert_none("StatusNotification", 5, connectorId=1)
    csms.allow("StopTransaction")
    remote_stop(csms, tx_id)
