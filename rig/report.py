"""``rig report``: the allure HTML report when the allure command-line is installed
(``allure generate``), else our own static summary page of the runs in the results
store and the JUnit files — no dependency, one HTML file."""

from __future__ import annotations

import html
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evrig.rig.records import open_store, write_atomic


def junit_totals(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0))
    return totals


def summary_html(reports: Path, database: str) -> str:
    runs: list[dict[str, Any]] = []
    db_file = reports / "results.sqlite"
    if not database.startswith("sqlite:///") or db_file.exists():
        store = open_store(database)
        try:
            runs = store.runs()
        finally:
            store.close()
    rows = "".join(
        f"<tr class='{html.escape(str(r['outcome']))}'><td>{html.escape(str(r['start']))}</td>"
        f"<td>{html.escape(str(r['kind']))}</td><td>{html.escape(str(r['serial']))}</td>"
        f"<td>{html.escape(str(r['firmware']))}</td><td>{html.escape(str(r['station']))}</td>"
        f"<td>{html.escape(str(r['outcome']))}</td><td>{r['n_measurements']}</td>"
        f"<td>{r['n_failed']}</td><td><a href='{_rel(r['record_path'], reports)}'>record</a> "
        f"<a href='{_rel(str(Path(r['record_path']).parent / 'certificate.html'), reports)}'>"
        f"certificate</a></td></tr>" for r in reversed(runs))
    junit = "".join(
        f"<tr><td>{html.escape(p.name)}</td>"
        + "".join(f"<td>{v}</td>" for v in junit_totals(p).values()) + "</tr>"
        for p in sorted(reports.glob("*.xml")))
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>rig report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:3px 8px}}tr.failed td,tr.error td{{background:#f8d7da}}
tr.aborted td{{background:#fff3cd}}tr.passed td{{background:#eaf6ec}}</style></head><body>
<h1>Test runs</h1><p>allure command-line not found: this is the rig's own summary.</p>
<h2>Unit records ({len(runs)})</h2>
<table><tr><th>start</th><th>kind</th><th>serial</th><th>firmware</th><th>station</th>
<th>outcome</th><th>measurements</th><th>failed</th><th></th></tr>{rows}</table>
<h2>JUnit files</h2><table><tr><th>file</th><th>tests</th><th>failures</th><th>errors</th>
<th>skipped</th></tr>{junit}</table></body></html>
"""


def _rel(path: str, base: Path) -> str:
    try:
        return html.escape(str(Path(path).resolve().relative_to(base.resolve())))
    except ValueError:
        return html.escape(path)


def configure(parser: Any) -> None:
    parser.add_argument("--rig", default=None,
                        help="rig file whose reports section names the folder and database "
                             "(default $RIG_FILE, else rigs/sim.yaml, else the shipped sim)")
    parser.add_argument("--allure", default=None, help="path of the allure command-line")


def run_command(args: Any) -> int:
    from evrig.rig.config import load_rig
    from evrig.rig.rig_files import find_rig_file

    cfg = load_rig(find_rig_file(args.rig)).reports
    reports = Path(cfg.dir)
    allure = args.allure or shutil.which("allure")
    results = reports / "allure-results"
    if allure and results.is_dir():
        out = reports / "allure-report"
        subprocess.run([allure, "generate", str(results), "-o", str(out), "--clean"], check=True)
        print(f"allure report: {out / 'index.html'}")
        return 0
    page = write_atomic(reports / "summary.html", summary_html(reports, cfg.database))
    print(f"summary: {page}")
    return 0
