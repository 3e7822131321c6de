"""Contactor switching times (IEC 61851-1, design §8; profile ``timing``): power at the
outlet within contactor_close_max_s after the EV asks (B → C), gone within
contactor_open_max_s after it stops asking (C → B).

Measured where the EV sees it: the AC load (standing in for the EV's on-board
charger) draws a constant current, so current appears and disappears at the load
when the contactor switches. Each load reading is stamped on the rig clock (spec
seconds) before and after its query and dated at the middle (the instrument samples
somewhere inside its query; on the virtual bench one query takes a few spec
milliseconds, since wall time is multiplied by sim.speed). A switch is dated by the
first reading that shows it.
"""

from __future__ import annotations

from testcases.ocpp.steps import ACCEPTED_TAG, plug_in

PRESENT_A = 0.5  # above this the load draws; below it the outlet is dead (our threshold)


def _time_until(clock, ac_load, t0: float, live: bool, timeout: float) -> float:
    """Spec seconds from ``t0`` until a load reading shows current (``live``) or none."""
    deadline = t0 + timeout
    while True:
        t_before = clock.now()
        current = ac_load.measure().current
        t_after = clock.now()
        if (current > PRESENT_A) == live:
            return (t_before + t_after) / 2 - t0
        assert t_after < deadline, \
            f"load current {current} A still {'absent' if live else 'present'} after {timeout} s"


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
    t0 = clock.now()
    ev.set_state("C")
    closed_s = _time_until(clock, ac_load, t0, live=True, timeout=2 * close_max)
    measure("contactor_close_s", closed_s, high=close_max, unit="s")
    csms.wait_for("StatusNotification", connectorId=1, status="Charging")

    open_max = spec.timing.contactor_open_max_s
    t0 = clock.now()
    ev.set_state("B")
    opened_s = _time_until(clock, ac_load, t0, live=False, timeout=max(1.0, 10 * open_max))
    measure("contactor_open_s", opened_s, high=open_max, unit="s")
    csms.wait_for("StatusNotification", connectorId=1, status="SuspendedEV")


def test_contactor_stays_open_in_b(csms, ev, charger, clock, spec, ac_load):
    """Authorised but in B (the EV does not ask): no current at the load for longer
    than the close time — the contactor only follows C."""
    plug_in(csms, ev)
    charger.present_tag(ACCEPTED_TAG)
    csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
    ac_load.set_current(float(spec.ratings["min_current_a"].value))
    ac_load.enable(True)
    end = clock.now() + spec.timing.contactor_close_max_s + 0.5
    while clock.now() < end:
        assert ac_load.measure().current <= PRESENT_A, "outlet live in state B"
        clock.sleep(0.1)
