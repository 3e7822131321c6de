"""Every RTM code of the profile (001 VendorID2, 000 App. I) that a rig can produce:
the fault as the service console and the backend see it, the contactor open, and
each recovery rule of the profile's vocabulary — a rule listed for the code clears
it, a rule not listed does not (e.g. unplugging does not clear a residual-current
trip). Stimuli: testcases/protection/stimuli.py."""

from __future__ import annotations

from typing import Any

import pytest

from evrig.fixtures.params import run_profile
from evrig.rig.profile import available_profiles, load_profile
from evrig.testcases.protection.checks import (
    HOLD_S,
    RULES,
    Bench,
    apply_rule,
    charge,
    expect_cleared,
    expect_drawing,
    expect_fault,
    expect_latched,
    expect_soft_fault,
    expect_stopped,
    limit_offer,
    offered_a,
)
from evrig.testcases.protection.stimuli import NOT_PRODUCIBLE, STIMULI, Stimulus

# About the RTM register: a family without one (EV PLUS, display strings) is deselected;
# its faults are testcases/protection/test_thresholds.py, test_phases.py and the
# family's own (testcases/evplus/test_reclosing.py), through the same checks.
pytestmark = pytest.mark.applies(rtm=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The stimuli of the codes this rig's profile lists (another family's codes, such
    as the EV NET 7 kW's 0x0060, are not the unit's), each with every rule. A profile
    without codes gets one placeholder that the ``applies`` marker deselects (not an
    empty parameter set, which pytest would report as a skip)."""
    if "stim" not in metafunc.fixturenames:
        return
    codes = run_profile(metafunc.config).rtm_codes
    if not codes:
        metafunc.parametrize(("stim", "rule"), [pytest.param(
            None, None, id="no-rtm-codes", marks=pytest.mark.applies(rtm=True))])
        return
    params: list[Any] = []
    for stim in STIMULI:
        if stim.code not in codes:
            continue
        marks = [pytest.mark.socketed] if stim.socketed else []
        for rule in RULES:
            params.append(pytest.param(stim, rule, marks=marks, id=f"{stim.id}-{rule}"))
    metafunc.parametrize(("stim", "rule"), params)


@pytest.fixture
def bench(csms, ev, charger, clock, spec, ac_source, ac_load, faults) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 ac_source=ac_source, ac_load=ac_load, faults=faults)


def test_every_code_has_a_stimulus_or_a_reason(spec):
    """The stimulus table follows the profile: every code is produced, is a flag set
    only with another code (0x4000), or is listed with the reason no rig can make it;
    a code the profile marks socket_only is marked socketed here."""
    flags = {f for r in spec.rtm_codes.values() for f in r.sets_also}
    produced = {s.code for s in STIMULI}
    for code, entry in spec.rtm_codes.items():
        assert code in produced or code in flags or code in NOT_PRODUCIBLE, \
            f"{entry.hex} {entry.name}: no stimulus and no reason"
    shipped = [load_profile(name).rtm_codes for name in available_profiles()]
    for stim in STIMULI:
        assert any(stim.code in codes for codes in shipped), \
            f"{stim.id}: not a code of any shipped profile"
        if stim.code in spec.rtm_codes:
            assert stim.socketed or not spec.rtm(stim.code).socket_only, \
                f"{stim.id}: socket_only in the profile, not marked socketed"


def test_rtm_fault_and_recovery(bench: Bench, stim: Stimulus, rule: str):
    """Produce the code's condition; expect the RTM bit (+ sets_also), SN Faulted with
    the profile's errorCode and the code in vendorErrorCode, the load dead; then
    apply ``rule``: it clears the fault iff the profile lists it for the code."""
    b = bench
    entry = b.spec.rtm(stim.code)
    draw = offered_a(b.spec)
    if stim.setup == "charging":
        limit_offer(b, draw)
        charge(b, draw)
    stim.apply(b)
    if not b.spec.fault(entry.condition).stops_charging:
        # A "soft" fault (004 §4.5 terminal-panel tamper): reported, the session goes on.
        expect_soft_fault(b, stim.code, timeout=stim.timeout)
        if stim.setup == "charging":
            expect_drawing(b, draw)
        if stim.remove is not None:
            stim.remove(b)
        mark = b.csms.mark()
        if rule != "auto":
            apply_rule(b, rule)
        if rule in entry.recovery:
            expect_cleared(b, stim.code, mark)
        else:  # still reported: the bit stays until a rule the profile lists
            b.clock.sleep(HOLD_S)
            assert (b.charger.rtm_code() & stim.code) == stim.code, \
                f"{entry.hex} cleared by {rule}; its recovery is {entry.recovery}"
        return
    expect_fault(b, stim.code, timeout=stim.timeout)
    if stim.setup == "charging" and stim.outlet_dead:
        expect_stopped(b)
    if stim.setup == "charging" and not stim.outlet_dead:
        # The relay stays live (welded): the charger can only stop offering current.
        assert b.ev.read_cp().freq_hz == 0, "PWM still offered with the fault"

    listed = rule in entry.recovery
    if entry.auto_recovery and rule != "auto":
        # An auto-recovering fault follows its cause: with the cause still present,
        # no other action clears it.
        apply_rule(b, rule)
        b.clock.wait_until(lambda: (b.charger.rtm_code() & stim.code) == stim.code, 3)
        expect_latched(b, stim.code)
        return
    if stim.remove is not None:
        stim.remove(b)
    mark = b.csms.mark()
    if rule == "auto" and listed:
        expect_cleared(b, stim.code, mark)
        if stim.setup == "charging":
            b.csms.wait_for("StatusNotification", since=mark, connectorId=1, status="Charging")
            expect_drawing(b, draw)
        return
    apply_rule(b, rule)
    if listed:
        expect_cleared(b, stim.code, mark)
    else:
        expect_latched(b, stim.code)
