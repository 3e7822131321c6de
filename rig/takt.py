"""Takt time per EOL step: where each step's spec seconds went.

A step's spec time (the collector's, setup + call + teardown) splits into

- the charger's delays: the waits the step reported (``eol.delay``, ``charger_wait``):
  boot, its answers, contactor, trips, recoveries, blink windows, meter samples;
- the step's own time: the rest of the test function — the bench's instruments and
  calls, and waits the sequence chose (a power-off time, a latch hold);
- the bench between steps: setup and teardown — the rig's start before the first
  step, the keeper's reset after each (fixtures/bench_reset.py), instruments back in
  their safe state.

Where the EOL stands (virtual benches, 2026-12-02, ``rig run eol --serial X --rig
rigs/<bench>.yaml`` on a 2-core machine): spec time over the charger's delays
1.03-1.11x (per bench: benchmarks/README.md, benchmarks/takt_bench.py); 1.48-1.59x
at the start of issue 14. The bench starts dark, so the power-up step's boot is the
run's only one (``powered_off``), and the keeper sends only the reset calls a step's
own calls need.
What is left, per step, and why it stays:

- power_up_and_boot: 0.1-0.3 s bench — the rig's start (instrument connections).
- identity_and_rtm: ~0.1 s bench — the keeper's baseline (GetConfiguration,
  GetLocalListVersion), read once a session, the first time the unit is up.
- cp_walk_and_pwm: ~0.2 s bench — c_DeviceLimit_I (or the ChargePointMaxProfile) back,
  the configuration read back, ClearCache (the card's idTagInfo may be cached, OCPP 1.6
  §3.5.2); 0.1 s own — the EV emulator's CP readings.
- pp_rating, lock_actuator: ~0.06 s bench each — ClearCache.
- transaction_metering: 0.6-0.8 s own on a 7 kW unit — the energy register needs 5
  counts of energy through the load (testcases/eol/metering.py PLAUSIBLE_COUNTS, the
  plausibility check's strength) and the three load points give about 4 Wh: the rest
  is drawn at the rated current (0.1 s on a 22 kW unit); ~0.2 s bench —
  MeterValueSampleInterval back, read back, ClearCache.
- rcd_trip, voltage_trip_and_recovery, led_colours: ~0.1 s bench each — the session the
  step leaves open (RemoteStopTransaction) and ClearCache. Where a recovery is a power
  cycle (EV PLUS RCD, COMPACT tamper) mains stay off until the EV emulator sees the
  pilot gone (steps.power_cycle: the board is down, its supply's hold-up is the
  charger's "power down"); the keeper then resets only what the step's calls changed
  (a connection closed by the step's own power cycle needs no more, bench_reset.py).
- EV PLUS voltage_trip_and_recovery: the latch (003 §5, no reclosing) is shown over one
  window of the belt's blink with the light Faulted and no outlet edge since the cause
  went — the look at the light is the charger's delay; the regression's testcases hold
  a latch for HOLD_S (3 s) on every firmware release, the EOL checks this unit runs it.
  Until 2026-12-02 the EOL held 3 s twice (1.32-1.35x on EV PLUS).

A CSMS round trip costs one step of the bench clock or two (0.03-0.06 spec s at speed
30, more on a loaded machine: spec time follows the machine), so the keeper's calls
scatter from run to run, and with them the last 0.05 of the ratio.

:class:`TaktPlugin` watches a run next to the EOL collector (rig-eol) and keeps one
:class:`StepTakt` a step; :func:`render` prints them for the run's summary.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pytest

from evrig.rig.records import DelayRecord


@dataclass
class StepTakt:
    """One step's spec seconds: in all, in the test function, and the charger's."""

    name: str
    total_s: float
    body_s: float  # the test function (pytest's call phase)
    delays: list[DelayRecord] = field(default_factory=list)

    @property
    def charger_s(self) -> float:
        return sum(d.seconds for d in self.delays)

    @property
    def own_s(self) -> float:
        """The test function's time beyond the charger's delays (never below 0: a
        delay stamped by an instrument may reach a little past the call's end)."""
        return max(0.0, self.body_s - self.charger_s)

    @property
    def bench_s(self) -> float:
        return max(0.0, self.total_s - self.body_s)

    def grouped(self) -> list[tuple[str, float]]:
        out: dict[str, float] = {}
        for d in self.delays:
            out[d.name] = out.get(d.name, 0.0) + d.seconds
        return list(out.items())


class TaktPlugin:
    """Pytest plugin (name ``rig-takt``) beside an :class:`EolCollector`: it reads the
    collector's step and delays once the collector has gathered them, and times the
    call phase on the rig's clock."""

    name = "rig-takt"

    def __init__(self, collector: Any) -> None:
        self.collector = collector
        self.steps: list[StepTakt] = []
        self._body: dict[str, float] = {}

    # tryfirst: the outermost wrapper, so the collector's own (which gathers the step
    # in its finally) has finished when this one reads it.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Any
                                ) -> Generator[None, Any, Any]:
        steps, delays = len(self.collector.steps), len(self.collector.delays)
        try:
            return (yield)
        finally:
            if len(self.collector.steps) > steps:
                step = self.collector.steps[-1]
                self.steps.append(StepTakt(step.name, step.duration_s,
                                           self._body.pop(item.nodeid, 0.0),
                                           list(self.collector.delays[delays:])))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, Any, Any]:
        rig = self.collector.rig
        t0 = rig.clock.now() if rig is not None else None
        try:
            return (yield)
        finally:
            if rig is not None and t0 is not None:
                self._body[item.nodeid] = max(0.0, rig.clock.now() - t0)


def render(steps: list[StepTakt]) -> list[str]:
    """The per-step lines of the summary: spec s = the charger's + own + bench."""
    steps = [s for s in steps if s.total_s > 0 or s.delays]  # not the skipped ones
    if not steps:
        return []
    width = max(24, *(len(s.name) for s in steps))
    lines = ["per step, spec s = charger (its delays, right) + own (the step's instruments "
             "and chosen waits) + bench (start, keeper reset between steps):",
             f"  {'step':<{width}}  {'spec s':>6}  {'charger':>7}  {'own':>5}  "
             f"{'bench':>5}  x      the charger's delays"]
    for s in steps:
        ratio = f"{s.total_s / s.charger_s:.2f}" if s.charger_s > 0 else "-"
        waits = ", ".join(f"{n} {v:.1f}" for n, v in s.grouped()) or "-"
        lines.append(f"  {s.name:<{width}}  {s.total_s:6.1f}  {s.charger_s:7.1f}  "
                     f"{s.own_s:5.1f}  {s.bench_s:5.1f}  {ratio:<5}  {waits}")
    total = sum(s.total_s for s in steps)
    charger = sum(s.charger_s for s in steps)
    own = sum(s.own_s for s in steps)
    bench = sum(s.bench_s for s in steps)
    ratio = f"{total / charger:.2f}" if charger > 0 else "-"
    lines.append(f"  {'all steps':<{width}}  {total:6.1f}  {charger:7.1f}  {own:5.1f}  "
                 f"{bench:5.1f}  {ratio}")
    return lines
