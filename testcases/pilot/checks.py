"""Checks and stimuli the pilot, proximity, timing and derating testcases share:
CP readings against IEC 61851-1 (:mod:`testcases.pilot.iec61851`), the charger's
offered current, the ways a backend limits it. Values from the profile (``spec``)
or the caller's stimulus only."""

from __future__ import annotations

import itertools
from typing import Any

from ocpp.v16 import call

from evrig.testcases.ocpp.steps import ACCEPTED_TAG
from evrig.testcases.pilot import iec61851 as iec

REACT_S = 2.0  # spec seconds the charger gets to react to a CP change (our stimulus)
_profile_ids = itertools.count(701)


def assert_level(reading: Any, state: str) -> None:
    """``reading`` shows ``state`` with its high level within ±1 V of nominal; with PWM
    the low level is −12 V ±1 V (the EV's diode blocks the negative half)."""
    nominal = iec.CP_NOMINAL_V[state]
    assert reading.state == state, f"CP state {reading.state}, expected {state}: {reading}"
    assert abs(reading.high_v - nominal) <= iec.CP_TOLERANCE_V, \
        f"CP high {reading.high_v} V, expected {nominal} ±{iec.CP_TOLERANCE_V} V"
    if reading.freq_hz > 0:
        assert abs(reading.low_v - iec.CP_LOW_V) <= iec.CP_TOLERANCE_V, \
            f"CP low {reading.low_v} V, expected {iec.CP_LOW_V} ±{iec.CP_TOLERANCE_V} V"


def assert_pwm(reading: Any, amps: float) -> None:
    """PWM at 980–1020 Hz whose duty offers ``amps`` within the duty tolerance."""
    assert iec.PWM_FREQ_MIN_HZ <= reading.freq_hz <= iec.PWM_FREQ_MAX_HZ, \
        f"PWM {reading.freq_hz} Hz outside {iec.PWM_FREQ_MIN_HZ}–{iec.PWM_FREQ_MAX_HZ} Hz"
    expected = iec.duty_for_amps(amps)
    assert abs(reading.duty_pct - expected) <= iec.DUTY_TOLERANCE_PCT, \
        f"duty {reading.duty_pct} % for {amps} A, expected {expected:.2f} " \
        f"±{iec.DUTY_TOLERANCE_PCT} %"


def assert_no_pwm(reading: Any) -> None:
    assert reading.freq_hz == 0, f"PWM on CP where none is allowed: {reading}"


def wait_cp(clock: Any, ev: Any, predicate: Any, what: str, timeout: float = REACT_S) -> Any:
    """The first CP reading for which ``predicate`` holds within ``timeout``."""
    seen: list[Any] = []

    def check() -> bool:
        seen.append(ev.read_cp())
        return bool(predicate(seen[-1]))

    assert clock.wait_until(check, timeout, poll=0.05), f"{what}: last CP reading {seen[-1]}"
    return seen[-1]


def wait_offered(clock: Any, charger: Any, amps: float, timeout: float = REACT_S) -> dict:
    """The charger's status once it offers ``amps`` (its console, 0.1 A)."""
    status: dict[str, str] = {}

    def check() -> bool:
        status.update(charger.status())
        return abs(float(status["offered"]) - amps) < 0.05

    assert clock.wait_until(check, timeout, poll=0.1), \
        f"charger offers {status.get('offered')} A ({status.get('limit')}), expected {amps} A"
    return status


def device_limit_value(spec: Any, amps: float) -> int:
    """c_DeviceLimit_I's value for ``amps`` in the key's unit from the profile."""
    key = spec.key("c_DeviceLimit_I")
    scale = {"0.1 A": 10, "A": 1}[key.unit]
    return round(amps * scale)


def cap_offer(csms: Any, spec: Any, amps: float) -> None:
    """Cap the current the charger offers at ``amps``: c_DeviceLimit_I where the
    profile has that key (EV NET, the installer's device limit), else a
    ChargePointMaxProfile on connector 0 (OCPP 1.6 §3.13.1; the EV PLUS lists
    SetChargingProfile and no such key, 003 §8.1.4). The keeper undoes either."""
    if "c_DeviceLimit_I" in spec.config_keys:
        result = csms.call(call.ChangeConfiguration(key="c_DeviceLimit_I",
                                                    value=str(device_limit_value(spec, amps))))
        assert result.status == "Accepted", f"c_DeviceLimit_I: {result.status}"
        return
    profile = {"chargingProfileId": next(_profile_ids), "stackLevel": 0,
               "chargingProfilePurpose": "ChargePointMaxProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {"chargingRateUnit": "A",
                                    "startSchedule": "2000-01-01T00:00:00Z",  # in force now
                                    "chargingSchedulePeriod": [{"startPeriod": 0,
                                                                "limit": float(amps)}]}}
    result = csms.call(call.SetChargingProfile(connector_id=0, cs_charging_profiles=profile))
    assert result.status == "Accepted", f"ChargePointMaxProfile {amps} A: {result.status}"


def tx_default_profile(amps: float) -> dict[str, Any]:
    """A TxDefaultProfile limiting every new transaction to ``amps`` (Relative, one period)."""
    return {"chargingProfileId": next(_profile_ids), "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "A",
                                 "chargingSchedulePeriod": [{"startPeriod": 0,
                                                             "limit": float(amps)}]}}


def set_tx_default(csms: Any, amps: float) -> None:
    result = csms.call(call.SetChargingProfile(connector_id=1,
                                               cs_charging_profiles=tx_default_profile(amps)))
    assert result.status == "Accepted", f"SetChargingProfile TxDefault {amps} A: {result.status}"


def offered_currents(spec: Any) -> list[float]:
    """Stimulus currents: the minimum, three steps between, the rated current."""
    lo = float(spec.ratings["min_current_a"].value)
    hi = float(spec.ratings["max_current_a"].value)
    return [lo, 10.0, 16.0, 20.0, hi]


def status_after_unplug_at_car(variant: Any) -> str:
    """OCPP 1.6 §4.9: a socket keeps the cable after the car lets go (Finishing); a
    tethered cable leaves the connector free (Available)."""
    return "Finishing" if variant.connector == "socket" else "Available"


def device_limit_amps(spec: Any) -> float:
    """The charger's own cap before a test sets any: the default c_DeviceLimit_I in amps
    (the profile's default and unit) where the profile has the key, else the rated
    current (EV PLUS: the web app's Max Current, whose factory value is the rated
    32 A, profile web_client.system_parameters note)."""
    if "c_DeviceLimit_I" not in spec.config_keys:
        return float(spec.ratings["max_current_a"].value)
    key = spec.key("c_DeviceLimit_I")
    return int(key.default) / {"0.1 A": 10, "A": 1}[key.unit]


def limit_names(spec: Any, *reasons: str) -> set[str]:
    """The names the charger gives these EVSE limit reasons (profile ``evse_limits``,
    001 VendorID1); empty where the charger names none (EV PLUS: no such table), so a
    check of the named reason applies only where there is one."""
    if not spec.evse_limits:
        return set()
    return {spec.limit_reason(reason).name for reason in reasons}


def charge_with_pp(csms: Any, ev: Any, charger: Any, pp_ohms: float | None) -> None:
    """Cable with ``pp_ohms`` in, EV in B, card, StartTransaction, EV in C → Charging."""
    ev.set_pp(pp_ohms)
    ev.set_state("B")
    csms.wait_for("StatusNotification", connectorId=1, status="Preparing", errorCode="NoError")
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ev.set_state("C")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging", errorCode="NoError")
