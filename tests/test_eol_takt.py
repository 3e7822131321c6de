"""The EOL's takt time per step (rig.takt) and the arithmetic of its metering step
(testcases/eol/metering.py): load points, the energy through the load, the register's
limits."""

from __future__ import annotations

import textwrap
from types import SimpleNamespace
from typing import Any

import pytest

from evrig.rig.profile import load_profile
from evrig.rig.records import DelayRecord, StepRecord
from evrig.rig.takt import StepTakt, TaktPlugin, render
from evrig.testcases.eol.metering import (
    LoadEnergy,
    load_points,
    register_count_wh,
    register_limits,
)


def test_a_step_splits_into_the_chargers_own_and_bench_time():
    step = StepTakt("metering", total_s=6.0, body_s=5.0,
                    delays=[DelayRecord("meter sample", 1.1), DelayRecord("meter sample", 1.0),
                            DelayRecord("contactor close", 1.0)])
    assert step.charger_s == pytest.approx(3.1)
    assert step.own_s == pytest.approx(1.9) and step.bench_s == pytest.approx(1.0)
    assert step.grouped() == [("meter sample", 2.1), ("contactor close", 1.0)]
    # a delay stamped past the call's end never makes the own time negative
    assert StepTakt("x", 1.0, 0.5, [DelayRecord("boot", 0.6)]).own_s == 0.0


def test_render_per_step_and_all_steps():
    lines = render([StepTakt("power_up_and_boot", 6.0, 3.0, [DelayRecord("boot", 2.0)]),
                    StepTakt("pp_rating", 0.0, 0.0),  # skipped: not shown
                    StepTakt("identity_and_rtm", 0.5, 0.0)])
    assert len(lines) == 5 and lines[0].startswith("per step, spec s = charger")
    assert lines[1].split()[:5] == ["step", "spec", "s", "charger", "own"]
    assert lines[2].split()[:6] == ["power_up_and_boot", "6.0", "2.0", "1.0", "3.0", "3.00"]
    assert lines[2].endswith("boot 2.0")
    assert lines[3].split() == ["identity_and_rtm", "0.5", "0.0", "0.0", "0.5", "-", "-"]
    assert lines[4].split() == ["all", "steps", "6.5", "2.0", "1.0", "3.5", "3.25"]
    assert render([]) == []


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        self.t += 1.0  # each look at the clock: one spec second later
        return self.t


class _Collector:
    """Gathers a step in its own protocol wrapper's finally, as the EOL collector."""

    name = "fake-eol"

    def __init__(self) -> None:
        self.steps: list[StepRecord] = []
        self.delays: list[DelayRecord] = []
        self.rig = SimpleNamespace(clock=_Clock())

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: Any, nextitem: Any) -> Any:
        try:
            return (yield)
        finally:
            self.steps.append(StepRecord(item.name, "passed", 5.0))
            self.delays.append(DelayRecord("boot", 2.0, item.name))


def test_the_plugin_reads_each_step_after_the_collector_gathered_it(tmp_path):
    (tmp_path / "test_two.py").write_text(textwrap.dedent("""
        def test_one():
            pass

        def test_two():
            pass
    """))
    collector = _Collector()
    takt = TaktPlugin(collector)  # registered first: tryfirst still makes it outermost
    code = pytest.main([str(tmp_path), "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                        "-p", "no:ev_charger_rig", "-p", "no:xdist"], plugins=[takt, collector])
    assert code == 0
    assert [(s.name, s.total_s, s.body_s) for s in takt.steps] == \
        [("test_one", 5.0, 1.0), ("test_two", 5.0, 1.0)]
    assert [[d.why for d in s.delays] for s in takt.steps] == [["test_one"], ["test_two"]]


# -- the metering step's arithmetic -------------------------------------------------------
@pytest.mark.parametrize(("profile", "points"), [("evnet-7kw", [6, 19, 32]),
                                                 ("evnet-compact", [6, 19, 32]),
                                                 ("evplus", [6, 19, 32])])
def test_load_points_are_min_middle_rated(profile, points):
    assert load_points(load_profile(profile)) == points


def test_register_limits_are_the_class_plus_one_count():
    spec = load_profile("evnet-compact")  # class 2 %, 1 Wh
    assert register_count_wh(spec) == 1.0
    low, high = register_limits(spec, 10.0)
    assert (low, high) == pytest.approx((10.0 - 0.2 - 1.0, 10.0 + 0.2 + 1.0))


def test_load_energy_with_a_step():
    energy = LoadEnergy(t_live=10.0)
    energy.add(10.5, 1000.0)  # first reading: its power back to t_live
    energy.add(12.0, 1000.0)
    energy.add(12.0, 4000.0)  # the load stepped at 12.0
    energy.add(13.0, 4000.0)
    # 2 s x 1 kW + 2 s x 4 kW (to the outlet going dead at 14.0) = 10 kJ
    assert energy.wh(14.0) == pytest.approx(10000 / 3600)
    assert LoadEnergy(0.0).wh(5.0) == 0.0


# -- a power cycle: mains off until the unit is seen down ------------------------------------
class _WaitClock:
    """Spec time that moves only when waited on."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s

    def wait_until(self, predicate: Any, timeout: float, poll: float = 0.1) -> bool:
        deadline = self.t + timeout
        while not predicate():
            if self.t >= deadline:
                return False
            self.t += poll
        return True


class _Unit:
    """Mains switch and CP sense of a unit whose supply holds the board up ``hold_s``
    (``None``: fed by another path, the pilot never goes), at ``level`` V meanwhile."""

    def __init__(self, clock: _WaitClock, hold_s: float | None, level: tuple[float, float],
                 sense: bool = True) -> None:
        self.clock, self.hold_s, self.level, self.sense = clock, hold_s, level, sense
        self.switched: list[tuple[float, bool]] = []

    def power(self, on: bool) -> None:
        self.switched.append((self.clock.now(), on))

    def read_cp(self) -> Any:
        from evrig.rig.errors import MissingWire

        if not self.sense:
            raise MissingWire("no CP sense")
        off_at = self.switched[-1][0]
        up = self.hold_s is None or self.clock.now() < off_at + self.hold_s
        high, low = self.level if up else (0.0, 0.0)
        return SimpleNamespace(high_v=high, low_v=low)


class _Eol:
    def __init__(self) -> None:
        self.delays: list[tuple[str, float]] = []

    def delay(self, name: str, seconds: float, why: str = "") -> None:
        self.delays.append((name, seconds))


@pytest.mark.parametrize("level", [(12.0, 12.0), (-12.0, -12.0), (9.0, -12.0)],
                         ids=["state-A", "state-F", "pwm"])
def test_a_power_cycle_waits_until_the_pilot_is_gone(level):
    """Mains on again only once the pilot is gone (a board signalling F at −12 V is
    still up); the hold-up is the charger's delay, "power down"."""
    from evrig.testcases.eol.steps import power_cycle

    clock, eol = _WaitClock(), _Eol()
    unit = _Unit(clock, hold_s=0.3, level=level)
    t_on = power_cycle(unit, clock, unit, eol)
    assert [on for _, on in unit.switched] == [False, True]
    assert t_on == pytest.approx(0.3, abs=0.02)
    [(name, seconds)] = eol.delays
    assert name == "power down" and seconds == pytest.approx(0.3, abs=0.02)


def test_a_board_fed_by_another_path_fails_the_power_cycle_in_bounded_time():
    from evrig.testcases.eol.steps import HOLD_UP_MAX_S, power_cycle

    clock = _WaitClock()
    unit = _Unit(clock, hold_s=None, level=(12.0, 12.0))
    with pytest.raises(AssertionError, match="pilot is still there"):
        power_cycle(unit, clock, unit, _Eol())
    assert clock.now() <= HOLD_UP_MAX_S + 0.1
    assert [on for _, on in unit.switched] == [False]  # never switched on: a fault


def test_without_a_cp_sense_a_power_cycle_keeps_mains_off_for_off_s():
    from evrig.testcases.eol.steps import OFF_S, power_cycle

    clock, eol = _WaitClock(), _Eol()
    unit = _Unit(clock, hold_s=0.3, level=(12.0, 12.0), sense=False)
    assert power_cycle(unit, clock, unit, eol) == pytest.approx(OFF_S)
    assert eol.delays == []  # the sequence's own time, not the charger's
