"""OCTT modules 02 and 03: start and stop a charging session (Core).

What a unit's card reader or operation list does not allow is deselected from its
profile: identification before the plug (EV PLUS 003 §9: the reader needs an EV,
``rfid.reader_lit_statuses``), a stop by another card of the same group (only the
starting card stops, ``rfid.stop_by_same_card``), UnlockConnector (003 §8.1.4)."""

from __future__ import annotations

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import (
    ACCEPTED_TAG,
    INVALID_TAG,
    assert_connection_timeout,
    configure,
    plug_in,
    remote_charging,
    remote_stop,
    start_charging,
    transaction_id_of,
)

# Stimulus values of the tests themselves (spec seconds), short to keep runs quick.
CONNECTION_TIMEOUT_S = 10
QUIET_S = 30  # PNA watches 30 s for an unwanted message




def _status_after_ev_side_stop(variant) -> str:
    """OCPP 1.6 §4.9: Finishing while the connector is not yet free for a new user. On a
    socket the cable is still in the charger after the EV side let go, so Finishing;
    a tethered cable unplugged at the car leaves the connector free: Available."""
    return "Finishing" if variant.connector == "socket" else "Available"


def _cable_out(csms, ev, variant, mark: int) -> None:
    """After the stop: SN Finishing with a socket's cable still in, then the cable out →
    SN Available; on a tethered charger the connector is Available at once (§4.9)."""
    after = csms.wait_for("StatusNotification", since=mark, connectorId=1,
                          status=_status_after_ev_side_stop(variant))
    ev.unplug()
    if after["status"] != "Available":
        csms.wait_for("StatusNotification", since=after.index + 1, connectorId=1,
                      status="Available")


def _ev_side_disconnect(ev) -> None:
    """The driver unplugs at the car: CP back to state A. On a socketed charger the cable
    stays in the charger's socket (PP still there); on a tethered one this is the
    whole unplug at the EV end."""
    ev.set_state("A")


@pytest.mark.octt("TC_003_CS")
def test_plugin_first(csms, ev, charger):
    """Plug first: SN Preparing, then the card → Authorize.req(idTag) → Accepted →
    StartTransaction.req(connectorId 1, same idTag) → SN Charging. The same card
    again ends it: StopTransaction reason Local (same idTag, transactionId) and
    SN Finishing (EVR's continuation)."""
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    assert isinstance(start["meterStart"], int)
    tx_id = transaction_id_of(csms, start)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging", errorCode="NoError")
    mark = csms.mark()
    charger.present_tag(ACCEPTED_TAG)
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx_id)
    assert stop["reason"] == "Local"
    assert stop["idTag"] == ACCEPTED_TAG
    assert stop["meterStop"] >= start["meterStart"]
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Finishing")


@pytest.mark.octt("TC_004_1_CS")
@pytest.mark.applies(cards=("read_unplugged",))
def test_identification_first(csms, ev, charger):
    """Card first: Authorize.req → Accepted → SN Preparing (no cable yet) → plug →
    StartTransaction.req(connectorId 1, same idTag) → SN Charging; after the session
    and the unplug the connector is Available again (EVR)."""
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    csms.assert_none("StartTransaction", 2)  # not before the cable is in
    ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    remote_stop(csms, transaction_id_of(csms, start))
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available")


@pytest.mark.octt("TC_004_2_CS")
@pytest.mark.applies(cards=("read_unplugged",))
def test_identification_first_connection_timeout(csms, charger):
    """Card first, no cable: SN Preparing, then SN Available once ConnectionTimeOut
    (set by the test) has run out (PNA tolerance −1…+10 s; we allow −1…+3 s), and no
    StartTransaction."""
    configure(csms, ConnectionTimeOut=CONNECTION_TIMEOUT_S)
    csms.forbid("StartTransaction")
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    assert_connection_timeout(csms, CONNECTION_TIMEOUT_S)


@pytest.mark.octt("TC_005_1_CS")
def test_ev_side_disconnect_stop_unlock(csms, ev, spec, variant):
    """StopTransactionOnEVSideDisconnect=true, UnlockConnectorOnEVSideDisconnect=true:
    a remote-started session; the EV side disconnects → StopTransaction reason
    EVDisconnected with the same transactionId and idTag, SN Finishing (either order),
    and SN Available once the cable is out. A tethered charger whose cable was
    unplugged at the car is free at once and may go straight to Available (OCPP 1.6
    §4.9; EVT accepts it). MinimumStatusDuration=0 is set only if the charger has the
    key (the EVNET does not)."""
    if "MinimumStatusDuration" in spec.config_keys:
        configure(csms, MinimumStatusDuration=0)
    configure(csms, StopTransactionOnEVSideDisconnect=True,
              UnlockConnectorOnEVSideDisconnect=True)
    tx_id = remote_charging(csms, ev)
    mark = csms.mark()
    _ev_side_disconnect(ev)
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx_id)
    assert stop["reason"] == "EVDisconnected"
    assert stop["idTag"] == ACCEPTED_TAG
    _cable_out(csms, ev, variant, mark)


@pytest.mark.octt("TC_005_2_CS")
@pytest.mark.applies(operations=("UnlockConnector",))
def test_ev_side_disconnect_stop_no_unlock(csms, ev, spec, variant):
    """StopTransactionOnEVSideDisconnect=true, UnlockConnectorOnEVSideDisconnect=false:
    as TC_005_1 up to StopTransaction EVDisconnected and SN Finishing; the connector
    stays locked, so the backend unlocks it: UnlockConnector(1) → Unlocked on a socket
    with an actuator lock, NotSupported on a fixed cable (OCPP 1.6 §5.18); then the
    cable comes out → SN Available."""
    if "MinimumStatusDuration" in spec.config_keys:
        configure(csms, MinimumStatusDuration=0)
    configure(csms, StopTransactionOnEVSideDisconnect=True,
              UnlockConnectorOnEVSideDisconnect=False)
    tx_id = remote_charging(csms, ev)
    mark = csms.mark()
    _ev_side_disconnect(ev)
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx_id)
    assert stop["reason"] == "EVDisconnected"
    assert stop["idTag"] == ACCEPTED_TAG
    csms.wait_for("StatusNotification", since=mark, connectorId=1,
                  status=_status_after_ev_side_stop(variant))
    result = csms.call(call.UnlockConnector(connector_id=1))
    assert result.status == ("Unlocked" if variant.actuator_lock else "NotSupported")
    _cable_out(csms, ev, variant, mark)


@pytest.mark.octt("TC_005_3_CS")
def test_ev_side_disconnect_tx_stays(csms, ev, spec, variant):
    """StopTransactionOnEVSideDisconnect=false, UnlockConnectorOnEVSideDisconnect=false:
    the EV side disconnects → SN SuspendedEV (or SuspendedEVSE), the transaction stays
    open (no StopTransaction) → RemoteStopTransaction → Accepted → StopTransaction
    reason Remote → SN Finishing → cable out → SN Available (tethered: Available at
    once, see TC_005_1)."""
    if "MinimumStatusDuration" in spec.config_keys:
        configure(csms, MinimumStatusDuration=0)
    configure(csms, StopTransactionOnEVSideDisconnect=False,
              UnlockConnectorOnEVSideDisconnect=False)
    tx_id = remote_charging(csms, ev)
    csms.forbid("StopTransaction")
    _ev_side_disconnect(ev)
    suspended = csms.wait_for("StatusNotification", connectorId=1,
                              predicate=lambda p: p["status"] != "Charging")
    assert suspended["status"] in ("SuspendedEV", "SuspendedEVSE"), suspended.brief()
    csms.assert_none("StatusNotification", 10, connectorId=1, status="Finishing")
    csms.allow("StopTransaction")
    mark = csms.mark()
    remote_stop(csms, tx_id, status=_status_after_ev_side_stop(variant))
    _cable_out(csms, ev, variant, mark)


@pytest.mark.octt("TC_068_CS")
def test_stop_with_same_id_tag(csms, ev, charger, spec):
    """Charging with idTag1: no Authorize.req and no StopTransaction follow by
    themselves (PNA watches 30 s); a card the backend does not accept does not stop
    it (EVR) — where only the starting card stops a session (profile
    ``rfid.stop_by_same_card``, EV PLUS 003 §9) the other card is refused without an
    Authorize.req; idTag1 again → StopTransaction with idTag1, reason Local → SN
    Finishing."""
    tx_id = start_charging(csms, ev, charger)
    csms.assert_none("StopTransaction", QUIET_S)
    assert csms.state.id_tag_info(INVALID_TAG)["status"] != "Accepted"  # rig's tag table
    csms.forbid("StopTransaction")
    charger.present_tag(INVALID_TAG)
    if spec.rfid is not None and spec.rfid.stop_by_same_card:
        csms.assert_none("Authorize", 5, idTag=INVALID_TAG)
    else:
        csms.wait_for("Authorize", idTag=INVALID_TAG)
    csms.assert_none("StopTransaction", 5)
    csms.allow("StopTransaction")
    mark = csms.mark()
    charger.present_tag(ACCEPTED_TAG)
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx_id)
    assert stop["idTag"] == ACCEPTED_TAG
    assert stop["reason"] == "Local"
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Finishing")


@pytest.mark.octt("TC_069_CS")
@pytest.mark.applies(cards=("stop_by_other_card",))
def test_stop_with_same_parent_id_tag(csms, ev, charger):
    """The backend gives idTag1 and idTag2 the same parentIdTag P (test-configured
    answers to Authorize and StartTransaction). Charging with idTag1; idTag2 is
    presented → Authorize.req(idTag2) → Accepted with P → StopTransaction with
    idTag2 (the identifier that stopped it, OCPP 1.6 §6.47), reason Local, and
    SN Finishing."""
    tag1, tag2, parent = "TC069-CARD-1", "TC069-CARD-2", "TC069-GROUP"
    info = {"status": "Accepted", "parentIdTag": parent}
    csms.respond("Authorize", lambda p: {"idTagInfo": dict(info)})
    csms.respond("StartTransaction", lambda p: {"transactionId": 6901, "idTagInfo": dict(info)})
    tx_id = start_charging(csms, ev, charger, id_tag=tag1)
    mark = csms.mark()
    charger.present_tag(tag2)
    csms.wait_for("Authorize", idTag=tag2)
    stop = csms.wait_for("StopTransaction", transactionId=tx_id)
    assert stop["idTag"] == tag2
    assert stop["reason"] == "Local"
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Finishing")
