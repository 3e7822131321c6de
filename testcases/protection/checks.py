"""Steps the protection testcases share: reach a charging session with the AC load
drawing, expect an RTM fault as the backend and the service console see it, apply
a recovery rule of the profile (``rtm_codes[].recovery``) and see whether it clears.

Every expected value comes from the profile (``spec``); every wait is in spec seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evrig.rig.errors import InstrumentError
from evrig.testcases.ocpp.steps import configure, start_charging

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
    """Cap the offered current by the device limit (c_DeviceLimit_I, 0.1 A steps)."""
    configure(b.csms, c_DeviceLimit_I=int(round(amps * 10)))


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


def expect_fault(b: Bench, code: int, timeout: float = REACT_S) -> dict[str, Any]:
    """The RTM bit (with its sets_also), SN Faulted with the profile's errorCode and the
    code in vendorErrorCode (vendorId of the RTM table)."""
    entry = b.spec.rtm(code)
    mask = bits(b.spec, code)
    sn = b.csms.wait_for("StatusNotification", timeout=timeout, connectorId=1,
                         status="Faulted")
    assert sn["errorCode"] == entry.ocpp_error_code, \
        f"{entry.hex} {entry.name}: errorCode {sn['errorCode']}, profile {entry.ocpp_error_code}"
    assert sn.get("vendorId") == b.spec.ocpp.vendor_ids["rtm"]
    vendor = int(sn["vendorErrorCode"], 16)
    assert vendor & mask == mask, f"vendorErrorCode {sn['vendorErrorCode']} lacks 0x{mask:04X}"
    value = rtm(b)
    assert value is not None and value & mask == mask, \
        f"RTM register {value if value is None else hex(value)} lacks 0x{mask:04X}"
    assert b.charger.status()["connector"] == "Faulted"
    return sn.payload


def expect_soft_fault(b: Bench, code: int, timeout: float = REACT_S) -> dict[str, Any]:
    """A fault the profile marks stops_charging: false — the RTM bit, and a
    StatusNotification with its errorCode and the code in vendorErrorCode whose status
    is not Faulted (004 §4.5: the charger keeps operating)."""
    entry = b.spec.rtm(code)
    sn = b.csms.wait_for("StatusNotification", timeout=timeout, connectorId=1,
                         errorCode=entry.ocpp_error_code)
    assert sn["status"] != "Faulted", f"{entry.hex} {entry.name} is soft: {sn.payload}"
    assert int(sn["vendorErrorCode"], 16) & code == code, sn.payload
    value = rtm(b)
    assert value is not None and value & code == code
    return sn.payload


def expect_no_fault(b: Bench, hold_s: float = HOLD_S) -> None:
    """No RTM bit for ``hold_s`` and nothing Faulted reported meanwhile."""
    mark = b.csms.mark()
    end = b.clock.now() + hold_s
    while b.clock.now() < end:
        value = rtm(b)
        assert value == 0, f"RTM register 0x{value or 0:04X}, expected no fault"
        b.clock.sleep(0.25)
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


def expect_cleared(b: Bench, code: int, mark: int) -> None:
    """The fault's bits are gone and the backend hears NoError for connector 1."""
    mask = bits(b.spec, code)
    assert b.clock.wait_until(lambda: (rtm(b) or 0) & mask == 0 and rtm(b) is not None,
                              REACT_S), f"0x{mask:04X} still set: 0x{rtm(b) or 0:04X}"
    sn = b.csms.wait_for("StatusNotification", since=mark, timeout=REACT_S, connectorId=1,
                         errorCode="NoError")
    assert sn["status"] != "Faulted"


def expect_latched(b: Bench, code: int) -> None:
    value = rtm(b)
    assert value is not None and value & code == code, \
        f"{b.spec.rtm(code).hex} cleared although its recovery is {b.spec.rtm(code).recovery}"
    assert b.charger.status()["connector"] == "Faulted"


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
