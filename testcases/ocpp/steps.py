"""Steps many OCPP testcases share (the OCTT's "reusable states"): reach a state
through real stimuli and check the messages on the way. Expected values come from
the profile (``spec``) and the rig file (the id-tag table of the mock CSMS)."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call

ACCEPTED_TAG = "TAG-ACCEPTED-01"
BLOCKED_TAG = "TAG-BLOCKED-01"
EXPIRED_TAG = "TAG-EXPIRED-01"
INVALID_TAG = "TAG-INVALID-01"


def configure(csms: Any, **keys: Any) -> None:
    """ChangeConfiguration for each key; every one must be Accepted (the bench
    keeper restores the original values after the test)."""
    for key, value in keys.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        result = csms.call(call.ChangeConfiguration(key=key, value=text))
        assert result.status == "Accepted", f"ChangeConfiguration {key}={text}: {result.status}"


def without_charge_times(csms: Any, spec: Any) -> None:
    """Charge-off periods off and no randomized delay (profile ``charge_times``): for
    offline testcases about something else, so that the time of day of the run and a
    random wait of up to c_MaxStartDelay do not decide them (the keeper restores the
    factory values; testcases/ocpp/test_charge_times.py tests them)."""
    rules = spec.charge_times
    if rules is None:
        return
    keys: dict[str, str] = {rules.max_delay_key: "0"}
    for key in rules.period_keys:
        parts = spec.key(key).default.split(",")
        keys[key] = ",".join(["disable", *parts[1:]])
    configure(csms, **keys)


def reads_card_unplugged(spec: Any) -> bool:
    """Whether the reader takes a card with nothing plugged in (OCPP 1.6's
    "identification first"). The EV PLUS reads one only with an EV connected (003 §9,
    profile ``rfid.reader_lit_statuses``): its testcases plug in first."""
    rules = spec.rfid
    return rules is None or not rules.reader_lit_statuses \
        or "Available" in rules.reader_lit_statuses


def pairs_card_offline(spec: Any) -> bool:
    """Whether a card starts offline only once paired in the web app: no
    AllowOfflineTxForUnknownId, card pairing in the profile (EV PLUS ``rfid``)."""
    return "AllowOfflineTxForUnknownId" not in spec.config_keys and spec.rfid is not None


def offline_needs_web(spec: Any) -> bool:
    """Whether an offline testcase needs the charger's web client: to switch the
    offline plug-in charge off (EV NET, profile ``offline_mode``) or to pair the card
    (:func:`pairs_card_offline`)."""
    return spec.offline_mode is not None or pairs_card_offline(spec)


def allow_offline(csms: Any, spec: Any, charger: Any = None, web: Any = None,
                  clock: Any = None, id_tag: str = ACCEPTED_TAG) -> None:
    """Make ``id_tag`` start a session while the backend is gone, with what the profile
    has (call it online, in Available): LocalAuthorizeOffline and
    AllowOfflineTxForUnknownId (OCPP 1.6 §3.5.3, EV NET); without that key, the card
    paired in the web app (EV PLUS 003 §8.1.2 step 11: the profile ``rfid`` note — a
    paired card is accepted offline). The bench keeper restores keys and cards."""
    keys = {k: True for k in ("LocalAuthorizeOffline", "AllowOfflineTxForUnknownId")
            if k in spec.config_keys}
    if keys:
        configure(csms, **keys)
    if "AllowOfflineTxForUnknownId" in keys:
        return
    assert spec.rfid is not None and web is not None, \
        f"{spec.model}: no AllowOfflineTxForUnknownId and no card pairing to start offline"
    pair_card(web, charger, clock, id_tag)


def pair_card(web: Any, charger: Any, clock: Any, id_tag: str, timeout: float = 10.0) -> None:
    """Pair ``id_tag`` in the first free slot of the web app's RFID page (003 §8.1.2 step
    11: Read, the card to the reader, Write Card x); nothing if it is paired already."""
    cards = web.cards()
    if id_tag in cards:
        return
    assert None in cards, f"no free card slot: {cards}"
    web.read_card()
    charger.present_tag(id_tag)
    assert clock.wait_until(lambda: web.card_read() == id_tag, timeout, poll=0.5), \
        f"Read RFID shows {web.card_read()!r}, not {id_tag}"
    web.write_card(cards.index(None) + 1)
    assert id_tag in web.cards(), f"{id_tag} not paired: {web.cards()}"


def plug_in(csms: Any, ev: Any) -> None:
    """Cable in, EV in state B: the connector goes Preparing."""
    ev.plug(cable_amps=32)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing", errorCode="NoError")


def start_charging(csms: Any, ev: Any, charger: Any, id_tag: str = ACCEPTED_TAG) -> int:
    """Plug in, present ``id_tag``, EV to state C; returns the transactionId."""
    plug_in(csms, ev)
    charger.present_tag(id_tag)
    csms.wait_for("Authorize", idTag=id_tag)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=id_tag)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    return transaction_id_of(csms, start)


def transaction_id_of(csms: Any, start_message: Any) -> int:
    """The transactionId the backend gave the StartTransaction ``start_message`` (the
    answer ``wait_for`` returns with the CALL)."""
    if start_message.answer is None or "transactionId" not in start_message.answer.payload:
        raise AssertionError(f"no answer with a transactionId for {start_message.brief()}")
    return int(start_message.answer["transactionId"])


def read_config(csms: Any, key: str) -> str:
    """The charger's present value of ``key`` (GetConfiguration)."""
    result = csms.call(call.GetConfiguration(key=[key]))
    for entry in result.configuration_key:
        if entry["key"] == key:
            return str(entry.get("value", ""))
    raise AssertionError(f"GetConfiguration({key}): key not returned: {result}")


def authorize_remote_tx(csms: Any) -> bool:
    """AuthorizeRemoteTxRequests as the charger reports it (the OCTT reads it first)."""
    return read_config(csms, "AuthorizeRemoteTxRequests").lower() == "true"


def remote_start(csms: Any, id_tag: str = ACCEPTED_TAG, connector_id: int = 1) -> None:
    """RemoteStartTransaction, answered Accepted; if AuthorizeRemoteTxRequests is true
    the charger must send Authorize.req for ``id_tag`` next (OCPP 1.6 §5.11)."""
    authorize = authorize_remote_tx(csms)
    result = csms.call(call.RemoteStartTransaction(id_tag=id_tag, connector_id=connector_id))
    assert result.status == "Accepted", f"RemoteStartTransaction: {result.status}"
    if authorize:
        csms.wait_for("Authorize", idTag=id_tag)


def remote_stop(csms: Any, transaction_id: int, id_tag: str = ACCEPTED_TAG,
                status: str = "Finishing") -> None:
    """RemoteStopTransaction Accepted → StopTransaction reason Remote with the same
    transactionId and idTag, and StatusNotification ``status`` (either order):
    Finishing while a cable is still connected, Available when nothing is (§4.9)."""
    mark = csms.mark()
    result = csms.call(call.RemoteStopTransaction(transaction_id=transaction_id))
    assert result.status == "Accepted", f"RemoteStopTransaction: {result.status}"
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=transaction_id)
    assert stop["reason"] == "Remote"
    assert stop.get("idTag") == id_tag
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status=status)


def remote_charging(csms: Any, ev: Any, id_tag: str = ACCEPTED_TAG) -> int:
    """RemoteStart → (Authorize) → SN Preparing → plug → StartTransaction → SN Charging;
    returns the transactionId."""
    remote_start(csms, id_tag)
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    ev.plug(cable_amps=32)
    start = csms.wait_for("StartTransaction", connectorId=1, idTag=id_tag)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    return transaction_id_of(csms, start)


def assert_connection_timeout(csms: Any, timeout_s: float) -> None:
    """SN Preparing, then SN Available after ConnectionTimeOut (``timeout_s``, which the
    test configured) within −1/+3 s, the tolerance the OCTT tools use."""
    preparing = csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    available = csms.wait_for("StatusNotification", connectorId=1, status="Available",
                              timeout=timeout_s + 15)
    elapsed = available.timestamp - preparing.timestamp
    assert timeout_s - 1 <= elapsed <= timeout_s + 3, elapsed
