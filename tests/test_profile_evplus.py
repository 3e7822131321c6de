"""The Cabur EV PLUS profile (rig/profiles/evplus.yaml) against its manual,
003_d1075e453f2f6380.txt: the expected values below are read from 003 (section named
at each), not from the YAML, so a wrong or mistyped entry fails here. Where 003 is
silent the profile chooses; those tests check that the choice is said, not hidden.
Then the schema the family added (display, belt blink classes, indicators, RFID,
supply, web upgrade, reclosing): each mistake gives one line naming file and key."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evrig.rig.errors import RigFileError
from evrig.rig.profile import PROFILES_DIR, Profile, available_profiles, load_profile
from evrig.rig.profile_entries import _Entry
from evrig.rig.profile_vocabulary import FAULT_CONDITIONS
from evrig.rig.typed_yaml import load_yaml
from tests.test_profile import _entries

PATH = PROFILES_DIR / "evplus.yaml"
MANUAL = "003_d1075e453f2f6380.txt"

# 003 §7.1.2, the error table: every string with its description.
ERROR_STRINGS = {  # ERR MET and ERR CAN ADDR share a row: "… or …", "… fault or …"
    "ERR OCP": "Over-current fault", "ERR OVP": "Over-voltage fault",
    "ERR LVP": "Under-voltage fault", "ERR MET": "Meter communication fault",
    "ERR CAN ADDR": "CAN bus fault", "ERR PE": "Ground fault", "ERR CP": "CP voltage fault",
    "ERR R12": "Relay 1 blocked fault", "ERR R3N": "Relay 2 blocked fault",
    "ERR ROT": "Relay over-temperature fault", "ERR ELK": "Electronic lock abnormal fault",
    "ERR OCT": "Plug holder over-temperature fault", "ERR IRD": "Leakage fault",
    "ERR FAN": "Fan fault (the fan is blocked)", "ERR PP": "Unreliable connection fault",
    "ERR MIS": "Missing power phase fault",
}
# 003 §5: the protection functions, and §6.4 the DC leak circuit — never reclosed
# automatically or remotely (§5, after the table).
PROTECTION_STRINGS = {"ERR OCP", "ERR OVP", "ERR LVP", "ERR ROT", "ERR OCT", "ERR CP",
                      "ERR R12", "ERR R3N", "ERR IRD"}


@pytest.fixture(scope="module")
def spec() -> Profile:
    return load_profile("evplus")


# --- loading and citations -------------------------------------------------------------
def test_loads_by_name_and_by_path(spec: Profile) -> None:
    assert "evplus" in available_profiles() and spec.file == str(PATH)
    assert load_profile(str(PATH)).faults == spec.faults


def test_every_entry_has_a_source_or_a_note(spec: Profile) -> None:
    entries = [(p, e) for p, e in _entries(spec) if isinstance(e, _Entry)]
    assert len(entries) > 120
    assert [p for p, e in entries if not (e.source or e.note)] == []
    # A value 003 does not give comes from a standard or is chosen, and its note says so.
    for path, entry in entries:
        if entry.source is None:
            assert entry.note, path
        else:
            assert MANUAL in entry.source or re.search(r"\bIEC \d", entry.source), path


def test_cites_003_by_file_name_and_nothing_of_this_machine(spec: Profile) -> None:
    text = PATH.read_text(encoding="utf-8")
    assert not re.search(r"/(?:work|home|tmp|farm)/|seeds/", text)
    assert [d.file for d in spec.documents] == [MANUAL]
    # Another vendor's manual is never the source of an EV PLUS value.
    assert not re.search(r"\b00[0124]_[0-9a-f]{16}\.txt", text)


def test_the_choices_003_leaves_open_are_said(spec: Profile) -> None:
    """No thresholds, blink rates, rotation period or meter model in 003."""
    p = spec.protections
    for entry in (p.voltage, p.neutral, p.overcurrent, p.actuator, p.connector_temperature,
                  spec.temperature_derating, spec.rs485):
        assert entry is not None and "OUR CHOICE" in (entry.note or ""), entry
    for blink in spec.led.blink.values():
        assert "without a rate" in (blink.note or "")
    assert spec.display is not None and "OUR CHOICE" in (spec.display.note or "")
    assert "class" in (spec.ratings["meter_accuracy_pct"].note or "")


# --- variants, ratings, supply (003 §5, §6.7) -------------------------------------------
def test_four_variants_of_the_technical_data(spec: Profile) -> None:
    expected = {  # 003 §5: Charging Mode, Connector/Socket, Mains Voltage; §9 lock in Case B
        "7S": ("socket", True, True, 1, "EVPLUS7S"),
        "7C": ("tethered", False, False, 1, "EVPLUS7C"),
        "22S": ("socket", True, True, 3, "EVPLUS22S"),
        "22C": ("tethered", False, False, 3, "EVPLUS22C"),
    }
    assert list(spec.variants) == list(expected)
    for name, (connector, pp, lock, phases, model) in expected.items():
        v = spec.variant(name)
        assert (v.connector, v.pp_required, v.actuator_lock, v.phases,
                v.charge_point_model) == (connector, pp, lock, phases, model), name
        assert v.source and MANUAL in v.source and "§5" in v.source, name
    assert "not state" in (spec.variant("7S").note or "")  # the BootNotification strings


def test_ratings_of_the_technical_data(spec: Profile) -> None:
    r = spec.ratings
    assert (r["max_current_a"].value, r["min_current_a"].value) == (32, 6)  # §8.1.2 6-32 A
    assert r["nominal_voltage_v"].value == 230 and r["working_range_pct"].value == 15  # §5
    assert (r["working_voltage_min_v"].value, r["working_voltage_max_v"].value) == (
        pytest.approx(230 * 0.85), pytest.approx(230 * 1.15))
    assert (r["power_w"].value, r["power_1ph_w"].value) == (22000, 7400)  # §5 22 / 7.4 kW
    assert r["power_min_w"].value == 3500 and "disagrees" in (r["power_min_w"].note or "")
    assert (r["ambient_min_c"].value, r["ambient_max_c"].value) == (-25, 50)  # §5
    assert r["phases"].value == 3


def test_supply_systems_and_frequency(spec: Profile) -> None:
    supply = spec.supply
    assert supply is not None
    assert supply.frequencies_hz == (50, 60) and supply.self_adjusting  # §5 self-adjustable
    # §6.7: TN-S, TN-C, TN-C-S, TT for both; IT only single-phase products.
    assert list(supply.systems) == ["TN-S", "TN-C", "TN-C-S", "TT", "IT"]
    for system in ("TN-S", "TN-C", "TN-C-S", "TT"):
        assert supply.allows(system, 1) and supply.allows(system, 3), system
        assert supply.systems[system].between == "L-N"
    assert supply.allows("IT", 1) and not supply.allows("IT", 3)
    it = supply.systems["IT"]
    assert (it.max_v, it.between) == (240, "L-L")  # §6.7 phase to phase ≤ 240 VAC
    assert "3P+PE" in (it.note or "")  # §5's table says otherwise: recorded


# --- the front panel (003 §7.1.1, §7.1.3) -------------------------------------------------
def test_belt_table(spec: Profile) -> None:
    belt = spec.led
    assert belt.kind == "belt" and belt.name == "belt"
    # §7.1.1 LED Belt: (colour, blinking mode) per state, mapped to OCPP statuses.
    expected = {
        "Available": ("green", "slow"),  # Stand-By: green, blinking slowly
        "Preparing": ("blue", None),  # Charging mode setup: blue, no blinking
        "Charging": ("blue", "slow"),  # Charging mode: blue, blinking slowly
        "SuspendedEV": ("blue", "fast"),  # Pause: blue, fast blinking
        "SuspendedEVSE": ("blue", "fast"),
        "Faulted": ("red", None),  # Error mode: red
    }
    for status, (colour, blink) in expected.items():
        row = belt.rows[status]
        assert row.pattern(True) == row.pattern(False), status  # no online column in 003
        assert row.pattern(True)[0] == colour, status
        assert row.blinking(True) == (blink is not None), status
        assert row.blink == blink, status
    assert belt.powerup is not None and belt.powerup.pattern(True) == ("white", "white")
    assert "self-test" in belt.powerup.description  # White: power on self-test
    for status in ("Finishing", "Reserved", "Unavailable"):  # no belt state in 003
        assert "OUR CHOICE" in (belt.rows[status].note or ""), status
        assert belt.rows[status].source is None, status
    slow, fast = belt.blink["slow"], belt.blink["fast"]
    assert slow.period_s / fast.period_s >= 3  # "fast" well apart from "slowly"
    assert (belt.blink_of("Charging"), belt.blink_of("SuspendedEV")) == (slow, fast)
    assert belt.slowest_blink_s == slow.period_s


def test_four_indicator_tables(spec: Profile) -> None:
    indicators = {n: light for n, light in spec.lights.items() if light.kind == "indicator"}
    assert list(indicators) == ["wifi", "plug", "charging", "fault"]  # §7.1.3, AREA2
    # §7.1.3 WiFi: steady blue AP idle, blinking blue AP in use, steady green client not
    # connected, blinking green client connected, steady red damaged module.
    wifi = indicators["wifi"].rows
    assert [(r.pattern(True), r.blinking(True)) for r in wifi.values()] == [
        (("blue", "blue"), False), (("blue", "dark_grey"), True),
        (("green", "green"), False), (("green", "dark_grey"), True),
        (("red", "red"), False)]
    assert "Damaged" in wifi["ModuleDamaged"].description
    # Plug: steady white connected, off. Charging: steady white in progress, blinking
    # white suspended, off. Fault: steady red, off.
    expected = {"plug": [("white", "white"), ("dark_grey", "dark_grey")],
                "charging": [("white", "white"), ("white", "dark_grey"),
                             ("dark_grey", "dark_grey")],
                "fault": [("red", "red"), ("dark_grey", "dark_grey")]}
    for name, patterns in expected.items():
        rows = indicators[name].rows.values()
        assert [r.pattern(True) for r in rows] == patterns, name
        assert [r.pattern(False) for r in rows] == patterns, name
    assert list(indicators["charging"].rows) == ["Charging", "Suspended", "Idle"]
    for light in indicators.values():
        blinking = [s for s, r in light.rows.items() if r.blinking(True)]
        for status in blinking:  # 003 gives no rate: each blink has a recorded choice
            blink = light.blink_of(status)
            assert blink is not None and blink.note, (light.name, status)


# --- the character display (003 §7.1.2) ---------------------------------------------------
def test_display_rotation_formats(spec: Profile) -> None:
    display = spec.display
    assert display is not None
    # §7.1.2: ccc.0 V, cc.c A, cc.c Hz, cc.c kWH, ccc Min — in rotation.
    assert [(i.quantity, i.format, i.unit) for i in display.rotation.values()] == [
        ("voltage_v", "ccc.0", "V"), ("current_a", "cc.c", "A"),
        ("frequency_hz", "cc.c", "Hz"), ("energy_kwh", "cc.c", "kWh"),
        ("duration_min", "ccc", "Min")]
    # §7.1.1: the output current only during the charging process.
    assert display.rotation["current_a"].charging_only
    standby = [i.quantity for i in display.items(charging=False)]
    assert standby == ["voltage_v", "frequency_hz"] and len(display.items(True)) == 5


def test_display_renders_and_parses_the_formats(spec: Profile) -> None:
    assert spec.display is not None
    rotation = spec.display.rotation
    volts, amps, energy, minutes = (rotation[q] for q in (
        "voltage_v", "current_a", "energy_kwh", "duration_min"))
    assert volts.render(227.3) == "227.0"  # whole volts, a fixed ".0" (ccc.0)
    assert amps.render(16.04) == "16.0" and amps.render(5.27) == " 5.3"
    assert energy.render(1.119) == " 1.1" and energy.render(250.0) == "99.9"
    assert minutes.render(7) == "  7" and minutes.render(2000) == "999"
    for item, value in ((volts, 231.0), (amps, 31.9), (energy, 12.3), (minutes, 125)):
        assert item.parse(item.render(value)) == pytest.approx(value), item.quantity
    assert volts.parse("227.3") is None  # the last digit is always 0
    assert amps.parse("ERR OCP") is None and amps.parse("16.05") is None


def test_error_strings_of_the_manual(spec: Profile) -> None:
    shown = {f.display for f in spec.conditions.values()}
    assert shown == set(ERROR_STRINGS)  # every string of §7.1.2, nothing else
    assert spec.conditions.keys() <= FAULT_CONDITIONS
    samples = {  # display: (conditions, errorCode) — the row's meaning in §7.1.2
        "ERR OCP": (["overcurrent"], "OverCurrentFailure"),
        "ERR OVP": (["overvoltage"], "OverVoltage"),
        "ERR LVP": (["undervoltage"], "UnderVoltage"),
        "ERR MET": (["meter_missing"], "PowerMeterFailure"),
        "ERR IRD": (["leakage_dc"], "GroundFailure"),
        "ERR ELK": (["lock_failed", "unlock_failed"], "ConnectorLockFailure"),
        "ERR R12": (["relay_live_welded"], "PowerSwitchFailure"),
        "ERR MIS": (["phase_missing"], "UnderVoltage"),
        "ERR OCT": (["connector_overtemperature"], "HighTemperature"),
        "ERR FAN": (["fan_failed"], "InternalError"),
    }
    for text, (conditions, code) in samples.items():
        faults = spec.shown_as(text)
        assert [f.condition for f in faults] == conditions, text
        assert {f.ocpp_error_code for f in faults} == {code}, text
    assert spec.fault("can_bus_fault").display == "ERR CAN ADDR"
    # The Case B lock (§9) and the cable's PP exist on socket variants only.
    assert {c for c, f in spec.conditions.items() if f.socket_only} == {
        "lock_failed", "unlock_failed", "pp_missing"}
    for row in spec.faults.values():  # each row cites its §7.1.2 line, reasons its code
        assert row.display and row.source and "§7.1.2" in row.source and row.note
        assert ERROR_STRINGS[row.display] in row.source, row.condition
    assert spec.rtm_codes == {} and spec.evse_limits == {}  # no EV NET tables


def test_upgrade_strings(spec: Profile) -> None:
    upgrade = spec.upgrade
    assert upgrade is not None and spec.firmware_image is None  # web app only, §12
    # §7.1.2 and §12 step 8: 100 UP success, E01-E04 UP failures.
    assert {r.display: r.result for r in upgrade.results.values()} == {
        "100 UP": "installed", "E01 UP": "write_failed", "E02 UP": "checksum_mismatch",
        "E03 UP": "timeout", "E04 UP": "wrong_image"}
    assert [r.display for r in upgrade.results.values() if r.restarts] == ["100 UP"]
    assert (upgrade.file_type, upgrade.checksum) == (".bin", "MD5")  # §12 steps 4-7
    assert upgrade.no_data_timeout_s == 15  # E03 UP: no valid data within 15 s
    assert "captcha" in (upgrade.results["checksum_mismatch"].note or "")


# --- RFID, OCPP, protection ---------------------------------------------------------------
def test_rfid_rules(spec: Profile) -> None:
    rfid = spec.rfid
    assert rfid is not None
    assert rfid.card_types == ("CPU", "M1")  # §8.1.2 step 4
    assert rfid.max_cards == 3  # §8.1.2 step 11: at most three cards
    assert rfid.pairing_statuses == ("Available",)  # association only in stand-by
    assert rfid.stop_by_same_card  # §9: hold the card close again to stop
    assert (rfid.accepted_beeps, rfid.refused_beeps, rfid.beep_gap_s) == (1, 2, 0.5)  # §9
    assert "Preparing" in rfid.reader_lit_statuses  # corners lit once the EV is connected
    assert "Available" not in rfid.reader_lit_statuses


def test_ocpp_operation_list(spec: Profile) -> None:
    ocpp = spec.ocpp
    # §8.1.4, initiated by the central server, in the manual's order.
    assert ocpp.operations_csms_to_cp == (
        "RemoteStartTransaction", "RemoteStopTransaction", "GetConfiguration", "Reset",
        "ChangeAvailability", "ChangeConfiguration", "ClearCache", "ReserveNow",
        "CancelReservation", "ClearChargingProfile", "SetChargingProfile")
    # §8.1.4, initiated by the charge point.
    assert ocpp.operations_cp_to_csms == (
        "BootNotification", "StatusNotification", "Heartbeat", "Authorize",
        "StartTransaction", "StopTransaction", "MeterValues")
    for missing in ("UnlockConnector", "UpdateFirmware", "TriggerMessage", "DataTransfer"):
        assert missing not in ocpp.operations_csms_to_cp
    assert ocpp.vendor_ids == {}
    assert spec.key("SupportedFeatureProfiles").default.split(",") == list(
        ocpp.feature_profiles)
    for key in spec.config_keys.values():  # 003 lists no key: every one says so
        assert "not in the manual" in (key.note or "").lower(), key.name
        assert key.check(key.default) is None, key.name
    measured = {m.measurand for m in spec.meter_measurands}
    for entry in spec.key("MeterValuesSampledData").default.split(","):
        assert entry.split(".L")[0] in measured, entry


def test_protection_trips_never_reclose_by_themselves(spec: Profile) -> None:
    reclosing = spec.protections.reclosing
    assert reclosing is not None
    assert not reclosing.automatic and not reclosing.remote  # §5, after the table
    assert reclosing.source and "§5" in reclosing.source
    assert {spec.fault(c).display for c in reclosing.conditions} >= PROTECTION_STRINGS
    for condition in reclosing.conditions:
        fault = spec.fault(condition)
        assert not fault.auto_recovery and "power_cycle" in fault.recovery, condition
    # Re-plugging must not re-energise a leak, a welded relay or a hot socket.
    for condition in ("leakage_dc", "relay_live_welded", "connector_overtemperature"):
        assert spec.fault(condition).recovery == ("power_cycle",), condition


def test_thresholds_from_the_working_range(spec: Profile) -> None:
    v = spec.protections.voltage
    assert v.limits(0) == (195.5, 264.5)  # the ±15 % of §5, no setting widens it
    with pytest.raises(ValueError, match="fixed"):
        v.limits(5)
    rcd = spec.protections.rcd
    assert (v.offset_key, rcd.type_key, rcd.dc_ma, rcd.ac_ma) == ("", "", 6, 30)  # §6.4
    assert spec.temperature_derating.rows == ()  # 003 gives no derating
    assert spec.derated_current(40) == 32
    assert spec.derated_current(spec.temperature_derating.fault_above_c + 1) is None
    assert spec.protections.connector_temperature is not None
    oc = spec.protections.overcurrent
    assert oc.hw_trip_factor * spec.ratings["max_current_a"].value < 40  # §6.3: 40 A MCB


def test_ev_net_profiles_have_none_of_the_new_tables() -> None:
    for other in (load_profile("evnet-7kw"), load_profile("evnet-compact")):
        assert (other.display, other.rfid, other.supply, other.upgrade,
                other.protections.reclosing, other.ocpp.operations_cp_to_csms) == (
            None, None, None, None, None, ()), other.model


# --- mistakes in the new tables -------------------------------------------------------------
Mutate = Callable[[dict[str, Any]], None]


@pytest.fixture
def bad(tmp_path: Path) -> Callable[[Mutate], str]:
    """Write evplus.yaml changed by ``mutate``; return the loader's one-line message."""

    def _bad(mutate: Mutate) -> str:
        data = load_yaml(PATH)
        mutate(data)
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
        with pytest.raises(RigFileError) as info:
            load_profile(str(path))
        message = str(info.value)
        assert message.startswith(f"{path}: ") and "\n" not in message, message
        return message

    return _bad


def test_mistakes_in_the_new_tables(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["lights"]["belt"]["rows"]["Charging"].pop("blink"))
    assert "lights.belt.rows.Charging.blink: expected the blink class of this blinking " \
           "row, one of slow, fast" in message
    message = bad(lambda d: d["display"]["rotation"]["voltage_v"].update(format="VVV.0"))
    assert "display.rotation.voltage_v.format: expected characters 'c'" in message
    message = bad(lambda d: d["display"]["rotation"].update(
        volts=d["display"]["rotation"].pop("voltage_v")))
    assert "display.rotation.volts.quantity: expected one of " in message
    message = bad(lambda d: d["faults"]["overvoltage"].update(recovery=["auto"]))
    assert "protections.reclosing.conditions: expected no automatic recovery" in message
    message = bad(lambda d: d["protections"]["reclosing"]["conditions"].append(
        "tamper_cover"))
    assert "expected conditions of this profile's faults ('tamper_cover'" in message
    message = bad(lambda d: d["rfid"].update(pairing_statuses=["Standby"]))
    assert "rfid.pairing_statuses: expected one of Available" in message
    assert "rfid.max_cards: expected a number of cards >= 1" in bad(
        lambda d: d["rfid"].update(max_cards=0))
    message = bad(lambda d: d["supply"]["systems"]["IT"].update(phases=[2]))
    assert "supply.systems.IT.phases: expected wirings among 1 and 3" in message

    def one_phase_only(d: dict[str, Any]) -> None:
        for system in d["supply"]["systems"].values():
            system["phases"] = [1]

    assert "variants.22S.phases: expected a wiring some supply system allows" in bad(
        one_phase_only)
    message = bad(lambda d: d["upgrade"]["results"]["timeout"].update(display="100 UP"))
    assert "upgrade.results: expected a display string per result" in message
    assert "ocpp.operations_cp_to_csms: expected one of " in bad(
        lambda d: d["ocpp"]["operations_cp_to_csms"].append("Reset"))
    assert "protections.voltage.offset_key: expected the configuration key" in bad(
        lambda d: d["protections"]["voltage"].update(offset_max_v=23))
    message = bad(lambda d: d["lights"]["belt"]["rows"]["Faulted"].update(
        online=["red", "pink"]))
    assert "lights.belt.rows.Faulted.online: expected one of " in message
