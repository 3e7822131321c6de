"""The display strings of 003 §7.1.2 that are not protection trips (those are
test_reclosing.py; ERR MET is test_power_management.py): ERR FAN, ERR ELK (both
directions), ERR PP. Each is caused through what a bench has (the service console's
fan override, the lock jam, the EV's PP resistor), shows the row's errorCode and
display string, and clears with the row's recovery — not with an act outside it.

ERR CAN ADDR (faults.can_bus_fault) has no testcase: the virtual bench has no CAN bus
(the profile row's note says so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from evrig.testcases.evplus.steps import (
    expect_faulted,
    expect_still_faulted,
    recover,
    recovery_params,
)
from evrig.testcases.ocpp.steps import ACCEPTED_TAG, plug_in, start_charging
from evrig.testcases.protection.checks import REACT_S

pytestmark = pytest.mark.applies(display=True)  # a character display shows faults


@dataclass(frozen=True)
class Case:
    condition: str
    cause: Callable[[Any], None]  # from idle: reaches the fault
    remove: Callable[[Any], None]  # the cause gone (the user's fix), before the recovery
    socket: bool = False


def _fan(f: Any) -> None:
    start_charging(f.csms, f.ev, f.charger, ACCEPTED_TAG)
    f.charger.fan_blocked(True)  # read while the fan runs: the relay is closed


def _lock_jammed_at_start(f: Any) -> None:
    f.charger.lock_jam(True)
    plug_in(f.csms, f.ev)
    f.charger.present_tag(ACCEPTED_TAG)


def _lock_jammed_at_end(f: Any) -> None:
    start_charging(f.csms, f.ev, f.charger, ACCEPTED_TAG)
    f.charger.lock_jam(True)
    f.charger.present_tag(ACCEPTED_TAG)  # the card ends it: the lock cannot release


def _bad_cable(f: Any) -> None:
    f.ev.set_pp(None)  # a cable whose PP resistor cannot be read
    f.ev.set_state("B")
    f.csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    f.charger.present_tag(ACCEPTED_TAG)


CASES = (
    Case("fan_failed", _fan, lambda f: f.charger.fan_blocked(False)),
    Case("lock_failed", _lock_jammed_at_start, lambda f: f.charger.lock_jam(False), socket=True),
    Case("unlock_failed", _lock_jammed_at_end, lambda f: f.charger.lock_jam(False),
         socket=True),
    Case("pp_missing", _bad_cable, lambda f: None, socket=True),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``case, rule`` for each local act of the row's recovery; ``case, other_rule`` for
    each act not in it. Socket-only rows only on a socket unit."""
    if "case" not in metafunc.fixturenames:
        return
    from evrig.fixtures.params import run_profile

    wanted = "rule" in metafunc.fixturenames
    params = recovery_params(run_profile(metafunc.config), CASES, wanted, lambda case: (
        pytest.mark.applies(display=True, conditions=(case.condition,),
                            **({"connector": "socket"} if case.socket else {}))))
    metafunc.parametrize(("case", "rule" if wanted else "other_rule"), params)


@dataclass
class Fixtures:
    csms: Any
    ev: Any
    charger: Any
    clock: Any
    spec: Any


@pytest.fixture
def unit(csms, ev, charger, clock, spec) -> Fixtures:
    return Fixtures(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec)


def test_the_string_shows_and_its_recovery_clears_it(unit: Fixtures, display, case: Case,
                                                     rule: str):
    f = unit
    mark = f.csms.mark()
    case.cause(f)
    expect_faulted(f.csms, f.spec, case.condition, display, since=mark)
    case.remove(f)
    expect_still_faulted(f.csms, f.charger, f.clock)
    mark = f.csms.mark()
    recover(rule, f.ev, f.charger, f.clock, f.csms, f.spec)
    sn = f.csms.wait_for("StatusNotification", since=mark, connectorId=1, errorCode="NoError",
                         timeout=REACT_S if rule == "unplug" else 60.0)
    assert sn["status"] != "Faulted"


def test_an_act_outside_the_recovery_leaves_it(unit: Fixtures, display, case: Case,
                                               other_rule: str):
    f = unit
    mark = f.csms.mark()
    case.cause(f)
    expect_faulted(f.csms, f.spec, case.condition, display, since=mark)
    case.remove(f)
    recover(other_rule, f.ev, f.charger, f.clock, f.csms, f.spec)
    expect_still_faulted(f.csms, f.charger, f.clock)
