"""The EV NET COMPACT profile (rig/profiles/evnet-compact.yaml) against its manual,
004_715fd9f9f45b43e7.txt: the expected values below are read from 004 (section named
at each), not from the YAML, so a wrong or mistyped entry fails here. This module:
loading and citations, variants and ratings, the light bar, VendorID1-3 (RTM codes,
limit and reset reasons), derating, protections, charge times. The configuration keys,
OCPP support, web client and RS-485 are in test_profile_compact_keys.py."""

from __future__ import annotations

import re

import pytest

from evrig.rig.profile import PROFILES_DIR, Profile, available_profiles, load_profile
from evrig.rig.profile_entries import _Entry
from evrig.rig.profile_vocabulary import RESET_CAUSES
from tests.test_profile import _entries

PATH = PROFILES_DIR / "evnet-compact.yaml"
MANUAL = "004_715fd9f9f45b43e7.txt"

# 004 §6 VendorID2, every code the table lists, with 004's Description cell.
RTM_004 = {
    0x0001: ("EVSE_FAULT_RCD", "RCD protection error"),
    0x0002: ("EVSE_FAULT_NEUTRAL", "Neutral line error"),
    0x0004: ("EVSE_FAULT_OVERCURRENT", "Overcurrent error"),
    0x0008: ("EVSE_FAULT_RCD_DC", "RCD DC protection error"),
    0x0010: ("EVSE_FAULTS_POWER_RELAY", "Output RELAYS state error"),
    0x0020: ("EVSE_FAULT_ACT_LOCK_FAULT", "Actuator lock malfunction"),
    0x0040: ("EVSE_FAULT_ACT_UNLOCK_FAULT", "Actuator unlock malfunction"),
    0x0080: ("EVSE_FAULT_CP_STATE", "Control pilot error"),
    0x0100: ("EVSE_FAULT_DIODE_UNPRESENT", "EV diode error"),
    0x0200: ("EVSE_FAULT_PP_UNPRESENT", "Proximity pilot not detected"),
    0x0400: ("EVSE_FAULT_MISSING_HOST", "Internal host error"),
    0x0800: ("EVSE_FAULT_TEMPERATURE", "Overheating error"),
    0x1000: ("EVSE_FAULT_OVERVOLTAGE", "Overvoltage error"),
    0x2000: ("EVSE_FAULT_UNDERVOLTAGE", "Undervoltage error"),
    0x4000: ("EVSE_FAULTS_AUTO_RECOVERY", "Auto Recovery"),
    0x8000: ("EVSE_FAULT_CAL", "EVSE calibration data error"),
    0x10000: ("EVSE_FAULT_VN_OUT_OPEN", "neutral contact has failed to open"),
    0x20000: ("EVSE_FAULT_VN_OUT_CLOSE", "neutral contact has failed to close"),
    0x40000: ("EVSE_FAULT_VL_OUT_OPEN", "line contact has failed to open"),
    0x80000: ("EVSE_FAULT_VL_OUT_CLOSE", "line contact has failed to close"),
    0x100000: ("EVSE_TAMPER_EVENT", "Device open cover detected by tamper switch"),
    0x200000: ("EVSE_FAULT_TAMPER2_EVENT", "Service cover opening detected"),
    # 004 prints MISING; the profile keeps the spelled-out identifier (its note says so).
    0x400000: ("EVSE_FAULT_MISSING_EXT_EMETER", "no connection with the external meter"),
}

# 004 §6 Appendix I: which of the four cells (online 1, online 2, offline 1, offline 2)
# print OFF; every other cell was a colour swatch (lost in the text conversion).
APPENDIX_I_OFF = {
    "Available": (False, False, False, False),
    "Preparing": (False, True, False, True),
    "Charging": (False, False, False, False),
    "SuspendedEV": (False, True, False, True),
    "SuspendedEVSE": (False, False, False, False),
    "Finishing": (False, True, False, True),
    "Reserved": (False, True, False, True),
    "Unavailable": (True, True, True, True),
    "Faulted": (False, False, False, True),
}


@pytest.fixture(scope="module", name="spec")
def spec_fixture() -> Profile:
    """The profile under test (test_profile_compact_keys imports this fixture too)."""
    return load_profile("evnet-compact")


@pytest.fixture(scope="module", name="sister")
def sister_fixture() -> Profile:
    """The sister product's profile (test_profile_compact_keys imports this fixture too)."""
    return load_profile("evnet-7kw")


# --- loading and citations -----------------------------------------------------------
def test_loads_by_name_and_by_path(spec: Profile) -> None:
    assert "evnet-compact" in available_profiles()
    assert spec.file == str(PATH)
    assert load_profile(str(PATH)).rtm_codes == spec.rtm_codes


def test_every_entry_has_a_source_or_a_note(spec: Profile) -> None:
    entries = [(p, e) for p, e in _entries(spec) if isinstance(e, _Entry)]
    assert len(entries) > 150
    assert [p for p, e in entries if not (e.source or e.note)] == []


def test_cites_004_first_by_file_name_and_the_sisters_as_such(spec: Profile) -> None:
    text = PATH.read_text(encoding="utf-8")
    assert not re.search(r"/(?:work|home|tmp|farm)/|seeds/", text)
    files = [d.file for d in spec.documents]
    assert files[0] == MANUAL
    assert set(files[1:]) == {"000_68a6855d5e66415e.txt", "001_0a574bac0550723d.txt",
                              "002_b4ee641c92d9a31e.txt"}
    for doc in spec.documents[1:]:
        assert "sister product" in doc.title and "004 is silent" in doc.title
    # A sister document cited in an entry's source is explained in that entry's note.
    for path, entry in _entries(spec):
        if isinstance(entry, _Entry) and entry.source and re.search(
                r"\b00[012]_", entry.source) and MANUAL not in entry.source:
            assert entry.note and "004" in entry.note, path


# --- variants and ratings (004 Technical specification) --------------------------------
def test_four_variants_by_product_and_wiring(spec: Profile) -> None:
    expected = {  # name: (connector, pp_required, actuator_lock, phases, model)
        "3SLC-1PH": ("socket", True, True, 1, "3SLC"),
        "3SLC-3PH": ("socket", True, True, 3, "3SLC"),
        "3TLC-1PH": ("tethered", False, False, 1, "3TLC"),
        "3TLC-3PH": ("tethered", False, False, 3, "3TLC"),
    }
    assert list(spec.variants) == list(expected)
    for name, (connector, pp, lock, phases, model) in expected.items():
        v = spec.variant(name)
        assert (v.connector, v.pp_required, v.actuator_lock, v.phases,
                v.charge_point_model, v.charge_point_vendor) == (
            connector, pp, lock, phases, model, "EV NET"), name
    note = spec.variant("3SLC-1PH").note or ""
    assert "Phases Number" in note and "not state" in note  # the model string is a choice


def test_ratings_from_the_technical_specification(spec: Profile, sister: Profile) -> None:
    r = spec.ratings
    assert set(sister.ratings) <= set(r)  # code looks ratings up by the EV NET names
    assert (r["max_current_a"].value, r["max_current_a"].unit) == (32, "A")
    assert r["min_current_a"].value == 6  # Power Level Control 6-32 A
    assert r["nominal_voltage_v"].value == 230 and r["frequency_hz"].value == 50
    assert r["phases"].value == 3
    assert r["power_w"].value == 22000 and r["power_1ph_w"].value == 7400
    assert "7.6" in (r["power_1ph_w"].note or "")  # the overview's figure, recorded
    assert r["meter_accuracy_pct"].value == 2
    assert (r["ambient_min_c"].value, r["ambient_max_c"].value) == (-25, 55)
    assert (r["standby_power_w"].value, r["standby_apparent_power_va"].value) == (5.2, 8)
    assert "004" in (r["working_range_pct"].note or "")  # 004 has none: said so


# --- the light bar (004 §6 Appendix I, §4, §4.3.2) -------------------------------------
def test_light_rows_keep_every_off_cell_of_appendix_i(spec: Profile) -> None:
    rows = spec.led.rows
    assert spec.led.kind == "bar"
    assert list(rows) == list(APPENDIX_I_OFF)
    for status, off in APPENDIX_I_OFF.items():
        cells = (*rows[status].pattern(True), *rows[status].pattern(False))
        assert tuple(c == "dark_grey" for c in cells) == off, status
        assert rows[status].note, status  # each row says where its colours come from


def test_light_colours_that_survive_in_004(spec: Profile) -> None:
    rows = spec.led.rows
    assert rows["Available"].pattern(True) == ("green", "green")  # §4 constant green
    assert spec.led.powerup is not None
    assert spec.led.powerup.pattern(False) == ("yellow", "yellow")  # §4 constant yellow
    assert rows["Faulted"].pattern(True) == ("red", "red")  # §4.3.2 red / blinking red
    assert rows["Faulted"].pattern(False) == ("red", "dark_grey")
    assert not rows["Unavailable"].blinking(True)


def test_reserved_is_a_chosen_colour_no_other_row_shows(spec: Profile) -> None:
    rows = spec.led.rows
    reserved = rows["Reserved"]
    assert reserved.blinking(True) and reserved.blinking(False)
    assert "choice" in (reserved.note or "").lower()
    others = {row.pattern(on) for s, row in rows.items() if s != "Reserved"
              for on in (True, False)}
    assert reserved.pattern(True) not in others and reserved.pattern(False) not in others
    assert spec.led.blink_of("Reserved") is not None


# --- VendorID2 (004 §6) -----------------------------------------------------------------
def test_rtm_codes_are_exactly_those_004_lists(spec: Profile) -> None:
    assert list(spec.rtm_codes) == sorted(RTM_004)
    assert 0x0060 not in spec.rtm_codes
    for code, (name, words) in RTM_004.items():
        rtm = spec.rtm(code)
        assert rtm.name == name, hex(code)
        assert words.lower() in rtm.description.lower(), hex(code)
        assert rtm.source and MANUAL in rtm.source, hex(code)
        assert rtm.note, hex(code)  # every OCPP errorCode is reasoned
    assert "MISING" in (spec.rtm(0x400000).note or "")


def test_rtm_conditions_as_the_sister_firmware(spec: Profile, sister: Profile) -> None:
    for code, rtm in spec.rtm_codes.items():
        assert rtm.condition == sister.rtm(code).condition, hex(code)


def test_rtm_recovery_as_004_states_it(spec: Profile) -> None:
    # 0x0004: "cleared by power cycling the system, by unplugging … or via the web client"
    assert set(spec.rtm(0x0004).recovery) == {"power_cycle", "unplug", "web_clear"}
    # 0x0010: "cleared by system power cycle, by the charger's web client"
    assert set(spec.rtm(0x0010).recovery) == {"power_cycle", "web_clear"}
    # 0x0800: "cleared when the charging station is power cycled or through the web client"
    assert set(spec.rtm(0x0800).recovery) == {"power_cycle", "web_clear"}
    assert "unplug" in spec.rtm(0x0100).recovery  # removing the faulty device
    assert spec.rtm(0x8000).recovery == ()  # only a technician reloading calibration data
    for code in (0x1000, 0x2000):  # 0x4000: recovers once the voltage is back
        assert spec.rtm(code).auto_recovery and 0x4000 in spec.rtm(code).sets_also
    assert spec.rtm(0x0008).sets_also == (0x0001,)  # "0x0001 is also sent!"
    assert spec.rtm(0x100000).recovery == ("power_cycle",)  # "cleared at power cycle"
    assert set(spec.rtm(0x200000).recovery) == {"power_cycle", "web_clear"}  # §4.5
    assert [c for c, r in spec.rtm_codes.items() if r.socket_only] == [0x0020, 0x0040]


def test_only_the_terminal_panel_tamper_is_a_soft_fault(spec: Profile) -> None:
    soft = [c for c, r in spec.rtm_codes.items() if not r.stops_charging]
    assert soft == [0x200000]
    assert spec.fault("tamper_panel").stops_charging is False
    assert spec.fault("tamper_cover").stops_charging is True
    assert "every occurrence" in (spec.rtm(0x200000).note or "").lower()


def test_faults_004_names_without_a_code(spec: Profile) -> None:
    mismatch = spec.fault("phase_config_mismatch")
    assert mismatch.rtm is None and mismatch.stops_charging
    assert (mismatch.ocpp_error_code, mismatch.recovery) == ("OtherError", ("auto",))
    ct = spec.fault("ct_missing")
    assert ct.rtm is None and ct.recovery == ("auto",) and ct.stops_charging
    assert set(spec.faults) == {"phase_config_mismatch", "ct_missing"}
    for text in (spec.faults["phase_config_mismatch"].note,
                 spec.rtm(0x2000).note):
        assert text and "Phases Number 3 on a one-phase wiring" in text
    assert spec.fault_code("undervoltage") == 0x2000


# --- VendorID1, VendorID3, derating, protections ---------------------------------------
def test_limit_and_reset_reasons(spec: Profile) -> None:
    assert [r.name for r in spec.evse_limits.values()] == [
        "DeviceCurrentLimit", "ProximityPilotLimit", "DeviceTemperatureLimit",
        "ExtTransformerCurrentLimit", "OCPPGridLimit", "FuseLimit"]
    assert [r.name for r in spec.reset_reasons.values()] == [
        "CC_RST_UNKNOWN", "CC_RST_POWERON", "CC_RST_EXT", "CC_RST_SW", "CC_RST_PANIC",
        "CC_RST_INT_WDT", "CC_RST_TASK_WDT", "CC_RST_WDT", "CC_RST_DEEPSLEEP",
        "CC_RST_BROWNOUT", "CC_RST_SDIO"]
    assert spec.reset_reason_after("ocpp_soft_reset") == 3  # CC_RST_SW: OCPP Soft Reset
    assert spec.reset_reason_after("firmware_update") == 3
    assert spec.reset_reason_after("power_on") == 1
    assert {spec.reset_reason_after(c) for c in RESET_CAUSES} <= set(range(11))


def test_temperature_and_fuse_derating(spec: Profile) -> None:
    table = {72: 31.8, 73: 29.4, 74: 26.8, 75: 24, 76: 20.8, 77: 17, 78: 12, 79: 6}
    assert {r.max_temp_c: r.limit_a for r in spec.temperature_derating.rows} == table
    assert spec.derated_current(79) == 6 and spec.derated_current(79.5) is None
    assert spec.derated_current(40) == 32
    assert spec.fuse_derating is not None
    assert {r.circuit_a: r.limit_a for r in spec.fuse_derating.rows} == {
        40: 32, 32: 25, 25: 20, 20: 16, 16: 13}  # §1.4 Derating guideline
    assert spec.fuse_derating.limit(40) is None and spec.fuse_derating.limit(25) == 20


def test_protections_from_the_technical_specification(spec: Profile) -> None:
    p = spec.protections
    assert p.voltage.limits(0) == (207, 253) and p.voltage.limits(23) == (184, 276)
    with pytest.raises(ValueError):
        p.voltage.limits(24)
    assert (p.voltage.hw_undervoltage_v, p.voltage.hw_overvoltage_v,
            p.voltage.hw_tolerance_v) == (115, 300, 10)
    assert p.neutral.n_pe_max_v == 70
    assert (p.overcurrent.margin_pct, p.overcurrent.delay_s,
            p.overcurrent.hw_trip_factor) == (10, 6, 1.2)
    assert (p.rcd.ac_ma, p.rcd.dc_ma, p.rcd.type_key) == (30, 6, "c_RCDProtectionType")
    assert p.actuator.attempts == 5 and "004 is silent" in (p.actuator.note or "")


def test_charge_times_and_offline_mode(spec: Profile) -> None:
    ct = spec.charge_times
    assert ct is not None
    assert ct.weekdays == (0, 1, 2, 3, 4)  # "valid for week days"
    assert ct.period_keys == ("c_ChargeOffPeriod1", "c_ChargeOffPeriod2")
    assert ct.max_delay_key == "c_MaxStartDelay"
    assert spec.offline_mode is not None and spec.offline_mode.plug_and_charge  # ☒ Enable
