"""Steps the EV PLUS testcases share (003: a charger that starts with a card, shows
its faults as display strings, never recloses a protection by itself and manages its
power with an external meter). Expected values from the profile (``spec``); every
wait in spec seconds.

The OCPP side of a fault (StatusNotification Faulted with the profile row's errorCode)
is what every bench shows; where the front-panel camera is on the rig the display
string of the row is checked too (``display``, 003 §7.1.2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from evrig.testcases.protection.checks import HOLD_S, REACT_S, ZERO_A, Bench, wait_booted


def expect_faulted(csms: Any, spec: Any, condition: str, display: Any = None,
                   since: int | None = None, timeout: float = REACT_S) -> Any:
    """SN Faulted with the errorCode of the profile's row for ``condition``; with a
    display, its string (the row's ``display``) on the character display."""
    row = spec.fault(condition)
    sn = csms.wait_for("StatusNotification", since=since, timeout=timeout, connectorId=1,
                       status="Faulted")
    assert sn["errorCode"] == row.ocpp_error_code, \
        f"{row.display} ({condition}): errorCode {sn['errorCode']}, profile {row.ocpp_error_code}"
    if display is not None and row.display:
        display.wait_for(re.escape(row.display), timeout=timeout)
    return sn


def expect_still_faulted(csms: Any, charger: Any, clock: Any, hold_s: float = HOLD_S) -> None:
    """Not reclosed: for ``hold_s`` nothing but Faulted is reported and the charger
    still says Faulted (003 §5)."""
    mark = csms.mark()
    clock.sleep(hold_s)
    other = [m.payload for m in csms.history.calls("StatusNotification")
             if m.index >= mark and m.payload.get("connectorId") == 1
             and m.payload.get("status") != "Faulted"]
    assert not other, f"reclosed by itself: {other[0]}"
    assert charger.status()["connector"] == "Faulted"


def drawn_a(ac_load: Any) -> float:
    """The most loaded phase's current (one-phase loads: their current)."""
    reading = ac_load.measure()
    return max(list(reading.phase_currents) or [reading.current])


def expect_dead(clock: Any, ac_load: Any, timeout: float = REACT_S) -> None:
    """The contactor is open: the load draws nothing on any phase."""
    assert clock.wait_until(lambda: drawn_a(ac_load) < ZERO_A, timeout), \
        f"the load still draws {ac_load.measure()} after the fault"


def recover(rule: str, ev: Any, charger: Any, clock: Any, csms: Any, spec: Any) -> None:
    """One local recovery act of the profile's vocabulary, as the user does it (003 §5:
    never remote): ``unplug`` (the cable out) or ``power_cycle`` (the installation's
    supply off and on)."""
    if rule == "unplug":
        ev.unplug()
        clock.sleep(1.0)
    elif rule == "power_cycle":
        charger.power_cycle()
        wait_booted(Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec))
    else:
        raise ValueError(f"{rule!r} is not a local recovery of the EV PLUS (unplug, "
                         "power_cycle)")


LOCAL_ACTS = ("unplug", "power_cycle")  # what a user at the unit can do (profile recovery)


def recovery_params(spec: Any, cases: Iterable[Any], wanted: bool,
                    marks: Callable[[Any], Any]) -> list[Any]:
    """(case, act) params: each case of a condition the profile lists, with each local
    act IN its row's recovery (``wanted``) or NOT in it; ``marks(case)`` its marker."""
    params = []
    for case in cases:
        if case.condition not in spec.conditions:
            continue
        row = spec.fault(case.condition)
        for rule in LOCAL_ACTS:
            if (rule in row.recovery) == wanted:
                params.append(pytest.param(case, rule, id=f"{case.condition}-{rule}",
                                           marks=marks(case)))
    return params
