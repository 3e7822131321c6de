"""OCTT modules 08/16: Configuration (Happy Flow) and Configuration Keys (Non-Happy
Flow) — Core, OCPP 1.6 §5.3 ChangeConfiguration, §5.8 GetConfiguration, §9 keys."""

from __future__ import annotations

import pytest
from ocpp.v16 import call


def _get(csms, keys: list[str] | None = None) -> dict[str, dict]:
    result = csms.call(call.GetConfiguration(key=keys) if keys else call.GetConfiguration())
    return {k["key"]: k for k in result.configuration_key}


@pytest.mark.octt("TC_019_CS")
def test_retrieve_configuration(csms, spec):
    """GetConfiguration: SupportedFeatureProfiles is read-only and lists the profile's
    feature profiles; the full list holds every key of the profile with its read-only
    flag and a value of the right type/range; GetConfigurationMaxKeys is read-only and
    ≥ 1, and a request for that many keys returns all of them."""
    profiles = spec.key("SupportedFeatureProfiles")
    got = _get(csms, ["SupportedFeatureProfiles"])["SupportedFeatureProfiles"]
    assert got["readonly"] is True
    assert profiles.check(got["value"]) is None, got
    assert set(got["value"].split(",")) == set(spec.ocpp.feature_profiles)

    everything = _get(csms)
    missing = sorted(set(spec.config_keys) - set(everything))
    assert not missing, f"keys of the profile not reported: {missing}"
    for name, key in spec.config_keys.items():
        entry = everything[name]
        assert entry["readonly"] is key.readonly, entry
        value = entry.get("value", "")
        assert key.check(value) is None, f"{name}={value!r}: {key.check(value)}"
        if key.readonly:
            assert value == key.default, entry

    max_keys_spec = spec.key("GetConfigurationMaxKeys")
    max_keys = _get(csms, ["GetConfigurationMaxKeys"])["GetConfigurationMaxKeys"]
    assert max_keys["readonly"] is True
    assert max_keys["value"] == max_keys_spec.default
    limit = int(max_keys["value"])
    assert limit >= 1
    wanted = sorted(spec.config_keys)[:limit]
    assert set(_get(csms, wanted)) == set(wanted)


@pytest.mark.octt("TC_021_CS")
def test_change_configuration(csms, spec):
    """ChangeConfiguration(MeterValueSampleInterval = old + 10) → Accepted, and
    GetConfiguration then reports the new value (the keeper restores the old one)."""
    key = spec.key("MeterValueSampleInterval")
    old = int(_get(csms, [key.name])[key.name]["value"])
    new = old + 10
    assert key.check(str(new)) is None, "old + 10 must be a value the profile allows"
    result = csms.call(call.ChangeConfiguration(key=key.name, value=str(new)))
    assert result.status == "Accepted"
    assert _get(csms, [key.name])[key.name]["value"] == str(new)


@pytest.mark.octt("TC_040_1_CS")
def test_configuration_key_not_supported(csms, spec):
    """ChangeConfiguration of a key the charger does not know → NotSupported, and
    GetConfiguration lists it as unknownKey."""
    unknown = "Testing"
    assert unknown not in spec.config_keys
    result = csms.call(call.ChangeConfiguration(key=unknown, value="true"))
    assert result.status == "NotSupported"
    got = csms.call(call.GetConfiguration(key=[unknown]))
    assert got.unknown_key == [unknown]
    assert not got.configuration_key


@pytest.mark.octt("TC_040_2_CS")
def test_configuration_key_invalid_value(csms, spec):
    """ChangeConfiguration(MeterValueSampleInterval="-1") → Rejected (OCPP 1.6 §5.3:
    a value the charge point cannot accept), and the value stays. PNA also accepts a
    CALLERROR PropertyConstraintViolation; OCPP 1.6 §5.3 defines Rejected for an
    invalid value, so Rejected is required. Also below/above the profile's range and
    a read-only key."""
    key = spec.key("MeterValueSampleInterval")
    before = _get(csms, [key.name])[key.name]["value"]
    assert key.min is not None
    invalid = key.min - 1
    assert key.check(str(invalid)) is not None
    for value in (str(invalid), "not-a-number"):
        result = csms.call(call.ChangeConfiguration(key=key.name, value=value))
        assert result.status == "Rejected", value
    assert _get(csms, [key.name])[key.name]["value"] == before

    # Above the range of a writable key with a maximum, where the profile has one (EV
    # PLUS: none, its only bounded key NumberOfConnectors is read-only).
    bounded = next((k for k in spec.config_keys.values()
                    if k.type == "int" and k.max is not None and not k.readonly), None)
    if bounded is not None:
        too_big = str(bounded.max + 1)
        assert csms.call(call.ChangeConfiguration(key=bounded.name, value=too_big)).status \
            == "Rejected"

    readonly = spec.key("GetConfigurationMaxKeys")
    assert readonly.readonly
    result = csms.call(call.ChangeConfiguration(key=readonly.name,
                                                value=str(int(readonly.default) + 1)))
    assert result.status == "Rejected"
    assert _get(csms, [readonly.name])[readonly.name]["value"] == readonly.default
