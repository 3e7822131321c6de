"""OCTT module 15: Offline Behavior — Core, OCPP 1.6 §3.5 (offline authorization),
§4.7/§4.10 and §3.16 (transaction messages queued while offline, delivered in order).

An offline start uses what the profile has (steps.allow_offline): AllowOfflineTxForUnknownId
(EV NET), or the card paired in the web app (EV PLUS 003 §8.1.2 step 11); the cases
about unknown ids offline need that key and are deselected without it."""

from __future__ import annotations

from datetime import datetime

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import (
    ACCEPTED_TAG,
    INVALID_TAG,
    allow_offline,
    configure,
    pairs_card_offline,
    plug_in,
    reads_card_unplugged,
    start_charging,
    transaction_id_of,
    without_charge_times,
)

OFFLINE_S = 60  # spec seconds the backend stays away (OCTT: ~60-65 s)
RECONNECT_S = 60  # spec seconds the charger may take to reconnect (its back-off)


def _go_offline(csms, charger, clock, spec) -> int:
    """Drop the backend and refuse reconnects; wait until the charger knows. Returns
    the history mark of the moment. Charge-off periods and the randomized delay are
    switched off first (steps.without_charge_times)."""
    without_charge_times(csms, spec)
    mark = csms.mark()
    csms.disconnect(refuse_reconnect=True)
    csms.wait_disconnected(10)
    assert clock.wait_until(lambda: charger.status()["backend"] == "offline", 10), \
        "the charger did not notice the backend went away"
    return mark


def _back_online(csms) -> None:
    csms.reconnect_allowed()
    csms.wait_connected(RECONNECT_S)


def _calls(csms, action: str, since: int = 0) -> list:
    return [m for m in list(csms.history)[since:]
            if m.is_call and m.direction == "in" and m.action == action]


@pytest.mark.octt("TC_036_CS")
def test_connection_loss_during_transaction(csms, ev, charger, clock, spec):
    """Charging with MeterValueSampleInterval set, ClockAlignedDataInterval=0: the
    backend is unreachable for ~60 s; on reconnect the charger delivers the meter
    values sampled offline (all of them, in chronological order, for the running
    transaction) without a new BootNotification, sampling resumes at the interval,
    and RemoteStop ends the transaction with StopTransaction reason Remote.
    PNA expects the queued values batched in one MeterValues.req; OCPP 1.6 §4.7
    allows one or several, so only completeness and order are checked."""
    interval = 10
    configure(csms, MeterValueSampleInterval=interval, ClockAlignedDataInterval=0)
    tx_id = start_charging(csms, ev, charger)
    csms.wait_for("MeterValues", transactionId=tx_id, timeout=interval * 2)
    csms.wait_for("MeterValues", transactionId=tx_id, timeout=interval * 2)
    mark = _go_offline(csms, charger, clock, spec)
    went = clock.now()
    clock.sleep(OFFLINE_S)
    offline_for = clock.now() - went
    back = csms.mark()
    _back_online(csms)
    assert charger.status()["connector"] == "Charging"
    online_again = clock.utcnow()
    # Sampling resumes: a sample taken after the reconnect comes after the queued ones.
    csms.wait_for("MeterValues", transactionId=tx_id, since=back, timeout=interval * 3,
                  predicate=lambda p: datetime.fromisoformat(p["meterValue"][0]["timestamp"])
                  > online_again)
    assert not _calls(csms, "BootNotification", since=mark), "no reboot on reconnect"
    meter_values = _calls(csms, "MeterValues", since=0)
    assert all(m.get("transactionId") == tx_id for m in meter_values)
    stamps = [datetime.fromisoformat(v["timestamp"]) for m in meter_values
              for v in m["meterValue"]]
    assert stamps == sorted(stamps), f"meter values out of order: {stamps}"
    # No sample lost: the periodic samples cover the outage without a gap.
    gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
    assert max(gaps) <= interval * 1.5, f"a gap of {max(gaps):.1f} s in the samples: {gaps}"
    assert (stamps[-1] - stamps[0]).total_seconds() >= offline_for
    assert len(_calls(csms, "MeterValues", since=back)) >= 2
    assert csms.call(call.RemoteStopTransaction(transaction_id=tx_id)).status == "Accepted"
    csms.wait_for("StopTransaction", transactionId=tx_id, reason="Remote", since=back)
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=back)


def _offline_start(csms, ev, charger, clock, spec, id_tag: str) -> int:
    """Offline: cable in, tag presented, EV charging; returns the history mark."""
    mark = _go_offline(csms, charger, clock, spec)
    ev.plug(cable_amps=32)
    if not reads_card_unplugged(spec):
        # The reader takes the card once the charger sees the EV (EV PLUS 003 §9).
        assert clock.wait_until(lambda: charger.status()["connector"] == "Preparing", 10), \
            charger.status()
    charger.present_tag(id_tag)
    assert clock.wait_until(lambda: charger.status()["connector"] in (
        "SuspendedEV", "Charging"), 10), charger.status()
    ev.set_state("C")
    assert clock.wait_until(lambda: charger.status()["connector"] == "Charging", 10), \
        charger.status()
    return mark


@pytest.mark.octt("TC_037_1_CS")
def test_offline_start_valid_id(csms, ev, charger, clock, spec):
    """LocalAuthorizeOffline=true and the idTag in the Authorization Cache (EVT);
    AllowOfflineTxForUnknownId=false so only the cache can authorize it. Offline: plug
    + idTag → the transaction starts locally; on reconnect the queued StartTransaction
    (that idTag) → Accepted → SN Charging; presenting the tag → StopTransaction Local
    and SN Finishing."""
    timeout = 5
    configure(csms, LocalAuthorizeOffline=True, AuthorizationCacheEnabled=True,
              ConnectionTimeOut=timeout)
    if "AllowOfflineTxForUnknownId" in spec.config_keys:  # else unknown ids never start
        configure(csms, AllowOfflineTxForUnknownId=False)
    if reads_card_unplugged(spec):
        # Fill the cache online: authorize, then let the authorization time out unplugged.
        charger.present_tag(ACCEPTED_TAG)
        csms.wait_for("Authorize", idTag=ACCEPTED_TAG)
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        csms.wait_for("StatusNotification", connectorId=1, status="Available",
                      timeout=timeout * 4)
    else:
        # A reader that needs an EV (003 §9): a session the card starts and stops.
        tx = start_charging(csms, ev, charger)
        charger.present_tag(ACCEPTED_TAG)
        csms.wait_for("StopTransaction", transactionId=tx)
        ev.unplug()
        csms.wait_for("StatusNotification", connectorId=1, status="Available")
    mark = _offline_start(csms, ev, charger, clock, spec, ACCEPTED_TAG)
    assert not _calls(csms, "StartTransaction", since=mark)
    back = csms.mark()
    _back_online(csms)
    start = csms.wait_for("StartTransaction", since=back, connectorId=1, idTag=ACCEPTED_TAG)
    tx_id = transaction_id_of(csms, start)
    csms.wait_for("StatusNotification", connectorId=1, status="Charging", since=back)
    assert not _calls(csms, "Authorize", since=mark)
    charger.present_tag(ACCEPTED_TAG)
    stop = csms.wait_for("StopTransaction", transactionId=tx_id, reason="Local")
    assert stop["idTag"] == ACCEPTED_TAG
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=back)


def _offline_invalid_start(csms, ev, charger, clock, spec, stop_on_invalid: bool):
    configure(csms, LocalAuthorizeOffline=True, AllowOfflineTxForUnknownId=True,
              StopTransactionOnInvalidId=stop_on_invalid)
    _offline_start(csms, ev, charger, clock, spec, INVALID_TAG)
    back = csms.mark()
    _back_online(csms)
    start = csms.wait_for("StartTransaction", since=back, connectorId=1, idTag=INVALID_TAG)
    answer = next(m for m in csms.history if m.unique_id == start.unique_id and not m.is_call)
    assert answer.payload["idTagInfo"]["status"] == "Invalid"
    return transaction_id_of(csms, start), back


@pytest.mark.octt("TC_037_2_CS")
@pytest.mark.applies(keys=("AllowOfflineTxForUnknownId",))
def test_offline_start_invalid_id_keep(csms, ev, charger, clock, spec):
    """AllowOfflineTxForUnknownId=true, LocalAuthorizeOffline=true,
    StopTransactionOnInvalidId=false: an offline start with an unknown tag; on
    reconnect StartTransaction is answered Invalid → the transaction stays open but
    the charger stops the energy (SN SuspendedEVSE, OCPP 1.6 §4.8/§9.1); presenting
    the tag again → StopTransaction Local and SN Finishing."""
    tx_id, back = _offline_invalid_start(csms, ev, charger, clock, spec, stop_on_invalid=False)
    csms.wait_for("StatusNotification", connectorId=1, status="SuspendedEVSE", since=back)
    csms.assert_none("StopTransaction", 5)
    charger.present_tag(INVALID_TAG)
    stop = csms.wait_for("StopTransaction", transactionId=tx_id, reason="Local")
    assert stop["idTag"] == INVALID_TAG
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=back)


@pytest.mark.octt("TC_037_3_CS")
@pytest.mark.applies(keys=("AllowOfflineTxForUnknownId",))
def test_offline_start_invalid_id_stop(csms, ev, charger, clock, spec):
    """As TC_037_2 with StopTransactionOnInvalidId=true: after StartTransaction.conf
    Invalid the charger stops the transaction itself, StopTransaction reason
    DeAuthorized, SN Finishing (OCPP 1.6 §9.1 StopTransactionOnInvalidId)."""
    tx_id, back = _offline_invalid_start(csms, ev, charger, clock, spec, stop_on_invalid=True)
    stop = csms.wait_for("StopTransaction", transactionId=tx_id, since=back)
    assert stop["reason"] == "DeAuthorized"
    assert stop["idTag"] == INVALID_TAG
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=back)


@pytest.mark.octt("TC_038_CS")
def test_offline_stop_transaction(csms, ev, charger, clock, spec):
    """Remote-started charging; the backend goes away; the driver stops with the same
    idTag offline; on reconnect the queued StopTransaction (reason Local, that
    transactionId and idTag) and SN Finishing. (OCTT allows the reason omitted; OCPP
    1.6 §7.40 says omitted means Local, so Local is required here.)"""
    plug_in(csms, ev)
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    tx_id = transaction_id_of(csms, start)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    mark = _go_offline(csms, charger, clock, spec)
    charger.present_tag(ACCEPTED_TAG)
    assert clock.wait_until(lambda: charger.status()["connector"] == "Finishing", 10), \
        charger.status()
    assert not _calls(csms, "StopTransaction", since=mark)
    back = csms.mark()
    _back_online(csms)
    stop = csms.wait_for("StopTransaction", transactionId=tx_id, since=back)
    assert stop.get("reason", "Local") == "Local"
    assert stop["idTag"] == ACCEPTED_TAG
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=back)


@pytest.mark.octt("TC_039_CS")
def test_offline_transaction(csms, ev, charger, clock, spec, request):
    """LocalAuthorizeOffline=true, AllowOfflineTxForUnknownId=true (or, without that
    key, the card paired in the web app: EV PLUS 003 §8.1.2 step 11): a whole
    transaction starts and stops offline; on reconnect StartTransaction then
    StopTransaction (reason Local, the transactionId the backend gave the start), SN
    Finishing; unplugging → SN Available."""
    web = request.getfixturevalue("web") if pairs_card_offline(spec) else None
    allow_offline(csms, spec, charger, web, clock)
    mark = _offline_start(csms, ev, charger, clock, spec, ACCEPTED_TAG)
    charger.present_tag(ACCEPTED_TAG)
    assert clock.wait_until(lambda: charger.status()["connector"] == "Finishing", 10), \
        charger.status()
    back = csms.mark()
    _back_online(csms)
    start = csms.wait_for("StartTransaction", since=back, connectorId=1, idTag=ACCEPTED_TAG)
    tx_id = transaction_id_of(csms, start)
    stop = csms.wait_for("StopTransaction", transactionId=tx_id)  # after the start
    assert stop["reason"] == "Local"
    assert stop["idTag"] == ACCEPTED_TAG
    assert stop["meterStop"] >= start["meterStart"]
    assert stop["timestamp"] >= start["timestamp"]
    assert len(_calls(csms, "StartTransaction", since=mark)) == 1
    csms.wait_for("StatusNotification", connectorId=1, status="Finishing", since=back)
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available")
