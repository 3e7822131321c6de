"""OCTT module 23: Smart Charging. Besides the OCPP answers, every case checks the
effect: the current the charger offers (its service console ``offered`` and the
Current.Offered measurand of MeterValues) follows the installed profiles.

Limits are built from the profile's ratings (minimum current and steps above it,
all below the rated current and the cable), times are spec seconds from "now" on
the backend's clock.

Where the profile does not list GetCompositeSchedule (EV PLUS 003 §8.1.4: Set and
Clear Charging Profile only) the effect is checked without the composite schedule —
the offered current follows the profiles all the same; Current.Offered in
MeterValues only where the profile's measurands have it.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, configure, plug_in, start_charging

MAX, TX_DEFAULT, TX = "ChargePointMaxProfile", "TxDefaultProfile", "TxProfile"
SLACK_S = 2.0  # spec seconds of message latency allowed on a schedule edge
SAMPLE_S = 5  # MeterValueSampleInterval the effect checks use
_ids = itertools.count(501)


def _needs_smart(spec, *purposes: str) -> None:
    if "SmartCharging" not in spec.ocpp.feature_profiles:
        pytest.skip(f"{spec.model} does not support the SmartCharging profile")
    missing = [p for p in purposes if p not in spec.ocpp.charging_profile_purposes]
    if missing:
        pytest.skip(f"{spec.model} does not support {', '.join(missing)}")
    assert "A" in spec.key("ChargingScheduleAllowedChargingRateUnit").default.split(",")


def _amps(spec) -> tuple[float, float, float, float]:
    """Four distinct limits between the minimum and the rated current: lo < b < a < hi."""
    lo = float(spec.ratings["min_current_a"].value)
    rated = float(spec.ratings["max_current_a"].value)
    step = float((rated - lo) // 8)  # whole amps: limits are multiples of 0.1
    assert step >= 1, "profile ratings leave no room for distinct limits"
    return lo, lo + 2 * step, lo + 3 * step, lo + 5 * step


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _profile(purpose: str, periods: list[tuple[int, float]], *, start: datetime | None = None,
             duration: int | None = None, stack: int = 0, kind: str = "Absolute",
             transaction_id: int | None = None) -> dict[str, Any]:
    schedule: dict[str, Any] = {
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": s, "limit": float(x)} for s, x in periods],
    }
    if start is not None:
        schedule["startSchedule"] = _iso(start)
    if duration is not None:
        schedule["duration"] = duration
    profile: dict[str, Any] = {"chargingProfileId": next(_ids), "stackLevel": stack,
                               "chargingProfilePurpose": purpose,
                               "chargingProfileKind": kind, "chargingSchedule": schedule}
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    return profile


def _has_composite(spec) -> bool:
    return "GetCompositeSchedule" in spec.ocpp.operations_csms_to_cp


def _reports_offered(spec) -> bool:
    """Current.Offered among the measurands the charger samples (profile)."""
    return any(m.measurand == "Current.Offered" for m in spec.meter_measurands)


def _set(csms, connector_id: int, profile: dict[str, Any]) -> str:
    return csms.call(call.SetChargingProfile(connector_id=connector_id,
                                             cs_charging_profiles=profile)).status


def _composite(csms, duration: int, connector_id: int = 1) -> list[tuple[float, float]]:
    """GetCompositeSchedule (A): Accepted; its periods as (startPeriod, limit)."""
    result = csms.call(call.GetCompositeSchedule(connector_id=connector_id, duration=duration,
                                                 charging_rate_unit="A"))
    assert result.status == "Accepted"
    schedule = result.charging_schedule or {}
    periods = schedule.get("charging_schedule_period") or schedule.get(
        "chargingSchedulePeriod") or []
    return [(float(p.get("start_period", p.get("startPeriod"))), float(p["limit"]))
            for p in periods]


def _assert_periods(got: list[tuple[float, float]], want: list[tuple[float, float]]) -> None:
    assert [x for _, x in got] == [x for _, x in want], f"composite {got}, expected {want}"
    for (gs, _), (ws, _) in zip(got, want, strict=True):
        assert abs(gs - ws) <= SLACK_S, f"composite {got}, expected {want}"


def _offered(charger) -> float:
    return float(charger.status()["offered"])


def _wait_offered(clock, charger, amps: float, timeout: float) -> None:
    ok = clock.wait_until(lambda: _offered(charger) == pytest.approx(amps, abs=0.05), timeout)
    assert ok, f"offered {_offered(charger)} A, expected {amps} A within {timeout} s"


def _meter_offered(payload: dict[str, Any]) -> float | None:
    for mv in payload["meterValue"]:
        for sv in mv["sampledValue"]:
            if sv.get("measurand") == "Current.Offered":
                return float(sv["value"])
    return None


def _wait_meter_offered(csms, amps: float, timeout: float) -> None:
    csms.wait_for("MeterValues", timeout=timeout, since=csms.mark(),
                  predicate=lambda p: _meter_offered(p) == pytest.approx(amps, abs=0.05))


def _schedule_start(csms) -> datetime:
    """A startSchedule the charger already sees as past. Its clock is the backend's
    currentTime from the last BootNotification/Heartbeat (OCPP 1.6 §4.2, §4.6), so it
    lags the backend by that message's latency; a schedule starting at the backend's
    "now" could still lie ahead on the charger and open with a gap period."""
    return csms.state.utcnow() - timedelta(seconds=SLACK_S)


def _elapsed(csms, since: datetime) -> float:
    return (csms.state.utcnow() - since).total_seconds()


@pytest.mark.octt("TC_056_CS")
def test_tx_default_profile(csms, ev, charger, clock, spec):
    """SetChargingProfile(connector 1, TxDefaultProfile, Absolute, stackLevel 0,
    startSchedule, duration, unit A, three periods) → Accepted → a transaction
    starts → GetCompositeSchedule(1) gives those periods; the offered current
    steps through them (console and MeterValues Current.Offered)."""
    _needs_smart(spec, TX_DEFAULT)
    lo, b, a, _ = _amps(spec)
    configure(csms, MeterValueSampleInterval=SAMPLE_S)
    start = _schedule_start(csms)
    first, second = 30, 60
    profile = _profile(TX_DEFAULT, [(0, lo), (first, a), (second, b)], start=start,
                       duration=300)
    assert _set(csms, 1, profile) == "Accepted"
    start_charging(csms, ev, charger)
    assert _offered(charger) == pytest.approx(lo)
    e = _elapsed(csms, start)
    if _has_composite(spec):
        _assert_periods(_composite(csms, 120), [(0, lo), (first - e, a), (second - e, b)])
    if _reports_offered(spec):
        _wait_meter_offered(csms, lo, SAMPLE_S + SLACK_S)
    _wait_offered(clock, charger, a, first - _elapsed(csms, start) + SLACK_S)
    assert _elapsed(csms, start) >= first - SLACK_S
    if _reports_offered(spec):
        _wait_meter_offered(csms, a, SAMPLE_S + SLACK_S)
    _wait_offered(clock, charger, b, second - _elapsed(csms, start) + SLACK_S)
    assert _elapsed(csms, start) >= second - SLACK_S


@pytest.mark.octt("TC_057_CS")
def test_tx_profile(csms, ev, charger, clock, spec):
    """While charging: SetChargingProfile(TxProfile, transactionId = the running
    one) → Accepted → GetCompositeSchedule gives its periods; the offered current
    follows them."""
    _needs_smart(spec, TX)
    lo, _, a, _ = _amps(spec)
    configure(csms, MeterValueSampleInterval=SAMPLE_S)
    tx = start_charging(csms, ev, charger)
    baseline = _offered(charger)
    start = _schedule_start(csms)
    step = 40
    profile = _profile(TX, [(0, a), (step, lo)], start=start, duration=120, transaction_id=tx)
    assert _set(csms, 1, profile) == "Accepted"
    e = _elapsed(csms, start)
    if _has_composite(spec):
        _assert_periods(_composite(csms, 60), [(0, a), (step - e, lo)])
    _wait_offered(clock, charger, a, SLACK_S)
    assert a != baseline
    _wait_offered(clock, charger, lo, step - _elapsed(csms, start) + SLACK_S)
    assert _elapsed(csms, start) >= step - SLACK_S
    if _reports_offered(spec):
        _wait_meter_offered(csms, lo, SAMPLE_S + SLACK_S)


@pytest.mark.octt("TC_058_1_CS")
def test_tx_profile_without_transaction(csms, charger, spec):
    """No transaction: SetChargingProfile(TxProfile with a transactionId) →
    Rejected, and the offered current does not change."""
    _needs_smart(spec, TX)
    lo, _, _, _ = _amps(spec)
    baseline = _offered(charger)
    profile = _profile(TX, [(0, lo)], start=_schedule_start(csms), transaction_id=1)
    assert _set(csms, 1, profile) == "Rejected"
    assert _offered(charger) == baseline
    if _has_composite(spec):
        assert lo not in [x for _, x in _composite(csms, 60)]


@pytest.mark.octt("TC_058_2_CS")
def test_tx_profile_wrong_transaction(csms, ev, charger, clock, spec):
    """While charging: SetChargingProfile(TxProfile, a transactionId that is not the
    running one) → Rejected; the offered current stays as it was."""
    _needs_smart(spec, TX)
    lo, _, _, _ = _amps(spec)
    tx = start_charging(csms, ev, charger)
    baseline = _offered(charger)
    profile = _profile(TX, [(0, lo)], start=_schedule_start(csms), transaction_id=tx + 1000)
    assert _set(csms, 1, profile) == "Rejected"
    clock.sleep(SLACK_S)
    assert _offered(charger) == baseline
    if _has_composite(spec):
        assert lo not in [x for _, x in _composite(csms, 60)]


@pytest.mark.octt("TC_059_CS")
def test_remote_start_with_charging_profile(csms, ev, charger, clock, spec):
    """EV plugged: RemoteStartTransaction(idTag, chargingProfile TxProfile without
    transactionId) → Accepted → StartTransaction → SN Charging; the transaction runs
    at the profile's limit (offered current, GetCompositeSchedule)."""
    _needs_smart(spec, TX)
    _, b, _, _ = _amps(spec)
    plug_in(csms, ev)
    profile = _profile(TX, [(0, b)], kind="Relative")
    remote = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1,
                                                   charging_profile=profile))
    assert remote.status == "Accepted"
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    _wait_offered(clock, charger, b, SLACK_S)
    if _has_composite(spec):
        assert [x for _, x in _composite(csms, 60)] == [b]


@pytest.mark.octt("TC_060_CS")
def test_remote_start_with_charging_profile_rejected(csms, ev, charger, spec):
    """RemoteStartTransaction whose chargingProfile is not a TxProfile (EVR:
    TxDefaultProfile; EVT: ChargePointMaxProfile) → Rejected; no transaction starts
    and the offered current is unchanged (OCPP 1.6 §5.11)."""
    _needs_smart(spec)
    _, b, _, _ = _amps(spec)
    plug_in(csms, ev)
    baseline = _offered(charger)
    for purpose in (TX_DEFAULT, MAX):
        profile = _profile(purpose, [(0, b)], kind="Relative")
        remote = csms.call(call.RemoteStartTransaction(id_tag=ACCEPTED_TAG, connector_id=1,
                                                       charging_profile=profile))
        assert remote.status == "Rejected", purpose
    csms.assert_none("StartTransaction", 5)
    assert _offered(charger) == baseline


@pytest.mark.octt("TC_066_CS")
def test_get_composite_schedule(csms, ev, charger, clock, spec):
    """While charging: ChargePointMaxProfile(connector 0) + TxDefaultProfile(1) +
    TxProfile(1, transaction) → each Accepted → GetCompositeSchedule(1) is their
    merged minimum (TxProfile overrides TxDefault while it runs, ChargePointMax caps
    both), and the offered current follows the composite. Without GetCompositeSchedule
    in the profile only the offered current is checked against the merged minimum."""
    _needs_smart(spec, MAX, TX_DEFAULT, TX)
    lo, b, a, hi = _amps(spec)
    cap, default = a, b  # ChargePointMax cap, TxDefault limit
    tx = start_charging(csms, ev, charger)
    start = _schedule_start(csms)
    step, tx_end = 20, 40
    assert _set(csms, 0, _profile(MAX, [(0, cap)], start=start)) == "Accepted"
    assert _set(csms, 1, _profile(TX_DEFAULT, [(0, default)], start=start)) == "Accepted"
    assert _set(csms, 1, _profile(TX, [(0, lo), (step, hi)], start=start, duration=tx_end,
                                  transaction_id=tx)) == "Accepted"
    e = _elapsed(csms, start)
    # [0, step): TxProfile lo; [step, tx_end): TxProfile hi capped to cap; then TxDefault.
    want = [(0, lo), (step - e, min(hi, cap)), (tx_end - e, min(default, cap))]
    if _has_composite(spec):
        _assert_periods(_composite(csms, 100), want)
    _wait_offered(clock, charger, lo, SLACK_S)
    _wait_offered(clock, charger, min(hi, cap), step - _elapsed(csms, start) + SLACK_S)
    _wait_offered(clock, charger, min(default, cap), tx_end - _elapsed(csms, start) + SLACK_S)
    assert _elapsed(csms, start) >= tx_end - SLACK_S


@pytest.mark.octt("TC_067_CS")
def test_clear_charging_profile(csms, charger, clock, spec):
    """SetChargingProfile(TxDefaultProfile) → Accepted (the offered current drops to
    its limit) → ClearChargingProfile(id, connectorId, purpose, stackLevel) →
    Accepted → GetCompositeSchedule no longer has the limit and the offered current
    is back; clearing it again → Unknown."""
    _needs_smart(spec, TX_DEFAULT)
    _, b, _, _ = _amps(spec)
    baseline = _offered(charger)
    assert b < baseline
    profile = _profile(TX_DEFAULT, [(0, b)], start=_schedule_start(csms), stack=1)
    assert _set(csms, 1, profile) == "Accepted"
    _wait_offered(clock, charger, b, SLACK_S)
    if _has_composite(spec):
        assert b in [x for _, x in _composite(csms, 60)]
    clear = call.ClearChargingProfile(id=profile["chargingProfileId"], connector_id=1,
                                      charging_profile_purpose=TX_DEFAULT, stack_level=1)
    assert csms.call(clear).status == "Accepted"
    if _has_composite(spec):
        assert b not in [x for _, x in _composite(csms, 60)]
    _wait_offered(clock, charger, baseline, SLACK_S)
    assert csms.call(clear).status == "Unknown"


def test_no_more_profiles_than_max_charging_profiles_installed(csms, spec):
    """001 App. II MaxChargingProfilesInstalled (OCPP 1.6 §9.4): that many profiles of
    distinct stack levels are Accepted, one more is Rejected; replacing an installed
    one (same purpose, connector and stack level) still is Accepted."""
    _needs_smart(spec, TX_DEFAULT)
    limit = int(spec.key("MaxChargingProfilesInstalled").default)
    max_stack = int(spec.key("ChargeProfileMaxStackLevel").default)
    assert limit <= max_stack + 1, "distinct stack levels cannot fill the store"
    lo, _, _, hi = _amps(spec)
    for level in range(limit):
        assert _set(csms, 1, _profile(TX_DEFAULT, [(0, hi)], stack=level)) == "Accepted", level
    assert _set(csms, 1, _profile(TX_DEFAULT, [(0, hi)], stack=limit)) == "Rejected"
    assert _set(csms, 1, _profile(TX_DEFAULT, [(0, lo)], stack=0)) == "Accepted"
