"""Production statistics of end-of-line runs (``rig report``): yields, retests, process
capability and the failure Pareto. Pure functions over the runs that
rig/report_data.py reads from the results store; rig/report_html.py shows them.

Definitions (capability indices as in the AIAG SPC manual, 2nd edition):

Units and runs. The runs are the EOL runs the report's filters select (regression runs
of a firmware are not production and are left out). A unit is a serial number; its
runs are taken in time order (start, then run id). A run passed when its outcome is
``passed``; a failed, aborted or error run did not pass.

- yield = units whose last run passed / units. The last run is the unit's state: a
  retest that passes makes it good, a later run that fails makes it bad again.
- first-pass yield (FPY) = units whose first run passed / units.
- retests = runs − units, every run of a unit after its first; units retested = units
  with more than one run.

Capability, per measurement — its name, unit and limits within one profile (a limit
changed by a new profile release is another measurement, not one mixed distribution) —
over the numeric values of every run that has it, in time order (retests included:
each is a real measurement of the process):

- μ = the mean; σ_within = MR̄ / d₂ with MR̄ the mean moving range |xᵢ − xᵢ₋₁| of
  consecutive values and d₂ = 1.128 (subgroups of 2: individual values); σ_overall =
  the sample standard deviation (n − 1).
- Cpk = min(USL − μ, μ − LSL) / (3 σ_within); Ppk the same with σ_overall.
- One limit only: the one-sided index, CPU = (USL − μ) / (3σ) or CPL = (μ − LSL) / (3σ)
  (PPU, PPL with σ_overall), shown as the Cpk and Ppk of that measurement.
- No index (``None``, shown "n/a") where it would mean nothing: fewer than 2 values, no
  spread (σ = 0, or below a billionth of the values' scale: float rounding), no limits,
  or an exact-value check (LSL = USL: a code, a yes/no), which shows its failures only.

Failure Pareto. Each run that did not pass has causes: each measurement that failed;
where none failed, each step that failed or errored; where none did, the run's outcome
(an aborted run, an error before any step). Counted over every run (retests too: each
failure cost a station's time), largest first, with the cumulative share.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter

import numpy as np

D2 = 1.128  # d₂ of subgroups of size 2 (moving ranges of individual values)


@dataclass(frozen=True)
class Run:
    """One run as the report needs it (its measurements go to :class:`Series`)."""

    run_id: str
    serial: str
    start: str
    outcome: str
    kind: str = "eol"
    station: str = ""
    profile: str = ""
    firmware: str = ""
    n_measurements: int = 0
    n_failed: int = 0
    record_path: str = ""
    causes: tuple[str, ...] = ()  # why it did not pass (module docstring: Pareto)

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


@dataclass(frozen=True)
class SeriesKey:
    profile: str
    name: str
    unit: str
    low: float | None
    high: float | None

    @property
    def exact(self) -> bool:
        """An exact-value check (a code, a yes/no): no distribution to speak of."""
        return self.low is not None and self.low == self.high

    def label(self) -> str:
        return f"{self.profile} · {self.name}"


@dataclass(slots=True)
class Series:
    """The values of one measurement over the selected runs, in time order."""

    key: SeriesKey
    values: list[float] = field(default_factory=list)
    checked: int = 0  # every record of it, numeric or not
    failed: int = 0  # those with the verdict FAIL


@dataclass(frozen=True)
class Capability:
    key: SeriesKey
    n: int
    checked: int
    failed: int
    mean: float | None
    sigma_within: float | None
    sigma_overall: float | None
    cpk: float | None
    ppk: float | None

    @property
    def sides(self) -> str:
        """Which index Cpk is: ``two-sided``, ``upper`` (CPU) or ``lower`` (CPL)."""
        if self.key.low is not None and self.key.high is not None:
            return "two-sided"
        return "upper" if self.key.high is not None else "lower"


@dataclass(frozen=True)
class Yields:
    units: int
    runs: int
    passed_units: int
    first_pass_units: int
    retested_units: int

    @property
    def retests(self) -> int:
        return self.runs - self.units

    @property
    def yield_(self) -> float | None:
        return self.passed_units / self.units if self.units else None

    @property
    def first_pass_yield(self) -> float | None:
        return self.first_pass_units / self.units if self.units else None


def index(mean: float, sigma: float, low: float | None, high: float | None) -> float | None:
    """min(USL − μ, μ − LSL) / 3σ over the limits there are; None without a spread.
    A σ below a billionth of the values' scale is no spread either: it is float
    rounding (a simulated 2.0000000000004547 s beside 2.0 s), not the process, and
    would give a Cpk of 10¹³."""
    scale = max([abs(mean)] + [abs(v) for v in (low, high) if v is not None])
    if not math.isfinite(sigma) or sigma <= 1e-9 * scale or sigma <= 0:
        return None
    sides = [d for d in ((None if high is None else high - mean),
                         (None if low is None else mean - low)) if d is not None]
    return min(sides) / (3 * sigma) if sides else None


def capability(series: Series) -> Capability:
    key, n = series.key, len(series.values)
    if n == 0:
        return Capability(key, 0, series.checked, series.failed, None, None, None, None, None)
    x = np.asarray(series.values, dtype=float)
    mean = float(x.mean())
    within = float(np.abs(np.diff(x)).mean()) / D2 if n >= 2 else None
    overall = float(x.std(ddof=1)) if n >= 2 else None
    cpk = ppk = None
    if not key.exact:
        cpk = None if within is None else index(mean, within, key.low, key.high)
        ppk = None if overall is None else index(mean, overall, key.low, key.high)
    return Capability(key, n, series.checked, series.failed, mean, within, overall, cpk, ppk)


def by_unit(runs: Iterable[Run]) -> dict[str, list[Run]]:
    """Each unit's runs in time order (the runs come from the store sorted by start and
    run id, and are sorted again here so that any caller's order gives the same)."""
    units: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        units[run.serial].append(run)
    for history in units.values():
        if len(history) > 1:
            history.sort(key=_in_time)
    return units


_in_time = attrgetter("start", "run_id")


def yields(runs: Sequence[Run]) -> Yields:
    return _yields(list(by_unit(runs).values()))


def _yields(histories: Sequence[list[Run]]) -> Yields:
    """The yields of units given by their runs in time order. Groups (per station, per
    day) are made of histories, not of runs: regrouping 100,000 runs by unit again for
    each of them took most of a big report's statistics."""
    return Yields(units=len(histories), runs=sum(len(h) for h in histories),
                  passed_units=sum(h[-1].passed for h in histories),
                  first_pass_units=sum(h[0].passed for h in histories),
                  retested_units=sum(len(h) > 1 for h in histories))


def breakdown(runs: Sequence[Run], attribute: str) -> list[tuple[str, Yields]]:
    """Yields per station, firmware …: each unit, with all its runs, in the group of
    its first run (where it was first tested), so the groups add up to the total."""
    groups: dict[str, list[list[Run]]] = defaultdict(list)
    for history in by_unit(runs).values():
        groups[str(getattr(history[0], attribute) or "—")].append(history)
    return [(name, _yields(groups[name])) for name in sorted(groups)]


def daily(runs: Sequence[Run]) -> list[tuple[str, Yields]]:
    """Yields per UTC day of each unit's first run: the day's production."""
    days: dict[str, list[list[Run]]] = defaultdict(list)
    for history in by_unit(runs).values():
        days[history[0].start[:10]].append(history)
    return [(day, _yields(days[day])) for day in sorted(days)]


def pareto(runs: Iterable[Run]) -> list[tuple[str, int]]:
    """(cause, runs failed by it), largest first, then by name."""
    counts = Counter(cause for run in runs if not run.passed for cause in run.causes)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
