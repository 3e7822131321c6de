"""Every RTM code of the profile (001 VendorID2, 000 App. I) that a rig can produce:
the fault as the service console and the backend see it, the contactor open, and
each recovery rule of the profile's vocabulary — a rule listed for the code clears
it, a rule not listed does not (e.g. unplugging does not clear a residual-current
trip). Stimuli: testcases/protection/stimuli.py."""

from __future__ import annotations

from typing import Any

import pytest

from evrig.testcases.protection.checks import (
    RULES,
    Bench,
    apply_rule,
    charge,
    expect_cleared,
    expect_drawing,
    expect_fault,
    expect_latched,
    expect_stopped,
    limit_offer,
    offered_a,
)
from evrig.testcases.protection.stimuli import NOT_PRODUCIBLE, STIMULI, Stimulus


def _params() -> list[Any]:
    out: list[Any] = []
    for stim in STIMULI:
        marks = [pytest.mark.socketed] if stim.socketed else []
        for rule in RULES:
            out.append(pytest.param(stim, rule, marks=marks, id=f"{stim.id}-{rule}"))
    return out


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
    for stim in STIMULI:
        assert stim.code in spec.rtm_codes, f"{stim.id}: not a code of the profile"
        assert stim.socketed or not spec.rtm(stim.code).socket_only, \
            f"{stim.id}: socket_only in the profile, not marked socketed"


@pytest.mark.parametrize(("stim", "rule"), _params())
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
