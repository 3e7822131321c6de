"""``rig compare RUN_A RUN_B``: what changed between two runs (firmware regression,
or two units): steps whose verdict changed, measurements that moved (drift as a
share of the limit band where there are limits), OCPP findings that are new in B.

A release is gated on it, so B's regressions come first and decide the exit code:

- a *regression* is a step that passed in A and did not pass in B — failed, error,
  aborted, skipped, or absent (a testcase that no longer runs proves nothing for the
  release, so a partial B run fails the gate for the steps it left out) — and a run
  whose outcome went from passed to anything else;
- exit code 1 when B has a regression or an OCPP finding A did not have, else 0; a
  run that cannot be found is exit code 2 — an error, told apart from a regression by
  a script, and still not 0: the gate fails closed.

Drift and steps that got better are reported, and decide nothing.

:func:`compare` is pure (records in, :class:`Comparison` out) so it is tested
without a bench; the command finds records by run id or path.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evrig.rig.errors import RigError
from evrig.rig.records import MeasurementRecord, UnitRecord, read_record

DRIFT_SHARE = 0.10  # a move of 10 % of the limit band (or 10 % of the value) is drift


@dataclass
class Drift:
    name: str
    a: Any
    b: Any
    unit: str | None
    share: float | None  # of the limit band (or of |a| without a two-sided band)
    verdict_a: str
    verdict_b: str
    basis: str = "band"

    def __str__(self) -> str:
        share = f" ({self.share * 100:+.0f} % of the {self.basis})" \
            if self.share is not None else ""
        unit = f" {self.unit}" if self.unit else ""

        def show(v: Any) -> str:
            return f"{v:.4g}" if isinstance(v, float) else str(v)

        return f"{self.name}: {show(self.a)}{unit} → {show(self.b)}{unit}{share} " \
               f"[{self.verdict_a} → {self.verdict_b}]"


@dataclass
class Comparison:
    a: UnitRecord
    b: UnitRecord
    verdict_changes: list[tuple[str, str, str]] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    new_findings: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[tuple[str, str, str]]:
        """(step, A's verdict, B's) of each step that passed in A and not in B."""
        return [c for c in self.verdict_changes if c[1] == "passed" and c[2] != "passed"]

    @property
    def outcome_regressed(self) -> bool:
        """The run passed in A and did not in B (also with no step to show for it: an
        error before the first step, a failure outside the steps)."""
        return self.a.outcome == "passed" and self.b.outcome != "passed"

    @property
    def gate_fails(self) -> bool:
        """Whether B must not pass the release gate: a regression or a new finding."""
        return bool(self.regressions or self.outcome_regressed or self.new_findings)

    @property
    def changed(self) -> bool:
        return bool(self.verdict_changes or self.drift or self.new_findings)


def _share(a: MeasurementRecord, b: MeasurementRecord) -> float | None:
    if not isinstance(a.value, int | float) or not isinstance(b.value, int | float):
        return None
    delta = float(b.value) - float(a.value)
    if a.low is not None and a.high is not None and a.high > a.low:
        return delta / (a.high - a.low)
    base = abs(float(a.value))
    return delta / base if base else (0.0 if delta == 0 else float("inf"))


def _key(m: MeasurementRecord) -> str:
    return f"{m.step}/{m.name}" if m.step else m.name


def _finding_text(f: str) -> str:
    """A finding without volatile parts (timestamps, unique ids) for set comparison."""
    import re

    return re.sub(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b|\d+\.\d+ ?s\b", "…", f)


def compare(a: UnitRecord, b: UnitRecord, drift_share: float = DRIFT_SHARE) -> Comparison:
    out = Comparison(a, b)
    steps_a = {s.name: s.outcome for s in a.steps}
    steps_b = {s.name: s.outcome for s in b.steps}
    for name in sorted(steps_a.keys() | steps_b.keys()):
        va, vb = steps_a.get(name, "absent"), steps_b.get(name, "absent")
        if va != vb:
            out.verdict_changes.append((name, va, vb))
    ma = {_key(m): m for m in a.measurements}
    mb = {_key(m): m for m in b.measurements}
    out.only_a = sorted(ma.keys() - mb.keys())
    out.only_b = sorted(mb.keys() - ma.keys())
    for key in sorted(ma.keys() & mb.keys()):
        x, y = ma[key], mb[key]
        share = _share(x, y)
        moved = x.value != y.value if share is None else abs(share) >= drift_share
        if moved or x.outcome != y.outcome:
            basis = "band" if x.low is not None and x.high is not None else "value"
            out.drift.append(Drift(key, x.value, y.value, x.unit, share, x.outcome, y.outcome,
                                   basis))
    seen = {_finding_text(f) for f in a.findings}
    out.new_findings = [f for f in b.findings if _finding_text(f) not in seen]
    return out


def _why(c: Comparison, step: str) -> str:
    """B's message for a step (its first line), or the run's for the run outcome."""
    if step == "run outcome":
        message = c.b.message
    else:
        message = next((s.message for s in c.b.steps if s.name == step), "")
    first = message.splitlines()[0][:150] if message else ""
    return f": {first}" if first else ""


def render(c: Comparison) -> str:
    """Regressions first (what fails the gate), then the runs and everything else."""
    regressions = c.regressions + ([("run outcome", c.a.outcome, c.b.outcome)]
                                   if c.outcome_regressed else [])
    if regressions:
        lines = [f"REGRESSIONS ({len(regressions)}): passed in A, not in B"]
        lines += [f"  {n}: {x} → {y}{_why(c, n)}" for n, x, y in regressions]
    else:
        lines = ["no regressions: every step that passed in A passed in B"]
    lines += [f"A {c.a.run_id}  {c.a.kind} {c.a.serial} firmware {c.a.firmware} → {c.a.outcome}",
              f"B {c.b.run_id}  {c.b.kind} {c.b.serial} firmware {c.b.firmware} → {c.b.outcome}"]
    others = [v for v in c.verdict_changes if v not in regressions]
    lines.append(f"other verdict changes ({len(others)}):")
    lines += [f"  {n}: {x} → {y}" for n, x, y in others] or ["  none"]
    lines.append(f"measurement drift ({len(c.drift)}; ≥ {DRIFT_SHARE:.0%} of the limit band, "
                 "or of the value where there is no two-sided band):")
    lines += [f"  {d}" for d in c.drift] or ["  none"]
    if c.only_a or c.only_b:
        lines.append(f"measured only in A: {', '.join(c.only_a) or '-'}; "
                     f"only in B: {', '.join(c.only_b) or '-'}")
    lines.append(f"new OCPP findings in B ({len(c.new_findings)}):")
    lines += [f"  {f}" for f in c.new_findings] or ["  none"]
    lines.append("gate: FAIL (exit code 1)" if c.gate_fails else "gate: pass (exit code 0)")
    return "\n".join(lines)


def find_record(ref: str, reports: str | Path = "reports") -> UnitRecord:
    """A record by path (file or run folder) or by run id under ``reports``."""
    path = Path(ref)
    if path.exists():
        return read_record(path)
    hits = sorted(Path(reports).glob(f"*/*/{ref}/record.json"))
    if not hits:
        hits = sorted(Path(reports).glob(f"*/*/{ref}*/record.json"))
    if len(hits) != 1:
        what = "no run" if not hits else f"{len(hits)} runs"
        raise RigError(f"{ref}: {what} with that id under {reports}/units or "
                       f"{reports}/regression; give a run id or a record.json path")
    return read_record(hits[0])


def configure(parser: Any) -> None:
    parser.add_argument("run_a", metavar="RUN_A", help="run id or record.json path (before)")
    parser.add_argument("run_b", metavar="RUN_B", help="run id or record.json path (after)")
    parser.add_argument("--reports", default="reports", help="reports folder (default reports)")
    parser.epilog = ("exit code 1 when a step passed in A and not in B (failed, error, "
                     "aborted, skipped or absent), the run went from passed to anything "
                     "else, or B has a new OCPP finding; 2 when a run cannot be found "
                     "or read; else 0")


NOT_COMPARED = 2  # exit code: a run not found or unreadable (not 0: fails closed)


def run_command(args: Any) -> int:
    """Print the comparison, regressions first; exit code 1 when the gate fails, 2
    when the runs cannot be compared."""
    try:
        a, b = find_record(args.run_a, args.reports), find_record(args.run_b, args.reports)
    except RigError as exc:
        print(f"rig compare: {exc}", file=sys.stderr, flush=True)
        return NOT_COMPARED
    result = compare(a, b)
    print(render(result), flush=True)
    return 1 if result.gate_fails else 0
