"""Protection thresholds of the profile (``spec.protections``), each just inside
(no trip) and just outside (trip): residual current AC and DC (and DC ignored with
c_RCDProtectionType = 2), N–PE voltage, L/N swap and open PE, overcurrent (margin,
delay, hardware factor), over/undervoltage for several c_VoltageProtectionOffset
values with the condition's recovery, the board's hardware shutdown, and the
actuator's number of attempts.

Faults are the profile's conditions, observed as the unit shows them
(testcases/protection/checks.py: RTM register on EV NET, display string on EV PLUS);
what a unit does not have (an AC residual-current device, the offset or RCD-type key)
is deselected from its profile (fixtures/applicability.py)."""

from __future__ import annotations

import pytest

from evrig.testcases.ocpp.steps import ACCEPTED_TAG, configure
from evrig.testcases.protection.checks import (
    VOLT_MARGIN_V,
    ZERO_A,
    Bench,
    charge,
    expect_drawing,
    expect_fault,
    expect_no_fault,
    expect_recovery,
    expect_stopped,
    limit_offer,
    offered_a,
    panel,
    rtm,
    showing,
    wait_booted,
)

# The profile's fault conditions (RTM 0x0001, 0x0008, 0x0002, 0x0004, 0x1000, 0x2000,
# 0x0020, 0x0040 on EV NET).
RCD_AC = "leakage_ac"
RCD_DC = "leakage_dc"
NEUTRAL = "neutral_fault"
OVERCURRENT = "overcurrent"
OVERVOLTAGE = "overvoltage"
UNDERVOLTAGE = "undervoltage"
LOCK = "lock_failed"
UNLOCK = "unlock_failed"
# Relative step "just inside/outside" a current threshold: a charger's current
# measurement is good to about 1 %.
STEP = 0.02


@pytest.fixture
def bench(request, csms, ev, charger, clock, spec, ac_source, ac_load, faults) -> Bench:
    return Bench(csms=csms, ev=ev, charger=charger, clock=clock, spec=spec,
                 ac_source=ac_source, ac_load=ac_load, faults=faults, **panel(request, spec))


def _charging(b: Bench) -> float:
    draw = offered_a(b.spec)
    limit_offer(b, draw)
    charge(b, draw)
    return draw


# -- residual current ------------------------------------------------------------------
@pytest.mark.applies(conditions=(RCD_AC,))
@pytest.mark.parametrize(("factor", "trips"), [(0.9, False), (1.0, True), (1.1, True)])
def test_rcd_ac(bench: Bench, factor: float, trips: bool):
    """AC leakage at 0.9 / 1.0 / 1.1 × rcd.ac_ma: below the rating no trip, at and
    above it 0x0001 (000 §2.1.3.1 Type A 30 mA)."""
    b = bench
    draw = _charging(b)
    b.faults.leakage(factor * b.spec.protections.rcd.ac_ma)
    if trips:
        expect_fault(b, RCD_AC)
        expect_stopped(b)
    else:
        expect_no_fault(b)
        expect_drawing(b, draw)


@pytest.mark.parametrize(("factor", "trips"), [(0.9, False), (1.0, True), (1.1, True)])
def test_rcd_dc(bench: Bench, factor: float, trips: bool):
    """Smooth DC leakage at 0.9 / 1.0 / 1.1 × rcd.dc_ma: 0x0008 with 0x0001 (000 App. I)
    on EV NET; the leakage fault (ERR IRD, 003 §6.4: above 6 mA DC) on EV PLUS."""
    b = bench
    draw = _charging(b)
    b.faults.leakage(factor * b.spec.protections.rcd.dc_ma, dc=True)
    if trips:
        expect_fault(b, RCD_DC)
        if b.spec.fault(RCD_DC).rtm is not None:
            assert b.charger.rtm_code() & b.spec.fault_code(RCD_AC), "0x0008 without 0x0001"
        expect_stopped(b)
    else:
        expect_no_fault(b)
        expect_drawing(b, draw)


@pytest.mark.applies(tables=("protections.rcd.type_key",))
def test_rcd_dc_ignored_when_ac_only(bench: Bench):
    """c_RCDProtectionType = 2 (001 App. II: only AC protection): DC leakage above
    dc_ma does not trip; AC leakage above ac_ma still does."""
    b = bench
    configure(b.csms, **{b.spec.protections.rcd.type_key: 2})
    draw = _charging(b)
    b.faults.leakage(1.1 * b.spec.protections.rcd.dc_ma, dc=True)
    expect_no_fault(b)
    expect_drawing(b, draw)
    b.faults.leakage(1.1 * b.spec.protections.rcd.ac_ma)
    expect_fault(b, RCD_AC)
    assert not b.charger.rtm_code() & b.spec.fault_code(RCD_DC)


# -- neutral / PEN ---------------------------------------------------------------------
@pytest.mark.parametrize(("delta_v", "trips"), [(-5.0, False), (5.0, True)])
def test_neutral_voltage(bench: Bench, delta_v: float, trips: bool):
    """N–PE voltage a few volts below / above neutral.n_pe_max_v (001: > 70 Vrms)."""
    b = bench
    draw = _charging(b)
    b.faults.neutral_voltage(b.spec.protections.neutral.n_pe_max_v + delta_v)
    if trips:
        expect_fault(b, NEUTRAL)
        expect_stopped(b)
    else:
        expect_no_fault(b)
        expect_drawing(b, draw)


@pytest.mark.parametrize("wiring", ["swap_ln", "pe_open"])
def test_neutral_wiring(bench: Bench, wiring: str):
    """L and N swapped, or PE open (increased PE resistance): 0x0002 (001 VendorID2);
    ERR PE on EV PLUS (profile faults.neutral_fault note)."""
    b = bench
    _charging(b)
    getattr(b.faults, wiring)(True)
    expect_fault(b, NEUTRAL)
    expect_stopped(b)


# -- overcurrent -----------------------------------------------------------------------
def test_overcurrent_just_below_margin(bench: Bench):
    """A draw just under offered × (1 + margin) for longer than the delay: no fault."""
    b = bench
    oc = b.spec.protections.overcurrent
    draw = _charging(b)
    below = draw * (1 + oc.margin_pct / 100 - STEP)
    b.ac_load.set_current(below)
    expect_no_fault(b, hold_s=oc.delay_s + 2)
    expect_drawing(b, below)


def test_overcurrent_after_delay(bench: Bench, measure):
    """A draw just over offered × (1 + margin): no fault before delay_s, 0x0004 after
    it; the trip time is measured against [delay_s, delay_s + 1 s]."""
    b = bench
    oc = b.spec.protections.overcurrent
    draw = _charging(b)
    above = draw * (1 + oc.margin_pct / 100 + STEP)
    t0 = b.clock.now()
    b.ac_load.set_current(above)
    expect_no_fault(b, hold_s=oc.delay_s - 1)
    # The trip is dated by the outlet's edge, stamped where it happens (design §4).
    tripped = b.ev.wait_outlet(False, since=t0, timeout=oc.delay_s + 3)
    measure("overcurrent_trip_s", tripped - t0, low=oc.delay_s, high=oc.delay_s + 1,
            unit="s")
    assert b.clock.wait_until(lambda: showing(b, OVERCURRENT), 3, poll=0.05), \
        "no overcurrent fault after the delay"
    expect_fault(b, OVERCURRENT)
    expect_stopped(b)


@pytest.mark.parametrize(("factor", "immediate"), [(1 - STEP, False), (1 + STEP, True)])
def test_overcurrent_hardware_trip(bench: Bench, measure, factor: float, immediate: bool):
    """A draw just over hw_trip_factor × I_max trips at once (001 Technical specification,
    no delay given: measured against half the firmware delay); just under it, nothing
    trips before the firmware's delay."""
    b = bench
    oc = b.spec.protections.overcurrent
    _charging(b)
    amps = factor * oc.hw_trip_factor * float(b.spec.ratings["max_current_a"].value)
    t0 = b.clock.now()
    b.ac_load.set_current(amps)
    if immediate:
        tripped = b.ev.wait_outlet(False, since=t0, timeout=oc.delay_s)
        measure("hw_overcurrent_trip_s", tripped - t0, high=oc.delay_s / 2, unit="s")
        assert b.ac_load.measure().current < ZERO_A, "outlet dead but the load still draws"
        expect_fault(b, OVERCURRENT)
    else:
        expect_no_fault(b, hold_s=oc.delay_s - 1)


# -- supply voltage --------------------------------------------------------------------
# The default band, a mid value, the widest band; the two widened ones only where the
# profile has the offset key (EV PLUS: a fixed band, no key).
_WIDENED = pytest.mark.applies(tables=("protections.voltage.offset_key",))
OFFSETS = [0, pytest.param(10, marks=_WIDENED), pytest.param("max", marks=_WIDENED)]


@pytest.mark.parametrize("offset", OFFSETS, ids=lambda o: f"offset{o}")
@pytest.mark.parametrize("side", ["over", "under"])
def test_voltage_band(bench: Bench, offset: int | str, side: str):
    """c_VoltageProtectionOffset widens the software band [low − offset, high + offset]
    (001 App. II): a supply VOLT_MARGIN_V inside it keeps charging; one outside it
    faults 0x1000/0x2000 with the auto-recovery flag 0x4000 and the load dead; back at
    nominal the fault clears by itself and charging resumes (001 VendorID2) — or, where
    the profile gives the condition no ``auto`` recovery (EV PLUS ERR OVP / ERR LVP, 003
    §5), it stays until the first recovery of its row."""
    b = bench
    vp = b.spec.protections.voltage
    value = vp.offset_max_v if offset == "max" else int(offset)
    if value:
        configure(b.csms, **{vp.offset_key: value})
    low, high = vp.limits(value)
    sign, limit, code = (1, high, OVERVOLTAGE) if side == "over" else (-1, low, UNDERVOLTAGE)
    draw = _charging(b)
    b.ac_source.set_voltage(limit - sign * VOLT_MARGIN_V)
    expect_no_fault(b)
    expect_drawing(b, draw)
    b.ac_source.set_voltage(limit + sign * VOLT_MARGIN_V)
    expect_fault(b, code)
    expect_stopped(b)
    mark = b.csms.mark()
    b.ac_source.set_voltage(float(vp.nominal_v))
    expect_recovery(b, code, draw, mark)


@pytest.mark.applies(hw_shutdown=True)
def test_hardware_undervoltage_shutdown(bench: Bench):
    """001 Technical specification: the board shuts down below hw_undervoltage_v
    (± hw_tolerance_v). Just above the band it runs (with the software undervoltage
    fault); below the band it is off (console silent, backend connection lost); back
    at nominal it boots and charges no more faults."""
    b = bench
    vp = b.spec.protections.voltage
    above = vp.hw_undervoltage_v + vp.hw_tolerance_v + VOLT_MARGIN_V
    below = vp.hw_undervoltage_v - vp.hw_tolerance_v - VOLT_MARGIN_V
    b.ac_source.set_voltage(above)
    expect_fault(b, UNDERVOLTAGE)
    b.ac_source.set_voltage(below)
    assert b.clock.wait_until(lambda: not b.csms.connected, 10), "board still on"
    assert rtm(b) is None, "the console answers with the board shut down"
    b.ac_source.set_voltage(float(vp.nominal_v))
    wait_booted(b)
    b.csms.wait_for("StatusNotification", connectorId=1, status="Available",
                    errorCode="NoError", timeout=10)


@pytest.mark.applies(hw_shutdown=True)
def test_hardware_overvoltage_shutdown(bench: Bench):
    """001 Technical specification: the board shuts down above hw_overvoltage_v
    (± hw_tolerance_v). Just below the band it runs (software overvoltage fault);
    above the band it is off. Needs an AC source reaching above the band."""
    b = bench
    vp = b.spec.protections.voltage
    below = vp.hw_overvoltage_v - vp.hw_tolerance_v - VOLT_MARGIN_V
    above = vp.hw_overvoltage_v + vp.hw_tolerance_v + VOLT_MARGIN_V
    b.ac_source.set_voltage(below)
    expect_fault(b, OVERVOLTAGE)
    try:
        b.ac_source.model.check_range("voltage", above, "V")
    except ValueError as exc:
        pytest.skip(f"hardware overvoltage shutdown above {above:g} V: {exc}")
    b.ac_source.set_voltage(above)
    assert b.clock.wait_until(lambda: not b.csms.connected, 10), "board still on"


# -- actuator lock ---------------------------------------------------------------------
@pytest.mark.socketed
@pytest.mark.parametrize("fails", ["attempts-1", "attempts"])
def test_actuator_lock_attempts(bench: Bench, fails: str):
    """002 §2.4: five attempts to lock, then a fault (EV PLUS: the profile's 3, ERR ELK).
    The actuator fails its first attempts − 1 tries: the session starts; it fails all
    of them: the lock fault, no session."""
    b = bench
    attempts = b.spec.protections.actuator.attempts
    n = attempts - 1 if fails == "attempts-1" else attempts
    b.charger.lock_jam_attempts(n)
    b.ev.plug(cable_amps=32)
    b.csms.wait_for("StatusNotification", connectorId=1, status="Preparing")
    b.charger.present_tag(ACCEPTED_TAG)
    if n < attempts:
        b.csms.wait_for("StartTransaction", connectorId=1, idTag=ACCEPTED_TAG)
        assert not showing(b, LOCK)
    else:
        expect_fault(b, LOCK)
        assert not b.csms.history.calls("StartTransaction")


@pytest.mark.socketed
@pytest.mark.parametrize("fails", ["attempts-1", "attempts"])
def test_actuator_unlock_attempts(bench: Bench, fails: str):
    """002 §2.4: five attempts to unlock at the end of a session, then the unlock fault
    (EV PLUS: the profile's 3, ERR ELK)."""
    b = bench
    attempts = b.spec.protections.actuator.attempts
    n = attempts - 1 if fails == "attempts-1" else attempts
    _charging(b)
    b.charger.lock_jam_attempts(n)
    b.charger.present_tag(ACCEPTED_TAG)
    b.csms.wait_for("StopTransaction")
    if n < attempts:
        expect_no_fault(b, hold_s=1)
    else:
        expect_fault(b, UNLOCK)
