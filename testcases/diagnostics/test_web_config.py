"""The web client's configuration pages (000 §2.5.1; profile ``web_client``): NFC
Configuration (Learn mode stores the next card tapped; REMOVE), Backend Configuration
(the server address and UID the charger connects with), Date & Time (the charger's
clock). Each read through the pages, each effect observed where it shows: the reader,
the backend's connections, the timestamps of OCPP messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import configure, without_charge_times

LEARNED = "TAG-LEARNED-9"  # a card no backend list knows
SETTLE_S = 10.0
# The EV NET web client's configuration pages (the EV PLUS's: test_web_evplus.py).
pytestmark = pytest.mark.applies(web=("authorization_list", "backend_details", "date_time"))


def test_learn_mode_stores_the_next_card_and_remove_forgets_it(csms, ev, charger, clock,
                                                                web, spec):
    assert LEARNED not in web.authorization_list()
    web.learn_card()
    mark = csms.mark()
    charger.present_tag(LEARNED)
    assert clock.wait_until(lambda: LEARNED in web.authorization_list(), SETTLE_S, poll=0.25)
    csms.assert_none("Authorize", 3)  # stored, not used to charge
    assert not [m for m in csms.history if m.index >= mark and m.action == "Authorize"]
    # What a memorized card does (profile note): it charges when the backend is away.
    configure(csms, AllowOfflineTxForUnknownId=False)
    without_charge_times(csms, spec)
    web.set_plug_and_charge(False)
    csms.disconnect(refuse_reconnect=True)
    assert clock.wait_until(lambda: charger.status()["backend"] == "offline", SETTLE_S)
    ev.plug(cable_amps=32)
    charger.present_tag(LEARNED)
    ev.set_state("C")
    assert clock.wait_until(lambda: charger.status()["connector"] == "Charging", SETTLE_S,
                            poll=0.25), charger.status()
    web.remove_card(LEARNED)
    assert LEARNED not in web.authorization_list()


def test_backend_configuration_is_what_the_charger_connects_with(csms, charger, clock, web,
                                                                 rig):
    backend = web.backend()
    assert backend["uid"] == rig.config.charger.charge_point_id
    assert backend["address"] == csms.url
    other = backend["uid"] + "-X"
    web.set_uid(other)
    assert web.backend()["uid"] == other
    assert clock.wait_until(lambda: any(
        c.event == "refused" and c.charge_point_id == other for c in csms.connections),
        60, poll=0.25), csms.connections  # the rig's backend does not know that UID
    web.set_uid(backend["uid"])
    csms.wait_connected(60)
    assert web.backend() == backend


def test_date_and_time_is_the_charger_clock(csms, web):
    def clock_in_status() -> datetime:
        mark = csms.mark()
        assert csms.call(call.TriggerMessage(requested_message="StatusNotification",
                                             connector_id=1)).status == "Accepted"
        sn = csms.wait_for("StatusNotification", since=mark, connectorId=1, timeout=SETTLE_S)
        return datetime.fromisoformat(sn["timestamp"].replace("Z", "+00:00"))

    shown = web.device_time()
    assert abs(clock_in_status() - shown) < timedelta(seconds=30)
    wanted = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    web.set_device_time(wanted)
    assert abs(web.device_time() - wanted) < timedelta(seconds=30)
    assert timedelta(0) <= clock_in_status() - wanted < timedelta(seconds=30)
