"""OCTT module 21: Reservation. Reservations here expire within the test (short
expiryDate in the backend's spec-time clock) or are cancelled, so the next test
starts Available. A card is presented as the unit's reader takes it: before the plug,
or after it where the reader needs an EV connected (EV PLUS 003 §9, profile
``rfid.reader_lit_statuses``)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, plug_in, reads_card_unplugged

OTHER_TAG = "TAG-RSV-OTHER-01"
CHILD_TAG = "TAG-RSV-CHILD-01"
PARENT_TAG = "TAG-RSV-PARENT-01"
EXPIRY_S = 60  # spec seconds a reservation lives unless the test says otherwise
_ids = itertools.count(101)


def _needs_reservation(spec) -> None:
    if "Reservation" not in spec.ocpp.feature_profiles:
        pytest.skip(f"{spec.model} does not support the Reservation profile")


def _zero_supported(spec) -> bool:
    return spec.key("ReserveConnectorZeroSupported").default.lower() == "true"


def _reserve(csms, connector_id: int = 1, id_tag: str = ACCEPTED_TAG, expiry_s: float = EXPIRY_S,
             parent_id_tag: str | None = None) -> tuple[int, str, object]:
    """ReserveNow; returns (reservationId, status, expiry datetime)."""
    rid = next(_ids)
    expiry = csms.state.utcnow() + timedelta(seconds=expiry_s)
    result = csms.call(call.ReserveNow(
        connector_id=connector_id, expiry_date=expiry.isoformat().replace("+00:00", "Z"),
        id_tag=id_tag, reservation_id=rid, parent_id_tag=parent_id_tag))
    return rid, result.status, expiry


def _accept_all(csms, parent: str | None = None) -> None:
    """Backend accepts every idTag (optionally with a parentIdTag) in Authorize and
    StartTransaction."""
    def info() -> dict:
        return {"status": "Accepted", **({"parentIdTag": parent} if parent else {})}

    csms.respond("Authorize", lambda p: {"idTagInfo": info()})
    csms.respond("StartTransaction", lambda p: {
        "transactionId": next(csms.state.transaction_ids), "idTagInfo": info()})


def _cancel(csms, rid: int) -> None:
    assert csms.call(call.CancelReservation(reservation_id=rid)).status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Available")


@pytest.mark.octt("TC_046_1_CS")
def test_reservation_local_start(csms, ev, charger, spec):
    """ReserveNow(1) Accepted → SN Reserved; another (valid) tag does not start
    anything; the reserved idTag presented → SN Preparing → plug → StartTransaction
    carrying the reservationId → SN Charging."""
    _needs_reservation(spec)
    _accept_all(csms)
    rid, status, _ = _reserve(csms)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    card_first = reads_card_unplugged(spec)
    if not card_first:  # the EV first: the reader then takes the cards
        ev.plug(cable_amps=32)
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    charger.present_tag(OTHER_TAG)
    csms.wait_for("Authorize", idTag=OTHER_TAG)
    if card_first:
        csms.assert_none("StatusNotification", 5, connectorId=1, status="Preparing")
    else:
        csms.assert_none("StartTransaction", 5)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
    if card_first:
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    assert start["reservationId"] == rid
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")


@pytest.mark.octt("TC_046_2_CS")
def test_reservation_remote_start(csms, ev, spec):
    """ReserveNow Accepted → SN Reserved → RemoteStartTransaction(reserved idTag,
    connector 1) Accepted → SN Preparing → plug → StartTransaction (reservationId)
    → SN Charging."""
    _needs_reservation(spec)
    rid, status, _ = _reserve(csms)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    remote = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert remote.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    assert start["reservationId"] == rid
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")


@pytest.mark.octt("TC_047_CS")
def test_reservation_expire(csms, spec):
    """ReserveNow with a near expiryDate → Accepted → SN Reserved → at the expiry
    (not before) SN Available."""
    _needs_reservation(spec)
    expiry_s = 10
    _, status, expiry = _reserve(csms, expiry_s=expiry_s)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    freed = csms.wait_for("StatusNotification", connectorId=1, status="Available",
                          timeout=expiry_s + 20)
    # When the backend saw it, on its own spec-time clock.
    seen = csms.state.utcnow() - timedelta(seconds=csms.clock.now() - freed.timestamp)
    early = (expiry - seen).total_seconds()
    assert early <= 0.5, f"reservation ended {early:.1f} s before its expiryDate"
    assert -early <= 5, f"reservation ended {-early:.1f} s after its expiryDate"


@pytest.mark.octt("TC_048_1_CS")
def test_reservation_faulted(csms, ev, spec):
    """A faulted connector answers ReserveNow(1) Faulted. Fault: a shorted pilot
    (state E, the profile's cp_level_invalid; no session needed, unlike the diode
    fault, which shows only on an oscillating pilot); unplugging clears it."""
    _needs_reservation(spec)
    fault = spec.fault("cp_level_invalid")
    assert "unplug" in fault.recovery
    ev.plug(cable_amps=32)
    ev.set_state("E")
    csms.wait_for("StatusNotification", connectorId=1, status="Faulted",
                  errorCode=fault.ocpp_error_code)
    _, status, _ = _reserve(csms)
    assert status == "Faulted"
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available")


@pytest.mark.octt("TC_048_2_CS")
def test_reservation_occupied(csms, ev, spec):
    """A connector in use (EV plugged, Preparing) answers ReserveNow(1) Occupied,
    and its status stays Preparing."""
    _needs_reservation(spec)
    plug_in(csms, ev)
    _, status, _ = _reserve(csms)
    assert status == "Occupied"
    csms.assert_none("StatusNotification", 3, connectorId=1, status="Reserved")


@pytest.mark.octt("TC_048_3_CS")
def test_reservation_unavailable(csms, spec):
    """ChangeAvailability(1, Inoperative) → SN Unavailable → ReserveNow(1)
    Unavailable; back Operative → SN Available."""
    _needs_reservation(spec)
    assert csms.call(call.ChangeAvailability(connector_id=1, type="Inoperative")).status \
        == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Unavailable")
    _, status, _ = _reserve(csms)
    assert status == "Unavailable"
    assert csms.call(call.ChangeAvailability(connector_id=1, type="Operative")).status \
        == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Available")


@pytest.mark.octt("TC_048_4_CS")
def test_reservation_rejected(csms, spec):
    """ReserveNow the charger will not take → Rejected, and nothing is reserved.
    The EVNET has no setting that turns reservations off, so the request names a
    connector the charger does not have (NumberOfConnectors + 1, profile)."""
    _needs_reservation(spec)
    missing = int(spec.key("NumberOfConnectors").default) + 1
    _, status, _ = _reserve(csms, connector_id=missing)
    assert status == "Rejected"
    csms.assert_none("StatusNotification", 3, status="Reserved")


@pytest.mark.octt("TC_050_4_CS")
def test_reservation_charge_point_rejected(csms, spec):
    """ReserveNow(connectorId 0) on a charger with ReserveConnectorZeroSupported=false
    → Rejected, and connector 1 is not reserved (OCPP 1.6 §5.13)."""
    _needs_reservation(spec)
    if _zero_supported(spec):
        pytest.skip("ReserveConnectorZeroSupported is true: the charger takes connector 0")
    reported = {k["key"]: k.get("value") for k in csms.call(
        call.GetConfiguration(key=["ReserveConnectorZeroSupported"])).configuration_key}
    assert reported.get("ReserveConnectorZeroSupported", "").lower() == "false"
    _, status, _ = _reserve(csms, connector_id=0)
    assert status == "Rejected"
    csms.assert_none("StatusNotification", 3, status="Reserved")


@pytest.mark.octt("TC_051_CS")
def test_cancel_reservation(csms, spec):
    """ReserveNow Accepted → SN Reserved → CancelReservation(id) Accepted → SN Available."""
    _needs_reservation(spec)
    rid, status, _ = _reserve(csms)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    _cancel(csms, rid)


@pytest.mark.octt("TC_052_CS")
def test_cancel_reservation_rejected(csms, spec):
    """CancelReservation with a reservationId the charger does not hold → Rejected;
    the real reservation stays (still Reserved) until it is cancelled by its id."""
    _needs_reservation(spec)
    rid, status, _ = _reserve(csms)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    unknown = csms.call(call.CancelReservation(reservation_id=rid + 1000))
    assert unknown.status == "Rejected"
    csms.assert_none("StatusNotification", 3, connectorId=1, status="Available")
    _cancel(csms, rid)


@pytest.mark.octt("TC_053_1_CS")
def test_reserved_connector_parent_id_local(csms, ev, charger, spec):
    """ReserveNow(idTag, parentIdTag P) → SN Reserved → a different idTag presented
    locally → Authorize.req(it) → backend answers Accepted with parentIdTag P →
    StartTransaction(that idTag, reservationId) → SN Charging (§5.13)."""
    _needs_reservation(spec)
    _accept_all(csms, parent=PARENT_TAG)
    rid, status, _ = _reserve(csms, parent_id_tag=PARENT_TAG)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    card_first = reads_card_unplugged(spec)
    if not card_first:  # the EV first: the reader then takes the card
        ev.plug(cable_amps=32)
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    charger.present_tag(CHILD_TAG)
    csms.wait_for("Authorize", idTag=CHILD_TAG)
    if card_first:
        ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=CHILD_TAG)
    assert start["reservationId"] == rid
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")


@pytest.mark.octt("TC_053_2_CS")
def test_reserved_connector_parent_id_remote(csms, ev, spec):
    """As TC_053_1 with RemoteStartTransaction(other idTag): Accepted, the charger
    asks Authorize.req for the parentIdTag, it matches → StartTransaction → Charging."""
    _needs_reservation(spec)
    _accept_all(csms, parent=PARENT_TAG)
    rid, status, _ = _reserve(csms, parent_id_tag=PARENT_TAG)
    assert status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Reserved")
    remote = csms.call(call.RemoteStartTransaction(id_tag=CHILD_TAG, connector_id=1))
    assert remote.status == "Accepted"
    csms.wait_for("Authorize", idTag=CHILD_TAG)
    ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=CHILD_TAG)
    assert start["reservationId"] == rid
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
