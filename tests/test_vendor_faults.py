"""Faults are vendor-neutral conditions (design §5): a charger whose profile has no
RTM register (EV PLUS shows strings on a display, 003 §7.1.2) runs on the same twin
with a ``faults:`` table, and its recovery rules are the table's, not EV NET's."""

from __future__ import annotations

import dataclasses

import pytest

from evrig.rig.profile import FaultShown, Profile
from evrig.rig.typed_yaml import Invalid
from tests.twin_doubles import EVNET, Bench

NOTE = "a test vendor: no RTM register, faults shown as display strings"


def _display_vendor(**rows: FaultShown) -> Profile:
    return dataclasses.replace(EVNET, rtm_codes={}, faults=rows)


DISPLAY_VENDOR = _display_vendor(
    overcurrent=FaultShown(condition="overcurrent", ocpp_error_code="OverCurrentFailure",
                           recovery=("power_cycle",), display="ERR OCP", note=NOTE),
    overvoltage=FaultShown(condition="overvoltage", ocpp_error_code="OverVoltage",
                           recovery=("auto",), display="ERR OVP", note=NOTE),
)


def test_a_vendor_without_rtm_codes_shows_its_own_fault() -> None:
    b = Bench(profile=DISPLAY_VENDOR)
    b.charge(amps=38.5)  # above 1.2 × 32 A: the hardware trip, at once
    b.step(0.01)
    assert b.fw.active == {"overcurrent"} and b.fw.rtm == 0
    assert b.fw.error_code() == ("OverCurrentFailure", None)
    assert DISPLAY_VENDOR.fault("overcurrent").display == "ERR OCP"


def test_its_recovery_rules_are_its_own() -> None:
    """EV NET clears an overcurrent on unplug and from the web client; this vendor's
    table says power cycle only (as EV PLUS never recloses by itself, 003 §5)."""
    b = Bench(profile=DISPLAY_VENDOR)
    b.charge(amps=38.5)
    b.step(0.01)
    b.circuit.load_enabled = False
    b.unplug()
    b.fw.clear_faults()
    b.step(0.25)
    assert b.fw.active == {"overcurrent"}
    evnet = Bench()
    evnet.charge(amps=38.5)
    evnet.step(0.01)
    assert evnet.fw.active == {"overcurrent"}
    evnet.circuit.load_enabled = False
    evnet.unplug()
    assert evnet.fw.active == set()


def test_a_condition_its_profile_does_not_list_is_not_detected() -> None:
    b = Bench(profile=DISPLAY_VENDOR)
    b.set_fault(ln_swapped=True)  # EV NET's 0x0002; this vendor's table has no such row
    b.plug()
    b.step(0.25)
    assert b.fw.active == set() and b.fw.connector_status() != "Faulted"


def test_a_condition_is_shown_one_way() -> None:
    with pytest.raises(Invalid, match="no RTM code shows already") as refused:
        dataclasses.replace(EVNET, faults={"overcurrent": DISPLAY_VENDOR.faults["overcurrent"]})
    assert refused.value.key == "faults.overcurrent"
