"""The charger's web client (000 §2.5.1, 004 §4.2) as a diagnostics instrument: what it
shows agrees with what the charger tells the backend and with the profile.

- Charge Point Diagnostics' RTM Err Code = the StatusNotification vendorErrorCode, for
  every fault a rig can produce (stimuli: testcases/protection/stimuli.py);
- Device Status' Charger Limit names the active EVSE limit (VendorID1, spec.evse_limits);
- Device Status' OCPP/EVSE Status = the last StatusNotification of connector 1;
- Device Control's Clear Faults clears exactly the codes whose recovery lists web_clear.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ocpp.v16 import call

from evrig.testcases.ocpp.steps import plug_in
from evrig.testcases.protection.checks import (
    HOLD_S,
    REACT_S,
    Bench,
    bits,
    charge,
    expect_fault,
    expect_soft_fault,
    limit_offer,
    offered_a,
)
from evrig.testcases.protection.stimuli import Stimulus

SETTLE_S = 3.0  # spec seconds for the page and the backend to agree after a change
# The EV NET web client's pages (not the EV PLUS web app: test_web_evplus.py).
pytestmark = pytest.mark.applies(web=("device_status", "rtm_information"))


@pytest.fixture
def bench(csms, ev, charger, clock, spec, ac_source, ac_load, faults) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 ac_source=ac_source, ac_load=ac_load, faults=faults)


def _last_status(csms: Any) -> dict[str, Any] | None:
    sns = [m for m in csms.history.calls("StatusNotification")
           if m.payload.get("connectorId") == 1]
    return sns[-1].payload if sns else None


def _web_rtm(web: Any) -> int | None:
    from evrig.rig.errors import InstrumentError

    try:
        return web.diagnostics()["rtm"]
    except InstrumentError:
        return None  # rebooting: the web client is gone for a moment


def _provoke(b: Bench, stim: Stimulus) -> None:
    if stim.setup == "charging":
        draw = offered_a(b.spec)
        limit_offer(b, draw)
        charge(b, draw)
    stim.apply(b)
    if b.spec.fault(b.spec.rtm(stim.code).condition or "").stops_charging:
        expect_fault(b, stim.code, timeout=stim.timeout)
    else:  # a soft fault (004 §4.5): reported, the session goes on
        expect_soft_fault(b, stim.code, timeout=stim.timeout)


def test_rtm_err_code_is_the_vendor_error_code(bench: Bench, web, code_stimulus: Stimulus):
    """The RTM Err Code on Charge Point Diagnostics is what StatusNotification carries
    in vendorErrorCode (000 App. I: "RTM error code: a.k.a. vendor error code")."""
    b, stim = bench, code_stimulus
    _provoke(b, stim)
    mask = bits(b.spec, stim.code)

    def agree() -> bool:
        sn, shown = _last_status(b.csms), _web_rtm(web)
        return (sn is not None and shown is not None and shown & mask == mask
                and sn.get("vendorErrorCode") == f"0x{shown:04X}")

    assert b.clock.wait_until(agree, SETTLE_S, poll=0.25), (
        f"web RTM Err Code {_web_rtm(web)!r} vs last StatusNotification "
        f"{_last_status(b.csms)}")
    shown = web.diagnostics()
    assert shown["labels"]["RTM Err Code"].lower().startswith("0x")
    assert (shown["opb"], shown["prt"]) == (1, 1), "000 §2.5.1: OPB and PRT must be 1"


def _limit_device(b: Bench, web: Any) -> None:
    plug_in(b.csms, b.ev)
    limit_offer(b, float(b.spec.ratings["min_current_a"].value) + 2)


def _limit_pp(b: Bench, web: Any) -> None:
    b.ev.plug(cable_amps=13)
    b.csms.wait_for("StatusNotification", connectorId=1, status="Preparing")


def _limit_temperature(b: Bench, web: Any) -> None:
    rated = float(b.spec.ratings["max_current_a"].value)
    rows = [r for r in b.spec.temperature_derating.rows if 0 < r.limit_a < rated]
    assert rows, "the derating table has no row below the rated current"
    b.charger.set_temperature(rows[0].max_temp_c)


def _limit_ocpp(b: Bench, web: Any) -> None:
    if "SmartCharging" not in b.spec.ocpp.feature_profiles:
        pytest.skip(f"{b.spec.model} does not support the SmartCharging profile")
    amps = float(b.spec.ratings["min_current_a"].value) + 1
    start = b.clock.utcnow() - timedelta(seconds=60)  # in force from now on, no session
    profile = {"chargingProfileId": 901, "stackLevel": 0,
               "chargingProfilePurpose": "ChargePointMaxProfile",
               "chargingProfileKind": "Absolute",
               "chargingSchedule": {
                   "startSchedule": start.isoformat().replace("+00:00", "Z"),
                   "chargingRateUnit": "A",
                   "chargingSchedulePeriod": [{"startPeriod": 0, "limit": amps}]}}
    result = b.csms.call(call.SetChargingProfile(connector_id=0, cs_charging_profiles=profile))
    assert result.status == "Accepted"


LIMITS = [
    pytest.param("DeviceCurrentLimit", _limit_device, id="device"),
    pytest.param("ProximityPilotLimit", _limit_pp, id="pp", marks=pytest.mark.socketed),
    pytest.param("DeviceTemperatureLimit", _limit_temperature, id="temperature"),
    pytest.param("OCPPGridLimit", _limit_ocpp, id="ocpp-profile"),
]


@pytest.mark.parametrize(("reason", "cause"), LIMITS)
def test_charger_limit_names_the_active_limit(bench: Bench, web, reason: str, cause):
    """Charger Limit on Device Status names the EVSE limit that caps the offer
    (001 VendorID1, names from spec.evse_limits) and agrees with the console."""
    b = bench
    name = b.spec.limit_reason(reason).name
    cause(b, web)
    assert b.clock.wait_until(lambda: web.device_status()["Charger Limit"].split(" (")[0]
                              == name, SETTLE_S, poll=0.25), \
        f"Charger Limit {web.device_status()['Charger Limit']!r}, expected {name}"
    assert b.charger.console.command("status").split("limit=")[1].split()[0] == name


def test_status_fields_follow_status_notification(csms, ev, web, clock, spec):
    """OCPP Status (and EVSE Status, the live state) on Device Status = the status of
    the last StatusNotification of connector 1: idle, plugged, faulted, unplugged."""
    def agree(expected: str) -> bool:
        page, sn = web.device_status(), _last_status(csms)
        return sn is not None and sn["status"] == expected == page["OCPP Status"] \
            == page["EVSE Status"]

    # The backend's history starts empty at each test: idle is the page alone.
    assert web.device_status()["OCPP Status"] == "Available"
    assert web.device_status()["EV Status"] == "Disconnected"
    plug_in(csms, ev)
    assert clock.wait_until(lambda: agree("Preparing"), SETTLE_S, poll=0.25), \
        (web.device_status(), _last_status(csms))
    assert web.device_status()["EV Status"] != "Disconnected"
    ev.set_state("E")  # a shorted pilot (cp_level_invalid): Faulted without a session
    csms.wait_for("StatusNotification", connectorId=1, status="Faulted")
    assert clock.wait_until(lambda: agree("Faulted"), SETTLE_S, poll=0.25), \
        (web.device_status(), _last_status(csms))
    ev.unplug()
    assert clock.wait_until(lambda: agree("Available"), SETTLE_S + REACT_S, poll=0.25), \
        (web.device_status(), _last_status(csms))
    assert web.device_status()["Backend Status"] == "Connected"


def test_clear_faults(bench: Bench, web, clear_stimulus: Stimulus):
    """Device Control → Clear Faults with the cause removed: a code whose recovery
    lists web_clear clears (RTM Err Code without it, NoError to the backend); any
    other stays latched (000 App. I, profile rtm_codes[].recovery)."""
    b = bench
    stim = clear_stimulus
    entry = b.spec.rtm(stim.code)
    _provoke(b, stim)
    if stim.remove is not None and not entry.auto_recovery:
        stim.remove(b)  # an auto code follows its cause: keep it present
    mark = b.csms.mark()
    web.clear_faults()
    mask = bits(b.spec, stim.code)
    if "web_clear" in entry.recovery:
        assert b.clock.wait_until(lambda: (_web_rtm(web) or 0) & mask == 0, REACT_S,
                                  poll=0.25), f"{entry.hex} still shown after Clear Faults"
        sn = b.csms.wait_for("StatusNotification", since=mark, timeout=REACT_S,
                             connectorId=1, errorCode="NoError")
        assert sn["status"] != "Faulted"
    else:
        b.clock.sleep(HOLD_S)
        shown = _web_rtm(web)
        assert shown is not None and shown & stim.code == stim.code, \
            f"{entry.hex} cleared by Clear Faults; its recovery is {list(entry.recovery)}"
        assert web.device_status()["EVSE Status"] == "Faulted"


def test_firmware_version_and_measurements(web, charger, spec):
    """Device Version is the firmware the console reports; the measurements are
    numbers in their units, the supply near nominal while idle."""
    assert web.firmware_version.startswith(charger.firmware)
    values = web.measurements()
    nominal = float(spec.ratings["nominal_voltage_v"].value)
    assert abs(values["voltage_v"] - nominal) < 0.1 * nominal
    assert values["current_a"] == pytest.approx(0.0, abs=0.5)


def test_restart_reboots_with_the_software_reset_reason(csms, charger, web, spec):
    """Device Control → RESTART (000 §2.5.1: "power cycle the device"): the charger
    reboots — BootNotification again — and reports the reset reason of a software
    restart (001 VendorID3 CC_RST_SW: "the web UI") with connector 0's status."""
    reason = spec.reset_reasons[spec.reset_reason_after("web_restart")]
    mark = csms.mark()
    web.restart()
    boot = csms.wait_for("BootNotification", since=mark, timeout=60)
    sn = csms.wait_for("StatusNotification", since=boot.index, connectorId=0)
    assert sn["vendorId"] == spec.ocpp.vendor_ids["reset_reason"]
    assert sn["vendorErrorCode"] == str(reason.code)
