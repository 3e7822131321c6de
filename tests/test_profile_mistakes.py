"""Mistakes in a charger profile: the shipped profile (evnet-7kw) changed one entry at a
time, and every kind of mistake (YAML syntax, a key given twice, unknown or missing keys,
wrong types, words outside a vocabulary, duplicate codes, an entry without a source or a
note, reset causes and fault conditions not mapped once) gives one line naming the file
and the key path. The shipped profile itself is checked in test_profile.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from evrig.rig.errors import RigFileError
from evrig.rig.profile import Profile, ProfileKeyError, load_profile
from evrig.rig.typed_yaml import load_yaml
from tests.test_profile import SHIPPED, spec_fixture  # noqa: F401 - the fixture `spec`

Mutate = Callable[[dict[str, Any]], None]


# --- mistakes in a profile ---------------------------------------------------------------
@pytest.fixture
def bad(tmp_path: Path) -> Callable[[Mutate], str]:
    """Write the shipped profile changed by ``mutate`` and return the loader's message."""

    def _bad(mutate: Mutate) -> str:
        data = load_yaml(SHIPPED)
        mutate(data)
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return _error_of(path)

    return _bad


def _error_of(path: Path) -> str:
    with pytest.raises(RigFileError) as info:
        load_profile(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: "), message  # names the file first
    assert "\n" not in message and info.value.__cause__ is None
    return message


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("model: x\nname: [unclosed\nled: 1\n", encoding="utf-8")
    message = _error_of(path)
    assert "line " in message and "YAML syntax error" in message


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    text = SHIPPED.read_text(encoding="utf-8")
    path.write_text(text.replace("config_keys:\n", "config_keys:\n  HeartbeatInterval: {}\n", 1),
                    encoding="utf-8")
    assert "key 'HeartbeatInterval' is given twice (first on line" in _error_of(path)


def test_unknown_key(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["rtm_codes"][3].update(colour="red"))
    assert "rtm_codes[3].colour: unknown key" in message


def test_missing_key(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["config_keys"]["HeartbeatInterval"].pop("type"))
    assert "config_keys.HeartbeatInterval.type: missing required key 'type'" in message
    assert "timing: missing required key 'timing'" in bad(lambda d: d.pop("timing"))


def test_wrong_type(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["config_keys"]["HeartbeatInterval"].update(default=60))
    assert "config_keys.HeartbeatInterval.default: expected a string (quote it)" in message
    message = bad(lambda d: d["protections"]["actuator"].update(attempts="five"))
    assert "protections.actuator.attempts: expected an integer" in message
    message = bad(lambda d: d["lights"]["ring"]["rows"]["Available"].update(online=["blue"]))
    assert "lights.ring.rows.Available.online: expected a list of 2 items" in message


def test_several_lights_and_optional_family_tables(bad: Callable[[Mutate], str],
                                                   tmp_path: Path) -> None:
    """Another family's profile (design §9): indicators beside the main light, with
    slow and fast blink classes; no EVNET firmware tables. The schema takes it."""
    data = load_yaml(SHIPPED)
    for table in ("rtm_codes", "evse_limits", "reset_reasons", "web_client",
                  "firmware_image", "rs485"):
        data.pop(table, None)
    ring = data["lights"]["ring"]
    ring["kind"] = "belt"
    ring["blink"] = {"slow": {"period_s": 2.0, "duty": 0.5, "note": "test"},
                     "fast": {"period_s": 0.5, "duty": 0.5, "note": "test"}}
    for row in ring["rows"].values():
        row["blink"] = "fast" if row["online"][0] != row["online"][1] else "slow"
    ring["powerup"]["blink"] = "slow"
    data["lights"]["charging"] = {
        "kind": "indicator", "note": "test",
        "rows": {"Charging": {"online": ["green", "dark_grey"],
                              "offline": ["green", "dark_grey"],
                              "description": "blinks while charging", "blink": "slow",
                              "note": "test"}},
        "blink": {"slow": {"period_s": 2.0, "duty": 0.5, "note": "test"}}}
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    other = load_profile(str(path))
    assert other.led.kind == "belt" and other.led.slowest_blink_s == 2.0
    assert other.led.blink_of("SuspendedEV") == other.led.blink["fast"]
    assert other.lights["charging"].blink_of("Charging").period_s == 2.0
    assert other.rtm_codes == {} and other.firmware_image is None


def test_entry_without_source_or_note(bad: Callable[[Mutate], str]) -> None:
    def strip_rtm(d: dict[str, Any]) -> None:
        d["rtm_codes"][3].pop("source", None)
        d["rtm_codes"][3].pop("note", None)

    assert "rtm_codes[3]: a `source:`" in bad(strip_rtm)

    def strip_key(d: dict[str, Any]) -> None:
        d["config_keys"]["HeartbeatInterval"].pop("source", None)
        d["config_keys"]["HeartbeatInterval"].pop("note", None)

    assert "config_keys.HeartbeatInterval: a `source:`" in bad(strip_key)


def test_ocpp_error_code_must_exist_in_ocpp_16(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["rtm_codes"][0].update(ocpp_error_code="ResidualCurrent"))
    assert "rtm_codes[0].ocpp_error_code: expected one of " in message
    assert "GroundFailure" in message and message.endswith("got 'ResidualCurrent'")


def test_recovery_word_outside_the_allowed_set(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["rtm_codes"][2].update(recovery=["reboot"]))
    assert message.endswith(
        "rtm_codes[2].recovery: expected one of auto, power_cycle, unplug, web_clear; got 'reboot'")


def test_duplicate_codes(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["rtm_codes"][5].update(code=0x0001))
    assert "rtm_codes[5].code: expected a unique code; 0x1 is also rtm_codes[0]" in message
    message = bad(lambda d: d["reset_reasons"][10].update(code=3))
    assert "reset_reasons[10].code: expected a unique code" in message


def test_other_checks_name_the_entry(bad: Callable[[Mutate], str]) -> None:
    message = bad(lambda d: d["lights"]["ring"]["rows"]["Faulted"].update(
        online=["red", "pink"]))
    assert "lights.ring.rows.Faulted.online: expected one of " in message \
        and "got 'pink'" in message
    message = bad(lambda d: d["lights"]["ring"]["rows"]["Faulted"].update(blink="fast"))
    assert "lights.ring.rows.Faulted.blink: expected one of this light's blink classes " \
        "(blink)" in message
    message = bad(lambda d: d["lights"]["ring"].update(kind="indicator"))
    assert "lights: expected a main light (kind ring, bar or belt)" in message
    message = bad(lambda d: d["config_keys"]["LightIntensity"].update(default="120"))
    assert "config_keys.LightIntensity.default: expected a default its own type" in message
    message = bad(lambda d: d["rtm_codes"][3].update(sets_also=[0x7]))
    assert "rtm_codes[3].sets_also: expected codes of this profile" in message
    message = bad(lambda d: d["ocpp"]["operations_csms_to_cp"].append("Heartbeat"))
    assert "ocpp.operations_csms_to_cp: expected one of " in message
    assert message.endswith("got 'Heartbeat'")


def test_each_reset_cause_has_one_reason(spec: Profile, bad: Callable[[Mutate], str]) -> None:
    assert spec.reset_reasons[spec.reset_reason_after("ocpp_soft_reset")].name == "CC_RST_SW"
    assert spec.reset_reasons[spec.reset_reason_after("ocpp_hard_reset")].name == "CC_RST_EXT"
    assert spec.reset_reason_after("power_on") == 1
    message = bad(lambda d: d["reset_reasons"][2].pop("after"))
    assert "reset_reasons: expected each of power_on, ocpp_soft_reset" in message
    message = bad(lambda d: d["reset_reasons"][2].update(after=["ocpp_hard_rest"]))
    assert "reset_reasons[2].after: expected one of " in message


def test_fault_conditions_map_to_the_vendors_codes(spec: Profile,
                                                   bad: Callable[[Mutate], str]) -> None:
    """The twin detects vendor-neutral conditions; the EVNET profile shows each as one
    RTM code (with its errorCode and recovery), flags such as 0x4000 show none."""
    overvoltage = spec.fault("overvoltage")
    assert overvoltage.rtm is not None and overvoltage.rtm.hex == "0x1000"
    assert (overvoltage.ocpp_error_code, overvoltage.auto_recovery) == ("OverVoltage", True)
    welded = spec.fault("relay_live_welded").rtm
    assert welded is not None and welded.name == "EVSE_FAULT_VL_OUT_OPEN"
    # One name per StatusNotification: a code of several bits first, then the lowest.
    ranked = sorted(spec.conditions.values(), key=lambda f: f.rank)
    assert [f.condition for f in ranked[:3]] == ["module_missing", "leakage_ac",
                                                 "neutral_fault"]
    assert spec.fault_code("leakage_dc") == 0x0008
    assert spec.rtm(0x4000).condition is None
    with pytest.raises(ProfileKeyError, match="unknown condition 'phase_missing'"):
        spec.fault("phase_missing")  # a word of the vocabulary no EVNET code shows
    message = bad(lambda d: d["rtm_codes"][1].update(condition="leakage_ac"))
    assert "rtm_codes[1].condition: expected a condition no other code shows" in message
    message = bad(lambda d: d["rtm_codes"][1].update(condition="earth_fault"))
    assert "rtm_codes[1].condition: expected one of " in message
