"""Contactor switching times (IEC 61851-1, design §8; profile ``timing``): power at the
outlet within contactor_close_max_s after the EV asks (B → C), gone within
contactor_open_max_s after it stops asking (C → B).

Measured where the EV sees it, from two stamps made where the events happen
(design §4): the spec time the EV emulator put the new state on CP (stamped after
its last relay write) and the edge of the outlet's voltage seen by the board's
outlet sense (an opto-isolated L–N detector, drivers/ev/outlet_sense.py). Neither
depends on how fast this test polls: a busy machine makes the test see the edge
later, never at another time. The AC load draws a constant current meanwhile, so
the charger switches under load as with a car.
"""

from __future__ import annotations

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, plug_in

PRESENT_A = 0.5  # above this the load draws; below it the outlet is dead (our threshold)


def test_contactor_close_and_open(csms, ev, charger, clock, spec, ac_load, measure):
    """EV authorised in B with the load set to the minimum current: B → C closes the
    contactor within contactor_close_max_s (current at the load); C → B opens it
    within contactor_open_max_s (current gone)."""
    draw = float(spec.ratings["min_current_a"].value)
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    assert clock.wait_until(lambda: ev.read_cp().freq_hz > 0, 2), "no PWM after authorisation"
    ac_load.set_current(draw)
    ac_load.enable(True)
    assert ac_load.measure().current <= PRESENT_A, "current at the outlet before state C"

    close_max = spec.timing.contactor_close_max_s
    t0 = ev.set_state("C")
    closed_s = ev.wait_outlet(True, since=t0, timeout=2 * close_max) - t0
    measure("contactor_close_s", closed_s, high=close_max, unit="s")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")
    assert ac_load.measure().current > PRESENT_A, "outlet live but the load draws nothing"

    open_max = spec.timing.contactor_open_max_s
    t0 = ev.set_state("B")
    opened_s = ev.wait_outlet(False, since=t0, timeout=max(1.0, 10 * open_max)) - t0
    measure("contactor_open_s", opened_s, high=open_max, unit="s")
    csms.wait_for("StatusNotification", connectorId=1, status="SuspendedEV")
    assert ac_load.measure().current <= PRESENT_A, "outlet dead but the load still draws"


def test_contactor_stays_open_in_b(csms, ev, charger, clock, spec, ac_load):
    """Authorised but in B (the EV does not ask): no current at the load for longer
    than the close time — the contactor only follows C."""
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ac_load.set_current(float(spec.ratings["min_current_a"].value))
    ac_load.enable(True)
    since = clock.now()
    clock.sleep(spec.timing.contactor_close_max_s + 0.5)
    live = [t for t, on in ev.outlet_edges(since) if on]
    assert not live and not ev.outlet_live(), f"outlet live in state B (at t={live})"
    assert ac_load.measure().current <= PRESENT_A, "load draws in state B"
