"""Phases: the Phases Number setting against the wiring (004 §4.2 "Incorrect setting
will result in a fault state!"), and protection on every phase of a three-phase unit
(004 Technical specification: voltage and overcurrent limits per phase; §6 VendorID1:
"the currents offered on the three phases are always identical").

Every expected value comes from the profile (``spec``); what a unit wired for one
phase cannot show is deselected there (fixtures/applicability.py)."""

from __future__ import annotations

import pytest

from evrig.testcases.protection.checks import (
    VOLT_MARGIN_V,
    Bench,
    charge,
    expect_fault,
    expect_phases_mismatch,
    expect_recovery,
    expect_stopped,
    limit_offer,
    offered_a,
    panel,
)

OVERVOLTAGE = "overvoltage"  # the profile's condition (EV NET RTM 0x1000)
# Relative agreement of the phase currents a three-phase load reads (a load's current
# reading is good to about 1 %; 2 % leaves room for the charger's own board on L1).
SAME_A = 0.02


@pytest.fixture
def bench(request, csms, ev, charger, clock, spec, ac_source, ac_load) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 ac_source=ac_source, ac_load=ac_load, **panel(request, spec))


@pytest.mark.applies(conditions=("phase_config_mismatch",))
def test_phases_setting_must_match_the_wiring(csms, charger, spec, variant):
    """Set the Phases Number the unit is not wired for: Faulted with the profile's
    errorCode — fewer phases set than wired is phase_config_mismatch, more set than
    wired reads 0 V on the missing phases (undervoltage). The right setting back: the
    fault clears as its recovery rule says."""
    expect_phases_mismatch(csms, spec, variant, charger.configure_phases,
                           lambda: int(charger.status()["phases"]))


@pytest.mark.applies(phases=3)
def test_every_phase_draws_the_offered_current(bench: Bench):
    """One pilot, one offer: the load draws the offered current on L1, L2 and L3 alike,
    and the source delivers it on each phase."""
    b = bench
    draw = offered_a(b.spec)
    limit_offer(b, draw)
    charge(b, draw)
    assert abs(b.ev.offered_current() - draw) <= draw * SAME_A
    load, source = b.ac_load.measure(), b.ac_source.measure()
    assert len(load.phase_currents) == 3, load
    for phase, (drawn, delivered) in enumerate(
            zip(load.phase_currents, source.phase_currents, strict=True), start=1):
        assert abs(drawn - draw) <= draw * SAME_A, f"L{phase}: load draws {drawn} A"
        assert delivered >= drawn * (1 - SAME_A), f"L{phase}: source delivers {delivered} A"


@pytest.mark.applies(phases=3)
@pytest.mark.parametrize("phase", [2, 3])
def test_overvoltage_on_one_phase_trips(bench: Bench, phase: int):
    """One phase alone above the software band (the others at nominal) faults the unit
    (the overvoltage condition as the unit shows it, its errorCode) and the load goes
    dead on every phase; that phase back at nominal, the fault clears as its recovery
    says: by itself with charging resuming (EV NET), or not before the first recovery
    of its row (EV PLUS, 003 §5)."""
    b = bench
    vp = b.spec.protections.voltage
    _low, high = vp.limits(0)
    draw = offered_a(b.spec)
    limit_offer(b, draw)
    charge(b, draw)
    b.ac_source.set_voltage(high + VOLT_MARGIN_V, phase=phase)
    expect_fault(b, OVERVOLTAGE)
    expect_stopped(b)
    assert all(a < draw * SAME_A for a in b.ac_load.measure().phase_currents)
    mark = b.csms.mark()
    b.ac_source.set_voltage(float(vp.nominal_v), phase=phase)
    expect_recovery(b, OVERVOLTAGE, draw, mark)


@pytest.mark.applies(phases=3)
def test_overcurrent_on_one_phase_trips(bench: Bench):
    """L2 alone drawing more than the hardware factor × the rated current (004:
    I_L > 1.2 × I_max per phase) trips the unit at once (the overcurrent condition)."""
    b = bench
    oc = b.spec.protections.overcurrent
    draw = offered_a(b.spec)
    limit_offer(b, draw)
    charge(b, draw)
    rated = float(b.spec.ratings["max_current_a"].value)
    b.ac_load.set_current(rated * oc.hw_trip_factor * 1.02, phase=2)
    expect_fault(b, "overcurrent")
    expect_stopped(b)


@pytest.mark.applies(phases=3, rtm=True)
@pytest.mark.parametrize("phase", [2, 3])
def test_losing_one_phase_while_charging_faults(bench: Bench, phase: int):
    """A three-phase unit loses L2 or L3 while charging (0 V on that phase, the others
    at nominal): a configured phase with no voltage is the undervoltage fault (profile
    rtm_codes 0x2000 note; 004 §4.3.2 item 1 'all phases properly connected'), the load
    dead on every phase; the phase back, the fault clears as its recovery says. (EV
    PLUS shows a missing phase as ERR MIS: testcases/evplus/test_reclosing.py.)"""
    b = bench
    vp = b.spec.protections.voltage
    draw = offered_a(b.spec)
    limit_offer(b, draw)
    charge(b, draw)
    b.ac_source.set_voltage(0.0, phase=phase)
    expect_fault(b, "undervoltage")
    expect_stopped(b)
    assert all(a < draw * SAME_A for a in b.ac_load.measure().phase_currents)
    mark = b.csms.mark()
    b.ac_source.set_voltage(float(vp.nominal_v), phase=phase)
    expect_recovery(b, "undervoltage", draw, mark)
