"""Steps the protection testcases share: reach a charging session with the AC load
drawing, expect a fault as the unit shows it, apply a recovery rule of the profile and
see whether it clears.

A fault is named by its vendor-neutral condition (``spec.fault(name)``, design §5; an
EV NET RTM code is accepted too and stands for the condition it shows). What the unit
shows for it comes from the profile: the RTM register and the vendorErrorCode where
the profile has RTM codes (EV NET, 001 VendorID2), the display string and the main
light's Faulted row where the condition's row has a ``display`` (EV PLUS, 003 §7.1.2)
— and the OCPP errorCode of the profile in both. Recovery follows the condition's
``recovery`` list (EV PLUS: never ``auto`` for a protection, 003 §5).

Every expected value comes from the profile (``spec``); every wait is in spec seconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from evrig.rig.errors import InstrumentError
from evrig.testcases.ocpp.steps import start_charging
from evrig.testcases.pilot.checks import cap_offer

RULES = ("auto", "unplug", "power_cycle", "web_clear")
# Below this the outlet is dead (the same threshold as testcases/iec61851).
ZERO_A = 0.5
# Spec seconds a fault must stay latched to count as "not cleared" by a rule: many
# evaluation periods of any firmware, well below the suite's time budget.
HOLD_S = 3.0
# Spec seconds the charger may take to see a cause and report it (the manuals give
# no reaction time; the contactor alone may take timing.contactor_open_max_s).
REACT_S = 3.0
# Margin of a value "just inside" / "just outside" a voltage threshold: a real
# charger's voltage measurement is good to about 1 % of 230 V.
VOLT_MARGIN_V = 2.0
# Spec seconds from mains on until the charger is back (boot, BootNotification).
BOOT_S = 60.0
# Spec seconds between two looks at a character display while nothing may change (a
# camera frame each: often enough for a fault string that stays, cheap on the bench).
LOOK_S = 1.0


@dataclass
class Bench:
    """The fixtures a protection step needs, in one object."""

    csms: Any
    ev: Any
    charger: Any
    clock: Any
    spec: Any
    ac_source: Any = None
    ac_load: Any = None
    faults: Any = None
    # The front panel where the unit shows faults there (EV PLUS: the character
    # display and the LED belt through the camera); None where it does not (EV NET).
    display: Any = None
    led: Any = None


def panel(request: Any, spec: Any) -> dict[str, Any]:
    """The ``display`` and ``led`` fixtures for a Bench, where the profile shows a fault
    condition as a display string (EV PLUS); nothing on EV NET (no display fixture)."""
    if not any(fault.display for fault in spec.conditions.values()):
        return {}
    return {"display": request.getfixturevalue("display"),
            "led": request.getfixturevalue("led")}


def fault_of(spec: Any, what: int | str) -> Any:
    """The profile's Fault for a condition name, or for the condition an RTM code shows."""
    if isinstance(what, int):
        condition = spec.rtm(what).condition
        assert condition is not None, f"{spec.rtm(what).hex} shows no condition"
        return spec.fault(condition)
    return spec.fault(what)


def bits(spec: Any, code: int) -> int:
    """``code`` with the profile's ``sets_also`` companions (0x0008 → 0x0009 …)."""
    out = code
    for other in spec.rtm(code).sets_also:
        out |= other
    return out


def offered_a(spec: Any) -> float:
    """A session current below the rated one, so a draw above it (overcurrent margin,
    hardware factor) still fits an AC load's range: the rated current halved, not
    below the minimum."""
    rated = float(spec.ratings["max_current_a"].value)
    return max(float(spec.ratings["min_current_a"].value), rated / 2)


def limit_offer(b: Bench, amps: float) -> None:
    """Cap the offered current: the device limit (c_DeviceLimit_I, 0.1 A steps) where
    the profile has it, else a ChargePointMaxProfile (testcases/pilot/checks.cap_offer)."""
    cap_offer(b.csms, b.spec, amps)


def charge(b: Bench, amps: float) -> int:
    """A session in state C with the AC load drawing ``amps``; returns the transactionId."""
    tx = start_charging(b.csms, b.ev, b.charger)
    b.ac_load.set_current(amps)
    b.ac_load.enable(True)
    assert b.clock.wait_until(lambda: abs(b.ac_load.measure().current - amps) < ZERO_A,
                              REACT_S), f"the load does not draw {amps} A while Charging"
    return tx


def rtm(b: Bench) -> int | None:
    """The RTM register, None while the console cannot answer (board off, booting)."""
    try:
        return b.charger.rtm_code()
    except InstrumentError:
        return None


def has(b: Bench, mask: int) -> bool:
    value = rtm(b)
    return value is not None and value & mask == mask


def _pattern(fault: Any) -> str:
    return f"^{re.escape(fault.display)}$"


def showing(b: Bench, what: int | str) -> bool:
    """Whether the unit shows the fault now: its RTM bits (EV NET), else its display
    string (EV PLUS), else a Faulted connector."""
    fault = fault_of(b.spec, what)
    if fault.rtm is not None:
        return has(b, bits(b.spec, fault.rtm.code))
    if fault.display is not None and b.display is not None:
        return re.search(_pattern(fault), b.display.text()) is not None
    return b.charger.status().get("connector") == "Faulted"


def expect_fault(b: Bench, what: int | str, timeout: float = REACT_S) -> dict[str, Any]:
    """SN Faulted with the profile's errorCode; where the profile has RTM codes the RTM
    bit (with its sets_also) and the code in vendorErrorCode (vendorId of the RTM
    table), where the row has a display string that string on the display and the main
    light Faulted (no vendorErrorCode unless the row gives one); the charger Faulted."""
    fault = fault_of(b.spec, what)
    sn = b.csms.wait_for("StatusNotification", timeout=timeout, connectorId=1,
                         status="Faulted")
    assert sn["errorCode"] == fault.ocpp_error_code, \
        f"{fault.condition}: errorCode {sn['errorCode']}, profile {fault.ocpp_error_code}"
    if fault.rtm is not None:
        mask = bits(b.spec, fault.rtm.code)
        assert sn.get("vendorId") == b.spec.ocpp.vendor_ids["rtm"]
        vendor = int(sn["vendorErrorCode"], 16)
        assert vendor & mask == mask, \
            f"vendorErrorCode {sn['vendorErrorCode']} lacks 0x{mask:04X}"
        value = rtm(b)
        assert value is not None and value & mask == mask, \
            f"RTM register {value if value is None else hex(value)} lacks 0x{mask:04X}"
    else:
        assert sn.get("vendorErrorCode") == fault.vendor_error_code, \
            f"{fault.condition}: vendorErrorCode {sn.get('vendorErrorCode')!r}, profile " \
            f"{fault.vendor_error_code!r}"
        if fault.display is not None:
            assert b.display is not None, "a Bench without the display (checks.panel)"
            b.display.wait_for(_pattern(fault), timeout)
            b.led.wait_for("Faulted", timeout=timeout)
    assert b.charger.status()["connector"] == "Faulted"
    return sn.payload


def expect_soft_fault(b: Bench, what: int | str, timeout: float = REACT_S) -> dict[str, Any]:
    """A fault the profile marks stops_charging: false — a StatusNotification with its
    errorCode whose status is not Faulted (004 §4.5: the charger keeps operating); on
    an RTM unit the bit, and the code in vendorErrorCode."""
    fault = fault_of(b.spec, what)
    sn = b.csms.wait_for("StatusNotification", timeout=timeout, connectorId=1,
                         errorCode=fault.ocpp_error_code)
    assert sn["status"] != "Faulted", f"{fault.condition} is soft: {sn.payload}"
    if fault.rtm is not None:
        code = fault.rtm.code
        assert int(sn["vendorErrorCode"], 16) & code == code, sn.payload
        value = rtm(b)
        assert value is not None and value & code == code
    return sn.payload


def _panel_clear(b: Bench) -> bool:
    """No fault string on the display (True where the unit has no display)."""
    if b.display is None:
        return True
    strings = {f.display for f in b.spec.conditions.values() if f.display}
    return b.display.text() not in strings


def expect_no_fault(b: Bench, hold_s: float = HOLD_S) -> None:
    """Nothing shown for ``hold_s`` — no RTM bit (RTM units), no fault string on the
    display and the charger not Faulted (display units) — and nothing Faulted
    reported meanwhile."""
    mark = b.csms.mark()
    end = b.clock.now() + hold_s
    while b.clock.now() < end:
        if b.spec.rtm_codes:
            value = rtm(b)
            assert value == 0, f"RTM register 0x{value or 0:04X}, expected no fault"
            b.clock.sleep(0.25)
        else:
            assert b.charger.status()["connector"] != "Faulted", "the charger is Faulted"
            assert _panel_clear(b), f"display {b.display.text()!r}, expected no fault"
            b.clock.sleep(LOOK_S)
    faulted = [m for m in b.csms.history.calls("StatusNotification")
               if m.index >= mark and m.payload.get("status") == "Faulted"]
    assert not faulted, f"Faulted reported: {faulted[0].payload}"


def expect_stopped(b: Bench) -> None:
    """The contactor is open: the load draws nothing."""
    assert b.clock.wait_until(lambda: b.ac_load.measure().current < ZERO_A, REACT_S), \
        f"the load still draws {b.ac_load.measure().current} A after the fault"


def expect_drawing(b: Bench, amps: float, timeout: float = REACT_S) -> None:
    assert b.clock.wait_until(lambda: abs(b.ac_load.measure().current - amps) < ZERO_A,
                              timeout), f"the load does not draw {amps} A"


def wait_booted(b: Bench) -> None:
    """After mains on: the console answers and the backend accepted the boot."""
    def up() -> bool:
        try:
            return b.charger.status().get("boot") == "Accepted"
        except InstrumentError:
            return False

    assert b.clock.wait_until(up, BOOT_S, poll=0.25), "the charger did not boot"


def apply_rule(b: Bench, rule: str) -> None:
    """One recovery action of the profile's vocabulary."""
    if rule == "auto":
        b.clock.sleep(HOLD_S)
    elif rule == "unplug":
        b.ev.unplug()
        b.clock.sleep(1.0)
    elif rule == "power_cycle":
        b.charger.power_cycle()
        wait_booted(b)
    elif rule == "web_clear":
        b.charger.clear_faults()
        b.clock.sleep(1.0)
    else:
        raise ValueError(f"unknown recovery rule {rule!r}; one of {', '.join(RULES)}")


def expect_cleared(b: Bench, what: int | str, mark: int) -> None:
    """The fault is no longer shown (its RTM bits gone, or its display string) and the
    backend hears NoError for connector 1."""
    fault = fault_of(b.spec, what)
    if fault.rtm is not None:
        mask = bits(b.spec, fault.rtm.code)
        assert b.clock.wait_until(lambda: (rtm(b) or 0) & mask == 0 and rtm(b) is not None,
                                  REACT_S), f"0x{mask:04X} still set: 0x{rtm(b) or 0:04X}"
    else:
        assert b.clock.wait_until(lambda: not showing(b, fault.condition), REACT_S,
                                  poll=LOOK_S), f"{fault.condition} still shown"
    sn = b.csms.wait_for("StatusNotification", since=mark, timeout=REACT_S, connectorId=1,
                         errorCode="NoError")
    assert sn["status"] != "Faulted"


def expect_latched(b: Bench, what: int | str) -> None:
    """Still shown (RTM bit, or display string) and the charger still Faulted."""
    fault = fault_of(b.spec, what)
    if fault.rtm is not None:
        code = fault.rtm.code
        value = rtm(b)
        assert value is not None and value & code == code, \
            f"{fault.rtm.hex} cleared although its recovery is {fault.recovery}"
    else:
        assert showing(b, fault.condition), \
            f"{fault.condition} cleared although its recovery is {fault.recovery}"
    assert b.charger.status()["connector"] == "Faulted"


def expect_recovery(b: Bench, what: int | str, draw: float, mark: int) -> None:
    """The cause is gone (the caller removed it after ``mark``) while charging: a
    condition that recovers ``auto`` clears by itself and charging resumes (EV NET
    voltage band, 001 VendorID2); one that does not stays shown with the outlet dead
    and no Charging for HOLD_S (EV PLUS 003 §5: never reclosed automatically), then
    the first of its recovery rules clears it."""
    fault = fault_of(b.spec, what)
    if fault.auto_recovery:
        b.csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Charging",
                        errorCode="NoError")
        if fault.rtm is not None:
            assert b.charger.rtm_code() == 0
        expect_drawing(b, draw)
        return
    b.clock.sleep(HOLD_S)
    expect_latched(b, what)
    charging = [m for m in b.csms.history.calls("StatusNotification")
                if m.index >= mark and m.payload.get("status") == "Charging"]
    assert not charging, f"reclosed by itself: {charging[0].payload}"
    assert b.ac_load.measure().current < ZERO_A, "current flows again after the trip"
    mark = b.csms.mark()
    apply_rule(b, fault.recovery[0])
    expect_cleared(b, what, mark)


def expect_phases_mismatch(csms: Any, spec: Any, variant: Any, set_phases: Any,
                           shown: Any) -> None:
    """Set the Phases Number the unit is not wired for with ``set_phases(n)``: Faulted
    with the profile's errorCode — fewer phases set than wired is
    phase_config_mismatch, more set than wired reads 0 V on the missing phases
    (undervoltage); ``shown()`` reads the setting back. The right setting back: the
    fault clears by itself (004 §4.2; the profile's recovery is auto)."""
    wrong = 1 if variant.phases == 3 else 3
    fault = spec.fault("phase_config_mismatch" if wrong < variant.phases else "undervoltage")
    mark = csms.mark()
    set_phases(wrong)
    try:
        assert shown() == wrong
        sn = csms.wait_for("StatusNotification", since=mark, timeout=REACT_S, connectorId=1,
                           status="Faulted")
        assert sn["errorCode"] == fault.ocpp_error_code, (fault.condition, sn.payload)
    finally:
        mark = csms.mark()
        set_phases(variant.phases)
    assert shown() == variant.phases
    assert fault.auto_recovery, f"{fault.condition}: the setting put right clears it (004 §4.2)"
    csms.wait_for("StatusNotification", since=mark, timeout=REACT_S, connectorId=1,
                  status="Available", errorCode="NoError")
