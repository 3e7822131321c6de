"""What ``rig selftest`` concludes and shows: catches, the matrix, JSON and HTML.

The honesty rule: a defect is *caught* when at least one testcase fails with the
defect injected that PASSED on the healthy twin (the baseline of the same bench and
areas). A testcase that fails on the baseline proves nothing about the defect (the
twin or the testcase is broken, or the machine was too loaded): it is listed as a
baseline failure, never counted as a catch.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from evrig.rig.assembly import Defect
from evrig.rig.selftest_plan import AREAS, FULL, RunResult, area_of

TARGET_PCT = 95.0  # each family's catch rate the command exits 0 for


@dataclass
class Entry:
    """One defect's verdict (one row of the matrix, one entry of selftest.json)."""

    name: str
    family: str
    area: str
    bench: str
    cites: str
    bug: str
    caught: bool
    caught_by: list[str] = field(default_factory=list)
    areas_run: list[str] = field(default_factory=list)
    baseline_failures: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    problem: str = ""  # the run (or its baseline) gave no usable result

    def cell(self, area: str) -> str:
        """The matrix cell: testcases of ``area`` that caught it, '-' where not run."""
        if FULL not in self.areas_run and area not in self.areas_run:
            return "-"
        return str(sum(1 for t in self.caught_by if area_of(t) == area))


def verdict(defect: Defect, run: RunResult, baseline: RunResult) -> Entry:
    """Compare the defect's run with its bench's baseline (the honesty rule)."""
    caught_by = sorted(run.failed & baseline.passed)
    problem = "; ".join(p for p in (run.problem, baseline.problem and
                                    f"baseline: {baseline.problem}") if p)
    if not run.outcomes and not problem:
        problem = "no testcase ran (see the JUnit log)"
    return Entry(name=defect.name, family=defect.family, area=defect.area,
                 bench=defect.bench, cites=defect.cites, bug=defect.bug,
                 caught=bool(caught_by), caught_by=caught_by,
                 areas_run=list(run.job.areas), baseline_failures=sorted(baseline.failed),
                 duration_s=round(run.duration_s, 1), problem=problem)


def family_rates(entries: Iterable[Entry]) -> dict[str, tuple[int, int]]:
    """Family -> (caught, total)."""
    rates: dict[str, tuple[int, int]] = {}
    for e in entries:
        caught, total = rates.get(e.family, (0, 0))
        rates[e.family] = (caught + e.caught, total + 1)
    return rates


def passed_target(entries: Iterable[Entry]) -> bool:
    rates = family_rates(entries)
    return bool(rates) and all(100.0 * c / t >= TARGET_PCT for c, t in rates.values())


def columns(entries: Iterable[Entry]) -> list[str]:
    """The areas any entry ran, in the testcases' order."""
    entries = list(entries)
    full = any(FULL in e.areas_run for e in entries)
    return [a for a in AREAS if full or any(a in e.areas_run for e in entries)]


def matrix_text(entries: list[Entry]) -> str:
    """The detection matrix: rows = defects, columns = areas, cell = the number of
    testcases that caught it ('-' not run); last column caught / ESCAPED."""
    cols = columns(entries)
    width = max([len(e.name) for e in entries] + [6])
    head = f"{'defect':<{width}}  " + " ".join(f"{c[:11]:>11}" for c in cols) + "  verdict"
    lines = [head, "-" * len(head)]
    for e in entries:
        cells = " ".join(f"{e.cell(c):>11}" for c in cols)
        mark = "caught" if e.caught else ("ERROR" if e.problem else "ESCAPED")
        lines.append(f"{e.name:<{width}}  {cells}  {mark}")
    return "\n".join(lines)


def summary_text(entries: list[Entry], wall_s: float) -> str:
    """Escapes, baseline warnings, catch rate per family and the wall time."""
    out: list[str] = []
    escapes = [e for e in entries if not e.caught]
    if escapes:
        out.append(f"\nEscapes ({len(escapes)}):")
        for e in escapes:
            out.append(f"  {e.name} [{e.family}, {e.area}, {e.bench}]: {e.bug}")
            out.append(f"      cites {e.cites}")
            if e.problem:
                out.append(f"      problem: {e.problem}")
    warned = {t for e in entries for t in e.baseline_failures}
    if warned:
        out.append(f"\nWARNING: {len(warned)} testcase(s) failed on the healthy twin (never "
                   "counted as catches; the twin or the testcase is broken, or the machine "
                   "is too loaded):")
        out.extend(f"  {t}" for t in sorted(warned))
    out.append("\nCatch rate per family:")
    for family, (caught, total) in family_rates(entries).items():
        pct = 100.0 * caught / total
        mark = "ok" if pct >= TARGET_PCT else f"below {TARGET_PCT:g} %"
        out.append(f"  {family:<8} {caught}/{total} = {pct:.1f} %  {mark}")
    out.append(f"\nWall time: {wall_s:.0f} s ({wall_s / 60:.1f} min)")
    return "\n".join(out)


def to_json(entries: list[Entry], wall_s: float, workers: int) -> dict[str, object]:
    rates = family_rates(entries)
    return {
        "wall_time_s": round(wall_s, 1),
        "workers": workers,
        "families": {f: {"caught": c, "total": t, "rate_pct": round(100.0 * c / t, 1)}
                     for f, (c, t) in rates.items()},
        "passed": passed_target(entries),
        "defects": [asdict(e) for e in entries],
    }


def write_reports(entries: list[Entry], wall_s: float, workers: int,
                  out_dir: Path) -> tuple[Path, Path]:
    """reports/selftest/selftest.json and selftest.html; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    data = to_json(entries, wall_s, workers)
    json_path, html_path = out_dir / "selftest.json", out_dir / "selftest.html"
    json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    html_path.write_text(to_html(entries, data), encoding="utf-8")
    return json_path, html_path


CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;
vertical-align:top;font-size:14px}th{background:#f3f3f3}.ok{background:#e5f6e5}
.bad{background:#fbe3e3}.num{text-align:center}code{font-size:12px}"""


def to_html(entries: list[Entry], data: Mapping[str, object]) -> str:
    """A self-contained page: the family rates, the matrix, each defect's detail."""
    e_ = html.escape
    families = data["families"]
    assert isinstance(families, dict)
    rates = "".join(
        f"<tr><td>{e_(f)}</td><td class='num'>{v['caught']}/{v['total']}</td>"
        f"<td class='num {'ok' if v['rate_pct'] >= TARGET_PCT else 'bad'}'>{v['rate_pct']} %"
        "</td></tr>" for f, v in families.items())
    cols = columns(entries)
    head = "".join(f"<th>{e_(c)}</th>" for c in cols)
    rows = []
    for e in entries:
        cells = "".join(f"<td class='num{' ok' if e.cell(c) not in ('-', '0') else ''}'>"
                        f"{e.cell(c)}</td>" for c in cols)
        mark = "caught" if e.caught else "ERROR" if e.problem else "ESCAPED"
        rows.append(f"<tr><td><a href='#{e_(e.name)}'>{e_(e.name)}</a></td><td>{e_(e.family)}"
                    f"</td>{cells}<td class='{'ok' if e.caught else 'bad'}'>{mark}</td></tr>")
    details = []
    for e in entries:
        caught = "".join(f"<li><code>{e_(t)}</code></li>" for t in e.caught_by) or "<li>none</li>"
        base = "".join(f"<li><code>{e_(t)}</code></li>" for t in e.baseline_failures)
        details.append(
            f"<h3 id='{e_(e.name)}'>{e_(e.name)} ({'caught' if e.caught else 'escaped'})</h3>"
            f"<p><b>Bug:</b> {e_(e.bug)}<br><b>Violates:</b> {e_(e.cites)}<br>"
            f"<b>Bench:</b> {e_(e.bench)} &middot; <b>area:</b> {e_(e.area)} &middot; "
            f"<b>ran:</b> {e_(', '.join(e.areas_run))} &middot; {e.duration_s:g} s</p>"
            f"<p>Caught by:</p><ul>{caught}</ul>"
            + (f"<p>Failed on the healthy twin too (not counted):</p><ul>{base}</ul>" if base
               else "") + (f"<p class='bad'>Problem: {e_(e.problem)}</p>" if e.problem else ""))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>rig selftest</title>"
            f"<style>{CSS}</style></head><body><h1>rig selftest: do the testcases catch a "
            f"broken charger?</h1><p>A defect is caught when a testcase that passes on the "
            f"healthy twin fails with the defect injected. Wall time {data['wall_time_s']} s "
            f"on {data['workers']} worker(s).</p><table><tr><th>family</th><th>caught</th>"
            f"<th>rate</th></tr>{rates}</table><h2>Detection matrix</h2><p>Cells: testcases "
            f"of the area that caught the defect; '-' not run.</p><table><tr><th>defect</th>"
            f"<th>family</th>{head}<th>verdict</th></tr>{''.join(rows)}</table>"
            f"<h2>Defects</h2>{''.join(details)}</body></html>\n")
