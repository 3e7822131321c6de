"""OCTT modules 04 (Authorization Cache), 10/11 (Authorize invalid) and the Local
Authorization List start cases (TC_008, grouped with module 18 by EVT).

A card is presented as the unit's reader takes it: before the plug (OCPP 1.6's
identification first), or — where the reader reads only with an EV connected (EV PLUS
003 §9, profile ``rfid.reader_lit_statuses``) — after it; the Local List cases only
where the profile lists SendLocalList."""

from __future__ import annotations

import contextlib

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import (
    ACCEPTED_TAG,
    BLOCKED_TAG,
    EXPIRED_TAG,
    INVALID_TAG,
    configure,
    plug_in,
    reads_card_unplugged,
    remote_stop,
    transaction_id_of,
)

# The test's own stimulus values (spec seconds).
CONNECTION_TIMEOUT_S = 5
QUIET_S = 20  # PNA watches 20 s for an unwanted StartTransaction
LIST_VERSION = 7


def _authorize_then_time_out(csms, charger, id_tag: str) -> None:
    """Present ``id_tag`` without plugging in: Authorize.req → SN Preparing →
    ConnectionTimeOut → SN Available. Leaves the backend's answer in the cache."""
    charger.present_tag(id_tag)
    csms.wait_for("Authorize", idTag=id_tag)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    csms.wait_for("StatusNotification", connectorId=1, status="Available",
                  timeout=CONNECTION_TIMEOUT_S + 15)


def _cache_by_card(csms, ev, charger, spec, id_tag: str, authorize: bool = True) -> None:
    """The backend's answer for ``id_tag`` into the cache through the reader: card
    first, timing out unplugged; where the reader reads only with an EV connected, a
    session the card starts and stops (the stop needs no Authorize, OCPP 1.6 §3.5),
    then the cable out. ``authorize`` False: the card is cached already, so no
    Authorize.req is awaited (reader that needs an EV only)."""
    if reads_card_unplugged(spec):
        _authorize_then_time_out(csms, charger, id_tag)
        return
    plug_in(csms, ev)
    charger.present_tag(id_tag)
    if authorize:
        csms.wait_for("Authorize", idTag=id_tag)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=id_tag)
    charger.present_tag(id_tag)
    csms.wait_for("StopTransaction", transactionId=transaction_id_of(csms, start))
    ev.unplug()
    csms.wait_for("StatusNotification", connectorId=1, status="Available")


def _card_start_charge(csms, ev, charger, spec, id_tag: str) -> int:
    """The card, then the plug (or the plug first, where the reader needs an EV):
    StartTransaction(id_tag) → SN Charging; returns the transactionId."""
    if reads_card_unplugged(spec):
        charger.present_tag(id_tag)
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        return _plug_start_charge(csms, ev, id_tag)
    plug_in(csms, ev)
    charger.present_tag(id_tag)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=id_tag)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    return transaction_id_of(csms, start)


def _remote_authorize_then_time_out(csms, id_tag: str) -> None:
    result = csms.call(call.RemoteStartTransaction(id_tag=id_tag, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("Authorize", idTag=id_tag)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    csms.wait_for("StatusNotification", connectorId=1, status="Available",
                  timeout=CONNECTION_TIMEOUT_S + 15)


def _plug_start_charge(csms, ev, id_tag: str) -> int:
    ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=id_tag)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    return transaction_id_of(csms, start)


def _refused(csms, tag: str) -> str:
    """The status the rig's backend gives ``tag`` (rig file id-tag table); must not be
    Accepted for an "authorize invalid" case to mean anything."""
    status = str(csms.state.id_tag_info(tag)["status"])
    assert status != "Accepted", f"rig file lists {tag} as Accepted"
    return status


@contextlib.contextmanager
def _local_list(csms, entries: list[dict]):
    """SendLocalList Full with ``entries`` (Accepted), emptied again afterwards (the
    bench keeper restores keys, not list contents)."""
    result = csms.call(call.SendLocalList(list_version=LIST_VERSION, update_type="Full",
                                          local_authorization_list=entries))
    assert result.status == "Accepted", f"SendLocalList: {result.status}"
    try:
        yield
    finally:
        csms.call(call.SendLocalList(list_version=LIST_VERSION + 1, update_type="Full",
                                     local_authorization_list=[]))


# -- 04 Cache --------------------------------------------------------------------------

@pytest.mark.octt("TC_007_1_CS")
def test_start_with_cached_id(csms, ev, charger, spec):
    """AuthorizationCacheEnabled=true, LocalPreAuthorize=true and the idTag already in
    the cache (put there by an earlier Authorize.conf Accepted): the card → no
    Authorize.req → SN Preparing → plug → StartTransaction(same idTag) → SN Charging
    (a reader that needs an EV: plug, card, no Authorize.req, StartTransaction)."""
    configure(csms, AuthorizationCacheEnabled=True, LocalPreAuthorize=True,
              ConnectionTimeOut=CONNECTION_TIMEOUT_S)
    _cache_by_card(csms, ev, charger, spec, ACCEPTED_TAG)
    csms.forbid("Authorize")
    tx_id = _card_start_charge(csms, ev, charger, spec, ACCEPTED_TAG)
    remote_stop(csms, tx_id)


@pytest.mark.octt("TC_007_2_CS")
def test_remote_start_with_cached_id(csms, ev):
    """AuthorizeRemoteTxRequests=true, AuthorizationCacheEnabled=true,
    LocalPreAuthorize=true, cache cleared (EVR): a first remote start puts the idTag in
    the cache (Authorize.req). The second RemoteStartTransaction → Accepted → no
    Authorize.req → SN Preparing → plug → StartTransaction → SN Charging; RemoteStop →
    StopTransaction reason Remote."""
    configure(csms, AuthorizeRemoteTxRequests=True, AuthorizationCacheEnabled=True,
              LocalPreAuthorize=True, ConnectionTimeOut=CONNECTION_TIMEOUT_S)
    assert csms.call(call.ClearCache()).status == "Accepted"
    _remote_authorize_then_time_out(csms, ACCEPTED_TAG)
    csms.forbid("Authorize")
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    tx_id = _plug_start_charge(csms, ev, ACCEPTED_TAG)
    remote_stop(csms, tx_id)


@pytest.mark.octt("TC_061_1_CS")
def test_clear_cache_local(csms, ev, charger, spec):
    """AuthorizationCacheEnabled=true: a card is authorized (Authorize.req) and cached;
    with LocalPreAuthorize=true (set so the cache is observable) it is accepted again
    without Authorize.req; ClearCache → Accepted; the same card → Authorize.req is sent
    again, because the cache was emptied. (A reader that needs an EV: each card use is
    a session the card starts and stops.)"""
    configure(csms, AuthorizationCacheEnabled=True, LocalPreAuthorize=True,
              ConnectionTimeOut=CONNECTION_TIMEOUT_S)
    _cache_by_card(csms, ev, charger, spec, ACCEPTED_TAG)
    csms.forbid("Authorize")
    if reads_card_unplugged(spec):
        charger.present_tag(ACCEPTED_TAG)
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        csms.wait_for("StatusNotification", connectorId=1, status="Available",
                      timeout=CONNECTION_TIMEOUT_S + 15)
    else:
        _cache_by_card(csms, ev, charger, spec, ACCEPTED_TAG, authorize=False)
    csms.allow("Authorize")
    assert csms.call(call.ClearCache()).status == "Accepted"
    _cache_by_card(csms, ev, charger, spec, ACCEPTED_TAG)


@pytest.mark.octt("TC_061_2_CS")
def test_clear_cache_remote(csms):
    """ClearCache → Accepted (EVT checks only this). The follow-up with a remote start
    is unsure in the sources; here: AuthorizeRemoteTxRequests=true,
    AuthorizationCacheEnabled=true, LocalPreAuthorize=true; a remote start caches the
    idTag, ClearCache → Accepted, the next RemoteStartTransaction sends Authorize.req
    again."""
    configure(csms, AuthorizeRemoteTxRequests=True, AuthorizationCacheEnabled=True,
              LocalPreAuthorize=True, ConnectionTimeOut=CONNECTION_TIMEOUT_S)
    _remote_authorize_then_time_out(csms, ACCEPTED_TAG)
    # The idTag is cached now: a second remote start needs no Authorize.req (as
    # TC_007_2), so the Authorize.req after ClearCache below shows the cache emptied.
    csms.forbid("Authorize")
    result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    csms.wait_for("StatusNotification", connectorId=1, status="Available",
                  timeout=CONNECTION_TIMEOUT_S + 15)
    csms.allow("Authorize")
    assert csms.call(call.ClearCache()).status == "Accepted"
    _remote_authorize_then_time_out(csms, ACCEPTED_TAG)


# -- 18 Local Authorization List (Core ids 008) -----------------------------------------

@pytest.mark.octt("TC_008_1_CS")
@pytest.mark.applies(operations=("SendLocalList",))
def test_start_with_id_in_local_list(csms, ev, charger, spec):
    """LocalAuthListEnabled=true, LocalPreAuthorize=true, AuthorizationCacheEnabled=false
    (EVR): SendLocalList(Full, idTag Accepted) → Accepted → the card → no Authorize.req
    → SN Preparing → plug → StartTransaction(same idTag) → SN Charging."""
    if "LocalAuthListManagement" not in spec.ocpp.feature_profiles:
        pytest.skip("the charger does not support LocalAuthListManagement")
    configure(csms, LocalAuthListEnabled=True, LocalPreAuthorize=True,
              AuthorizationCacheEnabled=False)
    entries = [{"idTag": ACCEPTED_TAG, "idTagInfo": {"status": "Accepted"}}]
    with _local_list(csms, entries):
        csms.forbid("Authorize")
        tx_id = _card_start_charge(csms, ev, charger, spec, ACCEPTED_TAG)
        remote_stop(csms, tx_id)


@pytest.mark.octt("TC_008_2_CS")
@pytest.mark.applies(operations=("SendLocalList",))
def test_remote_start_with_id_in_local_list(csms, ev, spec):
    """LocalAuthListEnabled=true, LocalPreAuthorize=true, AuthorizeRemoteTxRequests=true,
    AuthorizationCacheEnabled=false: SendLocalList(Full, idTag Accepted) → Accepted →
    RemoteStartTransaction(idTag) → Accepted → (authorized from the list: no
    Authorize.req) → SN Preparing → plug → StartTransaction → SN Charging."""
    if "LocalAuthListManagement" not in spec.ocpp.feature_profiles:
        pytest.skip("the charger does not support LocalAuthListManagement")
    configure(csms, LocalAuthListEnabled=True, LocalPreAuthorize=True,
              AuthorizeRemoteTxRequests=True, AuthorizationCacheEnabled=False)
    entries = [{"idTag": ACCEPTED_TAG, "idTagInfo": {"status": "Accepted"}}]
    with _local_list(csms, entries):
        csms.forbid("Authorize")
        result = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1))
        assert result.status == "Accepted"
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
        tx_id = _plug_start_charge(csms, ev, ACCEPTED_TAG)
        remote_stop(csms, tx_id)


# -- 10/11 Authorize invalid -------------------------------------------------------------

@pytest.mark.octt("TC_023_4_CS")
def test_local_start_authorize_invalid(csms, ev, charger, spec):
    """LocalPreAuthorize=true (PNA). A card the backend refuses → Authorize.req →
    idTagInfo not Accepted → no Preparing from the card alone; plug → SN Preparing →
    no StartTransaction (PNA watches 20 s). TC_023_1/2/3 (Invalid/Expired/Blocked)
    exist only as CSMS cases, so all three refusals of the rig's tag table are
    presented here; none may start a transaction. A reader that needs an EV takes the
    cards after the plug (SN Preparing first)."""
    configure(csms, LocalPreAuthorize=True)
    csms.forbid("StartTransaction")
    card_first = reads_card_unplugged(spec)
    if not card_first:
        plug_in(csms, ev)
    for tag in (INVALID_TAG, EXPIRED_TAG, BLOCKED_TAG):
        _refused(csms, tag)
        charger.present_tag(tag)
        csms.wait_for("Authorize", idTag=tag)
    if card_first:
        csms.assert_none("StatusNotification", 3, connectorId=1, status="Preparing")
        ev.plug(cable_amps=32)
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    csms.assert_none("StartTransaction", QUIET_S)


@pytest.mark.octt("TC_023_5_CS")
def test_remote_start_authorize_invalid(csms, ev):
    """AuthorizeRemoteTxRequests=true: RemoteStartTransaction(refused idTag) → Accepted
    → Authorize.req → idTagInfo Invalid → plug → SN Preparing → no StartTransaction."""
    configure(csms, AuthorizeRemoteTxRequests=True)
    _refused(csms, INVALID_TAG)
    csms.forbid("StartTransaction")
    result = csms.call(call.RemoteStartTransaction(id_tag=INVALID_TAG, connector_id=1))
    assert result.status == "Accepted"
    csms.wait_for("Authorize", idTag=INVALID_TAG)
    ev.plug(cable_amps=32)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    csms.assert_none("StartTransaction", QUIET_S)
