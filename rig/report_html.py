"""The production report page of ``rig report``: one self-contained HTML file (styles and
SVG pictures inline, no script, nothing fetched) that any browser reads offline.

Sections: the key figures (units, yield, first-pass yield, runs, retests), yields per
day, station and firmware, the failure Pareto, every measurement's capability (Cpk,
Ppk) with its distribution and limits, then the test runs and JUnit files. The figures
are defined in rig/report_stats.py; the page repeats the definitions at its end.

Elements that carry a figure have an id (``kpi-yield``, ``cap-<measurement>``) so that a
test can read what a person sees (tests/test_report_browser.py).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from evrig.rig import report_plots as plots
from evrig.rig import report_stats as st
from evrig.rig.report_data import Filters, Selection
from evrig.rig.report_stats import Capability, Run, Yields

RUN_ROWS = 500  # the newest runs listed; all of them are in the store

CSS = """body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:1200px}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.muted{color:#666}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}td.n{text-align:right}
th{background:#f4f4f4}.kpis{display:flex;gap:1em;flex-wrap:wrap}
.kpi{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:8em}
.kpi .v{font-size:1.7em;font-weight:600;display:block}.kpi .l{color:#666;font-size:.85em}
.bad{background:#f8d7da}.warn{background:#fff3cd}.good{background:#eaf6ec}
tr.failed td,tr.error td{background:#f8d7da}tr.aborted td{background:#fff3cd}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(440px,1fr));gap:1em}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em}.card h3{font-size:14px;margin:0}
.card svg{width:100%;height:auto}figure{margin:0}figure svg{max-width:100%;height:auto}
dl dt{font-weight:600;margin-top:.5em}"""


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def idx(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def num(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def limit(value: float | None) -> str:
    """A limit as written: whole numbers whole (a code 2097152, not 2.097e+06)."""
    if value is None:
        return ""
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.6g}"


def slug(key: st.SeriesKey) -> str:
    text = f"{key.profile}-{key.name}-{num(key.low)}-{num(key.high)}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _grade(value: float | None) -> str:
    """The usual reading of a capability index: < 1 not capable, 1–1.33 watch."""
    if value is None:
        return ""
    return "bad" if value < 1.0 else "warn" if value < 1.33 else "good"


def kpis(y: Yields) -> str:
    tiles = (("units", "units", str(y.units)), ("yield", "yield", pct(y.yield_)),
             ("fpy", "first-pass yield", pct(y.first_pass_yield)),
             ("runs", "runs", str(y.runs)),
             ("retests", "retests", f"{y.retests}"),
             ("retested", "units retested", str(y.retested_units)))
    return "<div class='kpis'>" + "".join(
        f"<div class='kpi' id='kpi-{k}'><span class='v'>{v}</span>"
        f"<span class='l'>{label}</span></div>" for k, label, v in tiles) + "</div>"


def yields_table(title: str, rows: Sequence[tuple[str, Yields]]) -> str:
    body = "".join(
        f"<tr><td>{html.escape(name)}</td><td class='n'>{y.units}</td>"
        f"<td class='n'>{pct(y.yield_)}</td><td class='n'>{pct(y.first_pass_yield)}</td>"
        f"<td class='n'>{y.runs}</td><td class='n'>{y.retests}</td></tr>" for name, y in rows)
    return (f"<table><tr><th>{title}</th><th>units</th><th>yield</th><th>first-pass "
            f"yield</th><th>runs</th><th>retests</th></tr>{body}</table>")


def pareto_section(causes: Sequence[tuple[str, int]]) -> str:
    if not causes:
        return "<p>No run failed.</p>"
    total = sum(n for _, n in causes)
    rows, running = [], 0
    for name, n in causes:
        running += n
        rows.append(f"<tr><td>{html.escape(name)}</td><td class='n'>{n}</td>"
                    f"<td class='n'>{pct(n / total)}</td><td class='n'>{pct(running / total)}"
                    "</td></tr>")
    return (f"<figure>{plots.pareto_svg(causes)}</figure><details><summary>all {len(causes)}"
            f" causes ({total} in all)</summary><table><tr><th>cause</th><th>failed runs"
            f"</th><th>share</th><th>cumulative</th></tr>{''.join(rows)}</table></details>")


def capability_table(caps: Sequence[Capability]) -> str:
    rows = []
    for c in caps:
        k = c.key
        name = (f"<a href='#dist-{slug(k)}'>{html.escape(k.name)}</a>" if c.n > 1 and not k.exact
                else html.escape(k.name))
        sided = ("" if c.cpk is None or c.sides == "two-sided"
                 else f" <span class='muted'>({c.sides})</span>")
        # an exact-value check (a code, a yes/no) has no meaningful mean or spread
        spread = (("", "", "") if k.exact
                  else (num(c.mean), num(c.sigma_within), num(c.sigma_overall)))
        cells = [html.escape(k.profile), name, html.escape(k.unit), limit(k.low),
                 limit(k.high), str(c.checked if k.exact else c.n), *spread]
        rows.append(
            f"<tr id='cap-{slug(k)}'>" + "".join(
                f"<td class='n'>{v}</td>" if i > 2 else f"<td>{v}</td>"
                for i, v in enumerate(cells))
            + f"<td class='n cpk {_grade(c.cpk)}'>{idx(c.cpk)}{sided}</td>"
            f"<td class='n ppk {_grade(c.ppk)}'>{idx(c.ppk)}</td>"
            f"<td class='n fails'>{c.failed}</td>"
            f"<td class='n'>{pct(c.failed / c.checked) if c.checked else ''}</td></tr>")
    return ("<table><tr><th>profile</th><th>measurement</th><th>unit</th><th>LSL</th>"
            "<th>USL</th><th>n</th><th>mean</th><th>σ within</th><th>σ overall</th>"
            "<th>Cpk</th><th>Ppk</th><th>fails</th><th>fail rate</th></tr>"
            + "".join(rows) + "</table>")


def distributions(caps: Sequence[Capability], series: dict[st.SeriesKey, st.Series]) -> str:
    drawer, cards = plots.Histograms(), []
    for n, c in enumerate(caps):
        if c.key.exact or c.n < 2:
            continue
        cards.append(
            f"<div class='card' id='dist-{slug(c.key)}'><h3>{html.escape(c.key.label())}</h3>"
            f"<div class='muted'>limits {html.escape(_limits(c.key))} · n {c.n} · "
            f"Cpk {idx(c.cpk)} · Ppk {idx(c.ppk)}</div>"
            f"{drawer.svg(series[c.key].values, c, f'h{n}')}</div>")
    return f"<div class='plots'>{''.join(cards)}</div>" if cards else "<p>No values.</p>"


def _limits(key: st.SeriesKey) -> str:
    if key.low is not None and key.high is not None:
        return f"[{limit(key.low)}, {limit(key.high)}] {key.unit}".strip()
    if key.low is not None:
        return f">= {limit(key.low)} {key.unit}".strip()
    return f"<= {limit(key.high)} {key.unit}".strip() if key.high is not None else "none"


def junit_totals(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0))
    return totals


def _rel(path: str, base: Path) -> str:
    try:
        return html.escape(str(Path(path).resolve().relative_to(base.resolve())))
    except ValueError:
        return html.escape(path)


def runs_section(runs: Sequence[Run], reports: Path, base: Path, allure_note: str) -> str:
    """The run list and JUnit totals (what ``rig report`` showed before the production
    figures), and where the Allure report is; ``base`` is the page's folder (links
    are relative to it)."""
    newest = list(reversed(runs))[:RUN_ROWS]
    rows = "".join(
        f"<tr class='{html.escape(r.outcome)}'><td>{html.escape(r.start)}</td>"
        f"<td>{html.escape(r.kind)}</td><td>{html.escape(r.serial)}</td>"
        f"<td>{html.escape(r.firmware)}</td><td>{html.escape(r.station)}</td>"
        f"<td>{html.escape(r.outcome)}</td><td class='n'>{r.n_measurements}</td>"
        f"<td class='n'>{r.n_failed}</td><td><a href='{_rel(r.record_path, base)}'>record</a> "
        f"<a href='{_rel(str(Path(r.record_path).parent / 'certificate.html'), base)}'>"
        f"certificate</a></td></tr>" for r in newest)
    shown = (f"the newest {len(newest)} of {len(runs)}" if len(runs) > len(newest)
             else f"{len(runs)}")
    junit = "".join(
        f"<tr><td>{html.escape(p.name)}</td>"
        + "".join(f"<td class='n'>{v}</td>" for v in junit_totals(p).values()) + "</tr>"
        for p in sorted(reports.glob("*.xml")))
    # folded when long: on a production report the list is for looking one run up
    opened = " open" if len(newest) <= 50 else ""
    return (f"<p id='allure-note'>{html.escape(allure_note)}</p>"
            f"<details{opened}><summary><b>Runs ({shown}, every kind)</b></summary>"
            "<table><tr><th>start</th><th>kind</th>"
            "<th>serial</th><th>firmware</th><th>station</th><th>outcome</th>"
            f"<th>measurements</th><th>failed</th><th></th></tr>{rows}</table></details>"
            "<h3>JUnit files</h3><table><tr><th>file</th><th>tests</th><th>failures</th>"
            f"<th>errors</th><th>skipped</th></tr>{junit}</table>")


DEFINITIONS = """<dl>
<dt>yield</dt><dd>units whose last run passed / units (a unit is a serial number).</dd>
<dt>first-pass yield</dt><dd>units whose first run passed / units.</dd>
<dt>retests</dt><dd>runs beyond the first of each unit (runs − units).</dd>
<dt>Cpk</dt><dd>min(USL − μ, μ − LSL) / 3σ<sub>within</sub>, σ<sub>within</sub> = MR̄ / 1.128
from the moving range of consecutive runs in time order (AIAG SPC). With one limit, the
one-sided index (CPU or CPL). n/a: fewer than 2 values, no spread, or an exact-value
check (LSL = USL).</dd>
<dt>Ppk</dt><dd>the same with the overall sample standard deviation.</dd>
<dt>failure Pareto</dt><dd>per run that did not pass: each failed measurement; else each
failed or errored step; else the run's outcome. Retests included.</dd>
<dt>per station, firmware, profile</dt><dd>each unit, with all its runs, where its first
run was.</dd>
</dl>"""


def page(selection: Selection, filters: Filters, reports: Path, out_dir: Path,
         allure_note: str) -> str:
    eol = selection.eol
    totals = st.yields(eol)
    caps = sorted((st.capability(s) for s in selection.series.values()),
                  key=lambda c: (c.cpk is None, c.cpk if c.cpk is not None else 0.0,
                                 c.key.profile, c.key.name))
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>Production report</h1><p class='muted'>{html.escape(selection.where)} · "
            f"{html.escape(filters.text())} · EOL runs (regression runs left out) · "
            f"made {now}</p>"]
    if selection.note:
        body.append(f"<p id='note'><b>{html.escape(selection.note)}</b></p>")
    body.append(kpis(totals))
    if eol:
        body.append("<h2>Per day</h2><p class='muted'>units by the day of their first "
                    "run (UTC)</p><figure>" + plots.daily_svg(st.daily(eol)) + "</figure>")
        body.append("<h2>Per station and firmware</h2>" + yields_table(
            "station", st.breakdown(eol, "station")) + "<br>" + yields_table(
            "firmware", st.breakdown(eol, "firmware")) + "<br>" + yields_table(
            "profile", st.breakdown(eol, "profile")))
        body.append("<h2>Failure Pareto</h2>" + pareto_section(st.pareto(eol)))
        body.append("<h2 id='capability'>Capability</h2><p class='muted'>worst Cpk first; "
                    "red below 1, yellow below 1.33</p>" + capability_table(caps))
        body.append("<h2>Distributions</h2><p class='muted'>dashed red: the limits; black: "
                    "the mean; orange: a normal distribution of the overall σ</p>"
                    + distributions(caps, selection.series))
    body.append("<h2>Test runs</h2>" + runs_section(selection.runs, reports, out_dir,
                                                    allure_note))
    body.append("<h2>Definitions</h2>" + DEFINITIONS)
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<title>rig report</title><meta name='viewport' content='width=device-width'>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")
