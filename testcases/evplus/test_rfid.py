"""The charging process with the RFID card (003 §9, §7.1.4) and the Case B lock.

A session starts with a card at the reader once the EV is connected (the reader is lit
then, profile ``rfid.reader_lit_statuses``); the same card stops it, another card does
not (``rfid.stop_by_same_card``); on a socket unit (Case B) the electronic lock holds
the plug while the session runs and releases it at the end or on a fault (§9,
``protections.actuator.unlock_on_fault``). How paired cards relate to OCPP Authorize
is the profile's ``rfid`` note (the framework's tests/test_twin_evplus.py checks the
offline side: the bench's backend is always there).
"""

from __future__ import annotations

import pytest

from evrig.testcases.evplus.steps import expect_dead, expect_faulted
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, plug_in, start_charging
from evrig.testcases.protection.checks import HOLD_S, REACT_S, ZERO_A

pytestmark = pytest.mark.applies(tables=("rfid",))
OTHER_TAG = "TAG-OTHER-CARD-02"  # a second user's card, accepted by the backend below


def _lock(charger) -> str:
    return charger.status()["lock"]


def test_the_card_starts_and_the_same_card_stops(csms, ev, charger, spec):
    """Plug, card: Authorize, StartTransaction with the card, Charging (§9); the same
    card again: StopTransaction Local with it (§9 'To stop … hold the RFID card close
    to the tap area again')."""
    assert spec.rfid.stop_by_same_card
    tx = start_charging(csms, ev, charger, ACCEPTED_TAG)
    mark = csms.mark()
    charger.present_tag(ACCEPTED_TAG)
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx)
    assert stop["reason"] == "Local" and stop["idTag"] == ACCEPTED_TAG
    csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Finishing")


def test_another_card_does_not_stop_the_session(csms, ev, charger, clock, spec):
    """A second card — even one the backend accepts — does not stop the session
    (profile rfid.stop_by_same_card); the card that started it still does."""
    assert spec.rfid.stop_by_same_card
    tx = start_charging(csms, ev, charger, ACCEPTED_TAG)
    csms.respond("Authorize", {"idTagInfo": {"status": "Accepted"}})
    charger.present_tag(OTHER_TAG)
    csms.assert_none("StopTransaction", HOLD_S)
    assert charger.status()["connector"] == "Charging"
    mark = csms.mark()
    charger.present_tag(ACCEPTED_TAG)
    assert csms.wait_for("StopTransaction", since=mark, transactionId=tx)["reason"] == "Local"


def test_a_card_at_the_dark_reader_is_not_read(csms, ev, charger, spec):
    """Nothing plugged: the reader is not lit (rfid.reader_lit_statuses) and a card is
    not read — no Authorize; plugged afterwards, nothing starts without a card."""
    assert "Available" not in spec.rfid.reader_lit_statuses
    charger.present_tag(ACCEPTED_TAG)
    csms.assert_none("Authorize", HOLD_S)
    plug_in(csms, ev)
    csms.assert_none("StartTransaction", HOLD_S)


@pytest.mark.applies(tables=("rfid",), connector="socket")
def test_the_lock_holds_during_the_session_and_releases_at_its_end(csms, ev, charger,
                                                                    clock, variant):
    """Case B (003 §9): the plug is locked while the session runs — also when the EV
    pauses — and unlocked when the card ends it."""
    assert variant.actuator_lock
    start_charging(csms, ev, charger, ACCEPTED_TAG)
    assert _lock(charger) == "locked"
    ev.set_state("B")  # the EV pauses: the session goes on, locked
    csms.wait_for("StatusNotification", connectorId=1, status="SuspendedEV")
    # Held through the pause, not only at its first moment (the relay opens after it).
    assert not clock.wait_until(lambda: _lock(charger) != "locked", HOLD_S, poll=0.25), \
        "the lock released while the session was paused"
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StopTransaction")
    assert clock.wait_until(lambda: _lock(charger) == "unlocked", REACT_S)


@pytest.mark.applies(tables=("rfid",), connector="socket",
                     conditions=("overcurrent",))
def test_a_fault_releases_the_lock(csms, ev, charger, clock, spec, ac_load):
    """Case B (003 §9 'When charging is completed or a fault occurs, the electronic lock
    will automatically unlock'): an overcurrent trip opens the relay and frees the plug;
    the session ends when the user unplugs (profile protections.actuator note)."""
    assert spec.protections.actuator.unlock_on_fault
    tx = start_charging(csms, ev, charger, ACCEPTED_TAG)
    rated = float(spec.ratings["max_current_a"].value)
    ac_load.set_current(spec.protections.overcurrent.hw_trip_factor * rated + 1.0)
    ac_load.enable(True)
    expect_faulted(csms, spec, "overcurrent")
    expect_dead(clock, ac_load)
    assert clock.wait_until(lambda: _lock(charger) == "unlocked", REACT_S)
    assert not [m for m in csms.history.calls("StopTransaction")
                if m.payload.get("transactionId") == tx]
    mark = csms.mark()
    ac_load.enable(False)
    ev.unplug()
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx)
    assert stop["reason"] == "EVDisconnected"
    assert ac_load.measure().current < ZERO_A
