"""The shipped charger profile (rig/profiles/evnet-7kw.yaml): it loads, agrees with the
manuals on facts a reader can check, and a lookup of an unknown thing names what is known.
Mistakes in a profile, each giving one line naming file and key path, are in
test_profile_mistakes.py."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from evrig.rig.errors import RigFileError
from evrig.rig.profile import (
    PROFILES_DIR,
    ConfigKey,
    Profile,
    available_profiles,
    load_profile,
)
from evrig.rig.profile_entries import _Entry

SHIPPED = PROFILES_DIR / "evnet-7kw.yaml"


@pytest.fixture(scope="module", name="spec")
def spec_fixture() -> Profile:
    """The shipped profile (test_profile_mistakes imports this fixture too)."""
    return load_profile("evnet-7kw")


def _entries(obj: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every dataclass instance inside ``obj`` with its key path."""
    found: list[tuple[str, Any]] = []
    if dataclasses.is_dataclass(obj):
        found.append((path, obj))
        for f in dataclasses.fields(obj):
            found += _entries(getattr(obj, f.name), f"{path}.{f.name}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            found += _entries(value, f"{path}[{key!r}]")
    elif isinstance(obj, tuple):
        for i, value in enumerate(obj):
            found += _entries(value, f"{path}[{i}]")
    return found


# --- the shipped profile ---------------------------------------------------------------
def test_shipped_profile_loads_by_name_and_by_path(spec: Profile) -> None:
    assert "evnet-7kw" in available_profiles()
    assert load_profile(str(SHIPPED)).rtm_codes == spec.rtm_codes
    assert spec.file == str(SHIPPED)


def test_every_entry_has_a_source_or_a_note(spec: Profile) -> None:
    entries = [(p, e) for p, e in _entries(spec) if isinstance(e, _Entry)]
    assert len(entries) > 100
    missing = [p for p, e in entries if not (e.source or e.note)]
    assert missing == []


def test_profile_cites_documents_by_file_name_never_by_machine_path() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert not re.search(r"/(?:work|home|tmp|farm)/|seeds/", text)


def test_variants_socket_and_tethered(spec: Profile) -> None:
    s, t2 = spec.variant("S"), spec.variant("T2")
    assert (s.connector, s.pp_required, s.actuator_lock) == ("socket", True, True)
    assert (t2.connector, t2.pp_required, t2.actuator_lock) == ("tethered", False, False)
    assert s.charge_point_model == "EVNET-7KW-S-1PH"
    assert t2.charge_point_model == "EVNET-7KW-T2-1PH"
    assert s.note and "vendor" in s.note.lower()


def test_ratings_from_the_technical_specification(spec: Profile) -> None:
    r = spec.ratings
    assert (r["max_current_a"].value, r["max_current_a"].unit) == (32, "A")
    assert r["nominal_voltage_v"].value == 230 and r["phases"].value == 1
    assert r["power_w"].value == 7360 and r["working_range_pct"].value == 20


def test_rtm_codes_match_vendorid2_of_the_datasheet(spec: Profile) -> None:
    expected = [0x0001, 0x0002, 0x0004, 0x0008, 0x0010, 0x0020, 0x0040, 0x0060, 0x0080,
                0x0100, 0x0200, 0x0400, 0x0800, 0x1000, 0x2000, 0x4000, 0x8000, 0x10000,
                0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000]
    assert list(spec.rtm_codes) == expected
    overcurrent = spec.rtm(0x0004)
    assert overcurrent.name == "EVSE_FAULT_OVERCURRENT"
    assert overcurrent.ocpp_error_code == "OverCurrentFailure"
    assert set(overcurrent.recovery) == {"power_cycle", "unplug", "web_clear"}
    assert spec.rtm("0x0800").name == "EVSE_FAULT_TEMPERATURE"
    assert spec.rtm("EVSE_FAULT_RCD_DC").sets_also == (0x0001,)
    assert "unplug" in spec.rtm("EVSE_FAULT_DIODE_UNPRESENT").recovery
    assert spec.rtm(0x0800).recovery == ("power_cycle", "web_clear")
    for code in (0x1000, 0x2000):
        assert spec.rtm(code).auto_recovery and 0x4000 in spec.rtm(code).sets_also
    assert not spec.rtm(0x0004).auto_recovery
    assert [c for c, r in spec.rtm_codes.items() if r.socket_only] == [0x0020, 0x0040, 0x0060]
    assert (spec.rtm(0x0001).hex, spec.rtm(0x0800).hex) == ("0x0001", "0x0800")
    assert spec.rtm(0x100000).hex == "0x100000"
    # The documented disagreements are recorded, not silently resolved.
    assert "communication" in (spec.rtm(0x0100).note or "")
    assert "0x0020|0x0040" in (spec.rtm(0x0060).note or "")
    assert all(r.note for r in spec.rtm_codes.values())  # every OCPP mapping is reasoned


def test_limit_and_reset_reasons(spec: Profile) -> None:
    assert [r.name for r in spec.evse_limits.values()] == [
        "DeviceCurrentLimit", "ProximityPilotLimit", "DeviceTemperatureLimit",
        "ExtTransformerCurrentLimit", "OCPPGridLimit", "FuseLimit"]
    assert spec.limit_reason("OCPPGridLimit").code == 4
    assert spec.limit_reason(1).name == "ProximityPilotLimit"
    assert list(spec.reset_reasons) == list(range(11))
    assert spec.reset_reasons[3].name == "CC_RST_SW"


def test_led_patterns_from_the_appendix_i_table(spec: Profile) -> None:
    rows = spec.led.rows
    assert list(rows) == ["Available", "Preparing", "Charging", "SuspendedEV",
                          "SuspendedEVSE", "Finishing", "Unavailable", "Faulted"]
    assert rows["Available"].pattern(True) == ("blue", "blue")
    assert not rows["Available"].blinking(True)
    assert rows["Available"].pattern(False) == ("yellow", "yellow")
    assert rows["Preparing"].pattern(True) == ("blue", "dark_grey")
    assert rows["Preparing"].blinking(True)
    assert not rows["Charging"].blinking(True) and rows["Charging"].blinking(False)
    assert rows["Faulted"].pattern(True) == ("red", "red")
    assert rows["Faulted"].pattern(False) == ("red", "dark_grey")
    assert spec.led.powerup.pattern(False) == ("yellow", "yellow")
    assert "Reserved" not in rows and "Reserved" in (spec.led.note or "")


def test_temperature_derating_reads_the_table_as_temperatures_at_most(spec: Profile) -> None:
    assert spec.derated_current(75) == 24
    assert spec.derated_current(72) == 31.8
    assert spec.derated_current(72.5) == 29.4  # between rows: the next higher row
    assert spec.derated_current(79) == 6
    assert spec.derated_current(79.1) is None  # fault above 79 °C
    assert spec.derated_current(25) == 32  # below the table: rated current
    assert spec.temperature_derating.fault_above_c == 79


def test_protections_and_pp_bands(spec: Profile) -> None:
    v = spec.protections.voltage
    assert v.limits(0) == (207, 253) and v.limits(23) == (184, 276)
    with pytest.raises(ValueError):
        v.limits(24)
    assert (v.hw_undervoltage_v, v.hw_overvoltage_v, v.hw_tolerance_v) == (115, 300, 10)
    oc = spec.protections.overcurrent
    assert (oc.margin_pct, oc.delay_s, oc.hw_trip_factor) == (10, 6, 1.2)
    assert spec.protections.actuator.attempts == 5
    assert spec.protections.neutral.n_pe_max_v == 70
    assert (spec.protections.rcd.ac_ma, spec.protections.rcd.dc_ma) == (30, 6)
    assert [spec.pp_amps(o) for o in (1500, 680, 220, 100)] == [13, 20, 32, 63]
    assert spec.pp_amps(50) is None and spec.pp_amps(1000) is None
    assert spec.timing.contactor_open_max_s == 0.1 and spec.timing.contactor_close_max_s == 3


def test_config_keys_decisions(spec: Profile) -> None:
    timeout = spec.key("ConnectionTimeOut")
    assert timeout.default == "90" and "60" in (timeout.note or "")
    light = spec.key("LightIntensity")
    assert light.default == "100" and (light.min, light.max) == (0, 100)
    assert "20" in (light.note or "")
    assert spec.key("c_rcdprotectiontype").allowed == (0, 2)  # case-insensitive lookup
    for name in ("NumberOfConnectors", "GetConfigurationMaxKeys", "ChargeProfileMaxStackLevel",
                 "ChargingScheduleMaxPeriods", "MaxChargingProfilesInstalled",
                 "ChargingScheduleAllowedChargingRateUnit", "LocalAuthListMaxLength",
                 "SendLocalListMaxLength", "ConnectorSwitch3to1PhaseSupported"):
        assert spec.key(name).readonly, name
    customs = {n for n, k in spec.config_keys.items() if k.custom}
    assert customs == {n for n in spec.config_keys if n.lower().startswith("c_")}
    assert "C_OCPCNetLog" in customs and spec.key("c_MainOfflineTimeout").default == ""
    for name in ("ResetRetries", "TransactionMessageAttempts", "SupportedFeatureProfiles",
                 "MeterValuesAlignedData", "StopTxnSampledData", "ConnectorPhaseRotation"):
        assert "not in the manuals" in (spec.key(name).note or ""), name
    assert spec.key("SupportedFeatureProfiles").default.split(",") == list(
        spec.ocpp.feature_profiles)
    assert int(spec.key("SendLocalListMaxLength").default) <= int(
        spec.key("LocalAuthListMaxLength").default)
    with pytest.raises(KeyError, match="NoSuchKey"):
        spec.key("NoSuchKey")


def test_config_key_check_by_type(spec: Profile) -> None:
    assert spec.key("AllowOfflineTxForUnknownId").check("TRUE") is None
    assert spec.key("AllowOfflineTxForUnknownId").check("yes") is not None
    assert spec.key("HeartbeatInterval").check("300") is None
    assert spec.key("HeartbeatInterval").check("-1") is not None
    assert spec.key("HeartbeatInterval").check("ten") is not None
    assert spec.key("c_VoltageProtectionOffset").check("23") is None
    assert spec.key("c_VoltageProtectionOffset").check("24") is not None
    assert spec.key("c_RCDProtectionType").check("2") is None
    assert spec.key("c_RCDProtectionType").check("1") is not None
    assert spec.key("MeterValuesSampledData").check("Voltage,Current.Import") is None
    assert spec.key("MeterValuesSampledData").check("Voltage,,Power") is not None
    assert spec.key("ChargingScheduleAllowedChargingRateUnit").check("A,kW") is not None
    assert spec.key("c_APN").check("anything at all") is None
    for key in spec.config_keys.values():
        assert isinstance(key, ConfigKey) and key.check(key.default) is None, key.name


def test_meter_measurands_are_the_sampled_data_default(spec: Profile) -> None:
    listed = [(m.measurand, m.phase, m.unit) for m in spec.meter_measurands]
    assert listed == [("Voltage", "L1-N", "V"), ("Voltage", "N", "V"),
                      ("Temperature", None, "Celsius"), ("Current.Offered", "L1", "A"),
                      ("Current.Import", "L1", "A"), ("Power.Active.Import", "L1", "W"),
                      ("Energy.Active.Import.Register", "L1", "Wh")]
    default = spec.key("MeterValuesSampledData").default.split(",")
    assert default == [f"{m}.{p}" if p else m for m, p, _ in listed]


def test_ocpp_support_and_web_client(spec: Profile) -> None:
    assert spec.ocpp.version == "1.6"
    assert set(spec.ocpp.charging_profile_purposes) == {
        "ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"}
    assert len(spec.ocpp.operations_csms_to_cp) == 19
    assert "RTM Err Code" in spec.web_client["rtm_information"].fields
    status = spec.web_client["device_status"].fields
    assert {"Charger Limit", "EVSE Status", "OCPP Status"} <= set(status)


def test_lookups_of_unknown_things_name_what_is_known(spec: Profile) -> None:
    with pytest.raises(KeyError) as info:
        spec.variant("X")
    assert isinstance(info.value, RigFileError)
    assert str(info.value) == f"{SHIPPED}: variants: unknown variant 'X'; known: S, T2"
    with pytest.raises(KeyError, match="0x0001"):
        spec.rtm(0x3)
    with pytest.raises(KeyError, match="DeviceCurrentLimit"):
        spec.limit_reason("Nope")


def test_unknown_profile_name_lists_the_known_ones() -> None:
    with pytest.raises(RigFileError) as info:
        load_profile("no-such-charger")
    assert str(info.value) == ("no-such-charger: profile: unknown profile 'no-such-charger'; "
                               f"known: {', '.join(available_profiles())}")
