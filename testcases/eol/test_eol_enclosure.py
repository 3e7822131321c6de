"""End-of-line steps of the enclosure, after the electrical ones (test_eol.py): the
socket's lock actuator and the tamper sensors. Last because a tripped main-cover
sensor clears only at a power cycle (004 §6 0x100000; profile recovery), the one
boot this file adds.

Every code, errorCode and recovery comes from the profile's ``rtm_codes``; a sensor
whose code the profile does not list is not the unit's (no step for it)."""

from __future__ import annotations

import pytest

from evrig.rig.errors import MissingWire
from evrig.testcases.eol.steps import power_cycle
from evrig.testcases.ocpp.steps import ACCEPTED_TAG
from evrig.testcases.protection.checks import REACT_S

pytestmark = pytest.mark.eol

BOOT_MAX_S = 60.0  # as test_eol.py: the protection testcases' boot budget
# (condition, the faults board's switch, the measurement's name)
SENSORS = (("tamper_panel", "service_cover", "tamper_panel"),
           ("tamper_cover", "tamper", "tamper_cover"))


# -- 9. lock actuator (socketed) -------------------------------------------------------
@pytest.mark.socketed
def test_lock_actuator(csms, ev, charger, clock, measure, eol):
    """The plug locks when an authorised session starts and is freed when it ends
    (002 §2.4, 004 §4.2 Locker): the charger's own lock sense, each in the reaction
    budget."""
    ev.plug(cable_amps=32)
    with eol.charger_wait("response", "plug in: Preparing"):
        csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    charger.present_tag(ACCEPTED_TAG)
    with eol.charger_wait("response", "card: StartTransaction, lock"):
        csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
        locked = clock.wait_until(lambda: charger.status()["lock"] == "locked", REACT_S)
    measure("lock_engaged", float(bool(locked)), low=1, high=1)
    ev.unplug()
    with eol.charger_wait("response", "unplugged: StopTransaction, unlock"):
        csms.wait_for("StopTransaction")
        released = clock.wait_until(lambda: charger.status()["lock"] == "unlocked", REACT_S)
    measure("lock_released", float(bool(released)), low=1, high=1)


# -- 10. tamper sensors ----------------------------------------------------------------
@pytest.mark.applies(any_condition=tuple(condition for condition, _, _ in SENSORS))
def test_tamper_sensors(csms, ev, charger, clock, spec, faults, measure, eol):
    """Open each tamper sensor the profile lists: the RTM bit and a StatusNotification
    with its errorCode and vendorErrorCode reach the backend; a soft one (stops_charging
    false, 004 §4.5) leaves the outlet as it was. Closed again, each is cleared by the
    first recovery its profile row lists that the bench can apply (Clear Faults before
    a power cycle: the power cycle comes once, at the end)."""
    codes = {entry.condition: entry for entry in spec.rtm_codes.values()}
    power_cycle_needed = False
    for condition, switch, name in SENSORS:
        entry = codes.get(condition)
        if entry is None:
            eol.note(f"{name}: not checked (no such code in the profile)")
            continue
        mark = csms.mark()
        try:
            getattr(faults, switch)(True)  # the sensor's relay, else the service console
        except MissingWire as exc:
            eol.note(f"{name}: not checked ({exc})")
            continue
        with eol.charger_wait("response", f"{name} open: RTM and StatusNotification"):
            seen = clock.wait_until(lambda c=entry.code: charger.rtm_code() & c, REACT_S)
            sn = csms.wait_for("StatusNotification", since=mark, connectorId=1,
                               errorCode=entry.ocpp_error_code, timeout=REACT_S)
        measure(f"{name}_rtm_code", charger.rtm_code() & entry.code if seen else 0,
                low=entry.code, high=entry.code)
        measure(f"{name}_vendor_error_code", int(sn["vendorErrorCode"], 16) & entry.code,
                low=entry.code, high=entry.code)
        if not spec.fault(condition).stops_charging:
            assert sn["status"] != "Faulted", f"{entry.hex} is soft (004 §4.5): {sn.payload}"
        getattr(faults, switch)(False)
        if "web_clear" in entry.recovery:
            charger.clear_faults()
            with eol.charger_wait("response", f"{name}: Clear Faults"):
                cleared = clock.wait_until(lambda c=entry.code: charger.rtm_code() & c == 0,
                                           REACT_S)
            measure(f"{name}_cleared", float(bool(cleared)), low=1, high=1)
        else:
            assert "power_cycle" in entry.recovery, f"{entry.hex}: no recovery a bench applies"
            power_cycle_needed = True
    if power_cycle_needed:
        mark = csms.mark()
        t_on = power_cycle(charger, clock, ev, eol)
        csms.wait_for("BootNotification", since=mark, timeout=BOOT_MAX_S)
        up = csms.wait_for("StatusNotification", since=mark, connectorId=1,
                           status="Available", timeout=REACT_S)
        eol.delay("boot", up.timestamp - t_on,
                  "the main-cover sensor clears at a power cycle: mains on to Available")
        measure("tamper_cleared_by_power_cycle", charger.rtm_code(), low=0, high=0)
