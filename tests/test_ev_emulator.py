"""The EV emulator driver: CP sense arithmetic, the IEC duty formula, the relay table."""

from __future__ import annotations

import random

import pytest

from evrig.drivers.ev.cp_sense import (
    CpReading,
    analyse,
    cp_state,
    duty_for_current,
    offered_current,
    pwm_from_edges,
)
from evrig.drivers.ev.emulator import CP_RELAYS, PP_RELAYS, STATE_RELAYS, EvEmulator
from evrig.rig.clock import Clock
from evrig.rig.config import EvPins
from evrig.rig.errors import MissingWire
from evrig.sim.ev_board import VirtualCpBoard

PINS = EvPins()
NAME_OF = {getattr(PINS, n): n for n in (*CP_RELAYS, "diode_short", *PP_RELAYS.values())}


def pwm(duty: float, freq: float = 1000.0, periods: int = 20, jitter_s: float = 0.0,
        phase: float = 0.0, seed: int = 3) -> list[tuple[float, bool]]:
    rnd = random.Random(seed)
    period = 1 / freq
    edges = []
    for k in range(periods):
        rise = 5.0 + phase + k * period
        edges.append((rise + rnd.uniform(-jitter_s, jitter_s), True))
        edges.append((rise + period * duty / 100 + rnd.uniform(-jitter_s, jitter_s), False))
    return edges


class FakeGpio:
    def __init__(self) -> None:
        self.levels: dict[int, bool] = {}
        self.log: list[tuple[str, bool]] = []
        self.inputs: set[int] = set()

    def setup_output(self, pin: int) -> None:
        self.levels[pin] = False

    def setup_input(self, pin: int) -> None:
        self.inputs.add(pin)

    def write(self, pin: int, level: bool) -> None:
        self.levels[pin] = level
        self.log.append((NAME_OF[pin], level))

    def read(self, pin: int) -> bool:
        return self.levels.get(pin, False)

    def close(self) -> None:
        pass

    def closed(self) -> set[str]:
        return {NAME_OF[p] for p, level in self.levels.items() if level}


class FakeSense:
    def __init__(self, edges: list[tuple[float, bool]], levels: tuple[float, float]) -> None:
        self._edges, self._levels = edges, levels
        self.windows: list[float] = []

    def edges(self, window_s: float) -> list[tuple[float, bool]]:
        self.windows.append(window_s)
        return self._edges

    def levels(self) -> tuple[float, float]:
        return self._levels

    def close(self) -> None:
        pass


# --- duty and frequency from edges ---------------------------------------------------------


@pytest.mark.parametrize("duty", [10.0, 16.67, 53.33, 90.0, 96.0])
def test_duty_and_frequency_from_clean_edges(duty):
    d, f = pwm_from_edges(pwm(duty))
    assert d == pytest.approx(duty, abs=0.01)
    assert f == pytest.approx(1000.0, abs=0.1)


@pytest.mark.parametrize("freq", [980.0, 1020.0])
def test_frequency_at_the_iec_tolerance_edges(freq):
    assert pwm_from_edges(pwm(25.0, freq=freq))[1] == pytest.approx(freq, abs=0.5)


def test_jitter_averages_out():
    # ±5 µs on every edge of a 1 ms period: a single period is off by up to 1 %.
    d, f = pwm_from_edges(pwm(53.33, jitter_s=5e-6, periods=40, phase=0.0004))
    assert d == pytest.approx(53.33, abs=0.1)
    assert f == pytest.approx(1000.0, abs=2.0)


def test_a_glitch_and_a_missed_edge_do_not_move_the_duty():
    edges = pwm(30.0)
    edges.append((edges[10][0] + 0.00001, False))  # bounce right after a rise
    edges.append((edges[10][0] + 0.00002, True))
    del edges[21]  # a lost falling edge: two rises in a row
    d, f = pwm_from_edges(edges)
    assert d == pytest.approx(30.0, abs=0.5)
    assert f == pytest.approx(1000.0, abs=5)


def test_edges_out_of_order_are_sorted():
    edges = pwm(40.0)
    random.Random(1).shuffle(edges)
    assert pwm_from_edges(edges)[0] == pytest.approx(40.0, abs=0.01)


@pytest.mark.parametrize("edges", [[], [(1.0, True)], [(1.0, True), (1.0004, False)]])
def test_no_complete_period_is_no_pwm(edges):
    assert pwm_from_edges(edges) is None


def test_steady_levels_read_as_100_or_0_percent():
    assert analyse([], 12.0, 12.0) == CpReading("A", 12.0, 12.0, 100.0, 0.0)
    assert analyse([], 0.0, 0.0) == CpReading("E", 0.0, 0.0, 0.0, 0.0)
    assert analyse([], -12.0, -12.0).state == "F"


@pytest.mark.parametrize(("volts", "state"), [
    (12.0, "A"), (11.0, "A"), (9.0, "B"), (8.0, "B"), (6.0, "C"), (3.0, "D"), (0.0, "E"),
    (-12.0, "F"), (7.5, "?"), (4.5, "?"),
])
def test_cp_state_bands(volts, state):
    assert cp_state(volts) == state


# --- offered current: IEC 61851-1 Annex A ----------------------------------------------


@pytest.mark.parametrize(("duty", "amps"), [
    (0.0, 0.0), (5.0, 0.0),            # 5 % = digital communication
    (7.9, 0.0), (8.0, 6.0), (9.9, 6.0),  # < 8 % no charging; 8-10 % = 6 A
    (10.0, 6.0), (16.0, 9.6), (50.0, 30.0), (53.33, 32.0), (85.0, 51.0),
    (85.1, 52.75), (90.0, 65.0), (96.0, 80.0),
    (97.0, 80.0), (97.1, 0.0), (100.0, 0.0),  # > 97 % no charging
])
def test_offered_current_formula_at_band_edges(duty, amps):
    assert offered_current(duty) == pytest.approx(amps, abs=0.01)


@pytest.mark.parametrize("amps", [6, 10, 13, 16, 20, 32, 51, 63, 80])
def test_duty_for_current_is_the_inverse(amps):
    assert offered_current(duty_for_current(amps)) == pytest.approx(amps, abs=0.01)


def test_below_6a_no_pwm():
    assert duty_for_current(5.9) == 0.0


# --- the driver ------------------------------------------------------------------------


def test_read_cp_and_offered_current_from_the_sense():
    sense = FakeSense(pwm(33.33, jitter_s=2e-6), (9.0, -12.0))
    ev = EvEmulator(FakeGpio(), PINS, Clock(1.0), sense=sense)
    reading = ev.read_cp()
    assert reading.state == "B"
    assert reading.duty_pct == pytest.approx(33.33, abs=0.1)
    assert reading.freq_hz == pytest.approx(1000, abs=2)
    assert ev.offered_current() == pytest.approx(20.0, abs=0.1)


def test_offered_current_without_pwm_is_zero():
    ev = EvEmulator(FakeGpio(), PINS, Clock(1.0), sense=FakeSense([], (9.0, 9.0)))
    assert ev.offered_current() == 0.0


def test_read_cp_without_sense_is_a_missing_wire():
    with pytest.raises(MissingWire, match="CP sense"):
        EvEmulator(FakeGpio(), PINS, Clock(1.0)).read_cp()


@pytest.mark.parametrize("state", list(STATE_RELAYS))
def test_relay_table_per_state(state):
    gpio = FakeGpio()
    ev = EvEmulator(gpio, PINS, Clock(1.0))
    for start in STATE_RELAYS:
        ev.set_state(start)
        ev.set_state(state)
        assert gpio.closed() == set(STATE_RELAYS[state]), f"{start} → {state}"


def test_c_to_a_never_leaves_r_c_alone():
    gpio = FakeGpio()
    ev = EvEmulator(gpio, PINS, Clock(1.0))
    ev.set_state("C")
    gpio.log.clear()
    ev.set_state("A")
    closed = {"r_b", "r_c"}
    for name, level in gpio.log:
        (closed.add if level else closed.discard)(name)
        assert closed != {"r_c"}


def test_safe_state_is_a_with_diode_and_no_cable():
    gpio = FakeGpio()
    ev = EvEmulator(gpio, PINS, Clock(1.0))
    ev.plug(13)
    ev.diode(False)
    ev.safe_state()
    assert gpio.closed() == set()
    assert ev.status.state == "A" and ev.status.diode and ev.status.pp_ohms is None


class FakeResistor:
    def __init__(self) -> None:
        self.values: list[float | None] = []

    def set(self, ohms: float | None) -> None:
        self.values.append(ohms)


def test_raw_pp_needs_a_programmable_resistor():
    ev = EvEmulator(FakeGpio(), PINS, Clock(1.0))
    with pytest.raises(MissingWire, match="pp_programmable"):
        ev.set_pp(1100)


def test_raw_pp_goes_to_the_resistor_with_relays_open():
    gpio, resistor = FakeGpio(), FakeResistor()
    ev = EvEmulator(gpio, PINS, Clock(1.0), pp_resistor=resistor)
    ev.set_pp(220)
    assert gpio.closed() == {"pp_220"} and resistor.values[-1] is None
    ev.set_pp(2460.0)
    assert gpio.closed() == set() and resistor.values[-1] == 2460.0
    assert ev.status.pp_ohms == 2460.0
    ev.set_pp(None)
    assert resistor.values[-1] is None


# --- the virtual comparator -------------------------------------------------------------


def test_virtual_comparator_edges_on_the_spec_time_axis():
    clock = Clock(50.0)
    board = VirtualCpBoard(clock, lambda: (53.33, 1000.0, 9.0, -12.0))
    t0 = clock.now()
    edges = board.edges(0.02)
    t1 = clock.now()
    assert t1 - t0 >= 0.02  # the window takes its time, in spec seconds
    assert edges and t0 <= edges[0][0] and edges[-1][0] <= t1
    reading = analyse(edges, *board.levels())
    assert reading.duty_pct == pytest.approx(53.33, abs=0.2)
    assert reading.freq_hz == pytest.approx(1000, abs=5)
    assert reading.state == "B"


def test_virtual_comparator_steady_level_has_no_edges():
    board = VirtualCpBoard(Clock(1000.0), lambda: (100.0, 0.0, 12.0, 12.0))
    assert board.edges(0.01) == []
    assert board.levels() == (12.0, 12.0)


# --- on the virtual bench ----------------------------------------------------------------

def test_virtual_bench_cp_sense_follows_the_twin(rig, ev, charger):
    try:
        assert rig.clock.wait_until(lambda: ev.read_cp().state == "A", 30), ev.read_cp()
        ev.plug(cable_amps=13)
        assert rig.clock.wait_until(lambda: ev.read_cp().state == "B", 30), ev.read_cp()
        assert ev.read_cp().freq_hz == 0  # no PWM before the session is authorised
        charger.present_tag("TAG-ACCEPTED-01")
        assert rig.clock.wait_until(lambda: ev.read_cp().freq_hz > 0, 30), ev.read_cp()
        reading = ev.read_cp()
        assert reading.state == "B" and reading.low_v < -11
        assert 980 <= reading.freq_hz <= 1020
        assert ev.offered_current() == pytest.approx(13, abs=0.2)
    finally:
        rig.safe_state()
