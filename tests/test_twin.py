"""The twin's firmware logic on its own: pilot physics, connector state machine,
smart-charging stacking. The network is replaced by a recording link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evrig.rig.clock import Clock
from evrig.rig.profile import load_profile
from evrig.sim.charger.auth import AuthStore
from evrig.sim.charger.config_store import ConfigStore
from evrig.sim.charger.firmware import Authorization, Firmware, Nvm
from evrig.sim.charger.pilot import cp_levels, read_pilot
from evrig.sim.charger.smart_charging import SmartCharging, TxContext
from tests.twin_doubles import RecordingLink

PROFILE = load_profile("evnet-7kw")


Made = tuple[Firmware, dict[str, bool], list[int | None], RecordingLink]


def make_fw(variant: str = "S") -> Made:
    relays: dict[str, bool] = {}
    pp: list[int | None] = [None]
    link = RecordingLink()
    nvm = Nvm(config=ConfigStore(PROFILE), auth=AuthStore(), smart=SmartCharging(230, 1),
              firmware_version="t")
    fw = Firmware(profile=PROFILE, variant=PROFILE.variant(variant), clock=Clock(1000),
                  relays=lambda: dict(relays), pp_ohms=lambda: pp[0],
                  link_factory=lambda f: link, nvm=nvm, serial="T1")  # type: ignore[arg-type,return-value]
    fw.boot_status = "Accepted"
    return fw, relays, pp, link


def statuses(link: RecordingLink) -> list[str]:
    return [p["status"] for a, p in link.sent if a == "StatusNotification" and p["connectorId"]]


@pytest.mark.parametrize(("closed", "state"), [
    ((), "A"), (("r_b",), "B"), (("r_b", "r_c"), "C"), (("r_b", "r_d"), "D"), (("cp_short",), "E"),
])
def test_pilot_levels_decode_to_iec_states(closed, state):
    assert read_pilot({name: True for name in closed}).state == state


def test_missing_diode_shows_on_the_negative_level():
    _, low_ok = cp_levels({"r_b": True})
    _, low_bad = cp_levels({"r_b": True, "diode_short": True})
    assert low_ok == -12.0 and low_bad > -10.0


def test_plug_in_authorize_charge_unplug_walks_the_ocpp_states():
    fw, relays, pp, link = make_fw()
    fw.evaluate()
    pp[0], relays["r_b"] = 220, True
    fw.evaluate()
    fw.authorization = Authorization("TAG", None, deadline=fw.now() + 90)
    fw.evaluate()
    relays["r_c"] = True
    fw.evaluate()
    fw.clock._t0 -= 0.002  # 2 spec s at speed 1000: past the contactor's closing delay
    fw.evaluate()
    relays.clear()
    pp[0] = None
    fw.evaluate()
    assert statuses(link) == ["Available", "Preparing", "SuspendedEV", "Charging", "Available"]
    stop = [p for a, p in link.sent if a == "StopTransaction"][0]
    assert stop["reason"] == "EVDisconnected" and stop["transactionId"] == 7


def test_diode_fault_reports_the_profile_mapping_and_clears_on_unplug():
    fw, relays, pp, link = make_fw()
    pp[0] = 220
    relays.update(r_b=True, diode_short=True)
    fw.evaluate()
    assert fw.rtm == 0  # no PWM yet (x1): no negative half to see the diode on
    fw.authorization = Authorization("TAG", None, deadline=fw.now() + 90)
    fw.evaluate()  # the session starts: the PWM oscillates
    assert fw.pwm_duty() is not None
    fw.evaluate()  # the next look at the pilot sees the missing negative half
    rtm = PROFILE.rtm("EVSE_FAULT_DIODE_UNPRESENT")
    faulted = [p for a, p in link.sent if a == "StatusNotification" and p["status"] == "Faulted"]
    assert faulted[0]["errorCode"] == rtm.ocpp_error_code
    assert int(faulted[0]["vendorErrorCode"], 16) == rtm.code
    relays.clear()
    pp[0] = None  # the cable leaves the socket too
    fw.evaluate()
    assert fw.rtm == rtm.code  # a glitch through state A is no unplug
    fw.clock._t0 -= 0.001  # 1 ms wall at speed 1000 = 1 spec s: A has lasted
    fw.evaluate()
    assert fw.rtm == 0 and statuses(link)[-1] == "Available"


def test_state_d_needs_ventilation_allowed():
    fw, relays, pp, _ = make_fw()
    pp[0] = 220
    relays.update(r_b=True)
    fw.authorization = Authorization("TAG", None, deadline=fw.now() + 90)
    fw.evaluate()
    relays.update(r_d=True)
    fw.evaluate()
    assert not fw.contactor
    fw.config.change("c_ChargingVentilatedEnabled", "true")
    fw.evaluate()
    fw.clock._t0 -= 0.002  # 2 spec s at speed 1000: past the contactor's closing delay
    fw.evaluate()
    assert fw.contactor


def test_connection_timeout_returns_to_available():
    fw, _, _, link = make_fw()
    fw.authorization = Authorization("TAG", None, deadline=fw.now() - 1)
    fw.evaluate()
    assert fw.authorization is None and fw.connector_status() == "Available"


NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def profile(pid: int, purpose: str, level: int, limit: float, unit: str = "A",
            **extra: Any) -> dict[str, Any]:
    return {"chargingProfileId": pid, "stackLevel": level, "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {"chargingRateUnit": unit, "startSchedule": NOW.isoformat(),
                                 "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]},
            **extra}


def test_highest_stack_level_wins_and_max_profile_caps():
    sc = SmartCharging(230, 1)
    tx = TxContext(1, NOW)
    assert sc.install(1, profile(1, "TxDefaultProfile", 0, 16), tx, 10, 10, ["A"]) == "Accepted"
    assert sc.install(1, profile(2, "TxDefaultProfile", 1, 10), tx, 10, 10, ["A"]) == "Accepted"
    assert sc.limit_at(NOW + timedelta(seconds=1), tx) == 10
    assert sc.install(0, profile(3, "ChargePointMaxProfile", 0, 2300, "W"), None, 10, 10,
                      ["A", "W"]) == "Accepted"
    assert sc.limit_at(NOW + timedelta(seconds=1), tx) == pytest.approx(10.0)
    assert sc.install(0, profile(4, "ChargePointMaxProfile", 1, 1150, "W"), None, 10, 10,
                      ["A", "W"]) == "Accepted"
    assert sc.limit_at(NOW + timedelta(seconds=1), tx) == pytest.approx(5.0)


def test_tx_profile_needs_a_transaction_and_max_profile_connector_zero():
    sc = SmartCharging(230, 1)
    assert sc.install(1, profile(1, "TxProfile", 0, 16), None, 10, 10, ["A"]) == "Rejected"
    assert sc.install(1, profile(2, "ChargePointMaxProfile", 0, 16), None, 10, 10, ["A"]) \
        == "Rejected"
    assert sc.install(1, profile(3, "TxDefaultProfile", 11, 16), None, 10, 10, ["A"]) \
        == "Rejected"


def test_composite_schedule_merges_periods():
    sc = SmartCharging(230, 1)
    p = profile(1, "TxDefaultProfile", 0, 16)
    p["chargingSchedule"]["chargingSchedulePeriod"].append({"startPeriod": 600, "limit": 8})
    sc.install(0, p, None, 10, 10, ["A"])
    comp = sc.composite(NOW, 1200, "A", None, 32.0)
    assert comp["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0},
                                              {"startPeriod": 600, "limit": 8.0}]


def test_undefined_cp_level_faults_only_when_it_persists():
    fw, relays, pp, link = make_fw()
    code = PROFILE.rtm("EVSE_FAULT_CP_STATE").code
    relays.update(cp_short=True)  # state E
    fw.evaluate()
    assert fw.rtm == 0  # a single sample while relays switch is no fault
    relays.clear()
    fw.evaluate()
    relays.update(cp_short=True)
    fw.evaluate()
    fw.clock._t0 -= 1.0  # one wall second at speed 1000: far beyond the debounce
    fw.evaluate()
    assert fw.rtm & code


def test_each_supported_operation_is_answered_by_exactly_one_feature() -> None:
    """The twin is built from feature modules (sim/charger/fw_base.py): every CSMS CALL
    the profile lists is answered, by one feature, with a method that exists."""
    from evrig.sim.charger.firmware import Firmware

    owners: dict[str, list[str]] = {}
    for cls in Firmware.__mro__:
        for action, method in vars(cls).get("ANSWERS", {}).items():
            owners.setdefault(action, []).append(cls.__name__)
            assert callable(getattr(Firmware, method, None)), f"{cls.__name__}.{method}"
    supported = set(PROFILE.ocpp.operations_csms_to_cp)
    assert supported <= set(owners), supported - set(owners)
    assert all(len(names) == 1 for names in owners.values()), owners
