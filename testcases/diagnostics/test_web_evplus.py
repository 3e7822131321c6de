"""The Cabur EV PLUS web app (003 §8.1.2, §12; profile ``web_client``, ``rfid``,
``upgrade``): password verification, the Charger state page, the System parameter
settings (Max Current's accepted range and its cap on the offered current), the OCPP
address, card pairing (Read → Write Card x, at most ``rfid.max_cards``, only in
stand-by), the Charging Record, and the system upgrade with its display strings
(100 UP, E02 UP, E03 UP, E04 UP: §7.1.2, §12). Each effect is observed where it shows:
the EV's pilot, the backend's messages and connections, the display (camera), the AC
load. Expected values come from the profile; the twin's readings where 003 is silent
are in the profile's notes.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime

import pytest

from evrig.rig.errors import InstrumentError
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, pair_card, plug_in, start_charging
from evrig.testcases.pilot import iec61851 as iec

SETTLE_S = 10.0  # spec seconds for the charger to react (our budget, as the web testcases)
BOOT_S = 60.0  # a restart and the BootNotification after it (the protection testcases')
LOAD_A = 16.0  # what the EV draws while a page is read (any current the unit can give)
CARD = "EVPLUS-CARD-{}"  # cards no backend list knows
pytestmark = pytest.mark.applies(web=("charger_state", "login", "system_parameters",
                                      "ocpp_address", "rfid_cards", "history", "upgrade"))


def _image(spec, version: str) -> bytes:
    """An upgrade file for this unit: the profile's image header, version, payload."""
    return spec.upgrade.image_header.encode() + version.encode() + b"\n" + bytes(range(256)) * 8


def _shown(spec, result: str) -> str:
    return re.escape(spec.upgrade.results[result].display)


# -- password verification (step 4) -------------------------------------------------------
def test_wrong_password_is_refused_and_never_shown(web, monkeypatch, rig):
    """The configuration pages are behind Verification: a wrong password is refused,
    the refusal names the variable that holds it, never a password."""
    variable = rig.config.charger.web.admin_pin_env
    good = os.environ[variable]
    web.login()
    monkeypatch.setenv(variable, good + "9")
    with pytest.raises(InstrumentError, match="login refused") as refused:
        web.login()
    assert variable in str(refused.value)
    assert good not in str(refused.value) and good + "9" not in str(refused.value)
    monkeypatch.setenv(variable, good)
    web.login()
    assert web.settings()  # a configuration page again


# -- Charger state (step 3) -----------------------------------------------------------------
def test_state_page_shows_the_charger(web, charger, csms, ev, ac_load, spec, clock):
    """Every field of 003's screenshot; the values agree with the console, the EV's
    pilot and the AC load (within the meter's class)."""
    state = web.state()
    assert list(state) == list(spec.web_client["charger_state"].fields)
    assert state["Serial Number"] == charger.serial
    assert state["Software Version"] == charger.firmware == web.firmware_version
    idle = web.state_values()
    assert abs(idle["CP Voltage"] - iec.CP_NOMINAL_V["A"]) <= iec.CP_TOLERANCE_V
    assert idle["Output Current"] == 0 and idle["Active Power"] == 0
    assert idle["Charging Duration"] == 0
    start_charging(csms, ev, charger)
    ac_load.set_current(LOAD_A)
    ac_load.enable(True)
    clock.sleep(2 * 60)  # two minutes of charge: the duration shows whole minutes
    load, shown = ac_load.measure(), web.state_values()
    accuracy = float(spec.ratings["meter_accuracy_pct"].value) / 100
    assert abs(shown["Grid Voltage"] - load.voltage) <= accuracy * load.voltage
    assert abs(shown["Output Current"] - load.phase_currents[0]) <= accuracy * LOAD_A
    assert abs(shown["Active Power"] * 1000 - load.power) <= accuracy * load.power
    assert shown["Charging Duration"] >= 2
    assert load.frequency is None or abs(shown["Grid Frequency"] - load.frequency) < 0.1


# -- System parameter settings (step 4) -----------------------------------------------------
def test_system_parameters_take_each_choice(web, spec):
    """Each setting takes each of its printed choices; Apply changes only what changed."""
    entry = spec.web_client["system_parameters"]
    settings = web.settings()
    assert list(settings) == list(entry.fields)
    for label, options in entry.choices.items():
        assert settings[label] in options, (label, settings[label])
        for option in options:
            web.set_settings({label: option})
            assert web.settings() == {**settings, label: option}
        web.set_settings({label: settings[label]})
    with pytest.raises(InstrumentError, match=re.escape(next(iter(entry.choices)))):
        web.set_settings({next(iter(entry.choices)): "no such choice"})
    assert web.settings() == settings


def test_max_current_accepted_range_and_cap(web, csms, ev, charger, spec, clock):
    """Max Current: accepted 6 – 32 A (ratings min/max_current_a), refused outside with
    a message and nothing changed; the EV is offered no more than it, also when it is
    lowered during a session."""
    low = int(spec.ratings["min_current_a"].value)
    high = int(spec.ratings["max_current_a"].value)
    before = web.settings()
    for amps in (low - 1, high + 1):
        with pytest.raises(InstrumentError, match="Max Current"):
            web.set_max_current(amps)
        assert web.settings() == before
    for amps in (high, low):
        web.set_max_current(amps)
        assert web.max_current() == amps
    cap = (low + high) // 2
    web.set_max_current(cap)
    start_charging(csms, ev, charger)
    assert abs(ev.offered_current() - cap) <= iec.amps_tolerance(cap)
    web.set_max_current(low)
    assert clock.wait_until(lambda: abs(ev.offered_current() - low) <= iec.amps_tolerance(low),
                            SETTLE_S, poll=0.5), ev.offered_current()


# -- Networking parameter: OCPP Address (step 10) --------------------------------------------
def test_ocpp_address_is_where_the_charger_connects(web, csms, clock, rig):
    """The address is the backend's URL and the charge point id (its last path element);
    a malformed one is refused; another CPID is what the charger connects as."""
    address = web.ocpp_address()
    cpid = rig.config.charger.charge_point_id
    assert address == csms.url + cpid
    for bad in ("http://127.0.0.1:80/ocpp/" + cpid, csms.url, "ws:///ocpp/" + cpid):
        with pytest.raises(InstrumentError, match="OCPP Address"):
            web.set_ocpp_address(bad)
    assert web.ocpp_address() == address and csms.connected
    other = cpid + "-X"
    web.set_ocpp_address(csms.url + other)
    assert web.ocpp_address() == csms.url + other
    assert clock.wait_until(lambda: any(
        c.event == "refused" and c.charge_point_id == other for c in csms.connections),
        BOOT_S, poll=0.25), csms.connections  # the rig's backend does not know that id
    web.set_ocpp_address(address)
    csms.wait_connected(BOOT_S)
    assert web.ocpp_address() == address


# -- RFID: card pairing (step 11) -------------------------------------------------------------
def test_card_pairing_holds_at_most_max_cards(web, charger, csms, clock, spec):
    """Read → Write Card x fills the free slots (the card read is not used to charge);
    with every slot taken a further card is refused, in any slot; there is no slot
    beyond rfid.max_cards."""
    slots = web.cards()
    assert len(slots) == spec.rfid.max_cards
    mark = csms.mark()
    for slot in [n for n, card in enumerate(slots, start=1) if card is None]:
        pair_card(web, charger, clock, CARD.format(slot))  # Read, the card, Write Card x
        slots[slot - 1] = CARD.format(slot)
        assert web.cards() == slots
    assert not [m for m in csms.history if m.index >= mark and m.action == "Authorize"]
    extra = CARD.format(spec.rfid.max_cards + 1)
    web.read_card()
    charger.present_tag(extra)
    assert clock.wait_until(lambda: web.card_read() == extra, SETTLE_S, poll=0.25)
    for slot in range(1, spec.rfid.max_cards + 2):
        with pytest.raises(InstrumentError):
            web.write_card(slot)
    assert web.cards() == slots


def test_pairing_only_in_stand_by(web, charger, csms, ev, clock, spec):
    """Outside rfid.pairing_statuses (an EV plugged: Preparing) Read and Write are
    refused with the reason; unplugged again, pairing works."""
    assert "Preparing" not in spec.rfid.pairing_statuses
    free = web.cards().index(None) + 1
    plug_in(csms, ev)
    with pytest.raises(InstrumentError, match="stand-by"):
        web.read_card()
    with pytest.raises(InstrumentError, match="stand-by"):
        web.write_card(free)
    mark = csms.mark()
    ev.unplug()
    csms.wait_for("StatusNotification", since=mark, connectorId=1,
                  status=spec.rfid.pairing_statuses[0], timeout=SETTLE_S)
    pair_card(web, charger, clock, CARD.format("S"))
    assert web.cards()[free - 1] == CARD.format("S")


def test_a_paired_card_charges_while_the_backend_is_away(web, charger, csms, ev, clock):
    """The paired cards are the charger's own list (profile rfid_cards note): with the
    backend away a paired card starts a session, a card it does not know does not."""
    pair_card(web, charger, clock, CARD.format("P"))
    csms.disconnect(refuse_reconnect=True)
    assert clock.wait_until(lambda: charger.status()["backend"] == "offline", SETTLE_S)
    ev.plug(cable_amps=32)
    # The reader reads only once the EV is seen (rfid.reader_lit_statuses): a card held
    # before that proves nothing.
    assert clock.wait_until(lambda: charger.status()["connector"] == "Preparing", SETTLE_S,
                            poll=0.25), charger.status()
    charger.present_tag(CARD.format("unknown"))
    clock.sleep(3)
    assert charger.status()["connector"] == "Preparing"
    charger.present_tag(CARD.format("P"))
    ev.set_state("C")
    assert clock.wait_until(lambda: charger.status()["connector"] == "Charging", SETTLE_S,
                            poll=0.25), charger.status()


# -- History: Charging Record (step 7) ----------------------------------------------------------
def test_charging_record_of_a_session(web, csms, ev, charger, ac_load, clock, spec):
    """A session started and stopped with the card adds a record on top: the next
    number, its start and end as the charger stamped them, RFID modes (003's example),
    the energy of its meter readings and the backend's transactionId."""
    entry = spec.web_client["history"]
    before = web.history()
    mark = csms.mark()
    tx = start_charging(csms, ev, charger)
    start = csms.wait_for("StartTransaction", since=mark, idTag=ACCEPTED_TAG)
    ac_load.set_current(LOAD_A)
    ac_load.enable(True)
    clock.sleep(60)
    charger.present_tag(ACCEPTED_TAG)  # the same card stops it (003 §9)
    stop = csms.wait_for("StopTransaction", since=mark, transactionId=tx, timeout=SETTLE_S)
    records = web.history()
    assert len(records) == len(before) + 1 and records[1:] == before
    record = records[0]
    assert list(record) == list(entry.fields)
    assert int(record["No."]) == (int(before[0]["No."]) + 1 if before else 1)
    stamped = datetime.fromisoformat(start["timestamp"].replace("Z", "+00:00"))
    assert record["Start"] == stamped.strftime("%Y-%m-%d %H:%M:%S")
    ended = datetime.fromisoformat(stop["timestamp"].replace("Z", "+00:00"))
    assert record["End"] == ended.strftime("%H:%M:%S")
    assert (record["Start Mode"], record["Stop Mode"]) == ("RFID", "RFID")
    energy_kwh = (stop["meterStop"] - start["meterStart"]) / 1000
    resolution_kwh = float(spec.ratings["meter_energy_resolution_wh"].value) / 1000
    assert energy_kwh > 0
    assert abs(float(record["Energy"].removesuffix("kWh")) - energy_kwh) <= resolution_kwh + 1e-9
    assert record["Id"] == str(tx)


# -- System upgrade (§12) ------------------------------------------------------------------------
def test_upgrade_failures_show_on_the_display(web, display, charger, spec):
    """A checksum that does not match shows E02 UP, an image for another model E04 UP,
    a file with no data E03 UP after upgrade.no_data_timeout_s; the firmware stays."""
    version = charger.firmware
    image = _image(spec, "V-NOT-INSTALLED")
    wrong_md5 = hashlib.md5(image + b"x").hexdigest()
    cases = ((image, wrong_md5, "checksum_mismatch"),
             (b"ANOTHER-MODEL-FW 1.0\n" + bytes(64), None, "wrong_image"))
    for data, md5, result in cases:
        web.upgrade(data, md5)
        display.wait_for(_shown(spec, result), timeout=SETTLE_S)
        assert web.upgrade_status() == spec.upgrade.results[result].display
    web.upgrade(b"")
    display.wait_for(_shown(spec, "timeout"), timeout=spec.upgrade.no_data_timeout_s + SETTLE_S)
    assert charger.firmware == version == web.firmware_version


def test_good_upgrade_installs_and_restarts(web, display, csms, charger, clock, spec):
    """The .bin with its MD5 (as the check_sum_tool gives it): after upgrade.duration_s
    the display shows 100 UP, the charger restarts by itself and boots the new version."""
    version = f"V-TEST-{int(clock.now())}"  # not the version the unit runs now
    mark = csms.mark()
    started = clock.now()
    web.upgrade(_image(spec, version))
    display.wait_for(_shown(spec, "installed"), timeout=spec.upgrade.duration_s + SETTLE_S)
    assert clock.now() - started >= spec.upgrade.duration_s * 0.9  # "more or less 15 sec."
    boot = csms.wait_for("BootNotification", since=mark, timeout=BOOT_S)
    assert boot["firmwareVersion"] == version
    csms.wait_connected(BOOT_S)
    assert clock.wait_until(lambda: charger.firmware == version, SETTLE_S)
    assert web.firmware_version == version
