"""``rig report``: the production report over the results store — yield, first-pass
yield, retests, every measurement's distribution with its limits, Cpk and Ppk, the
failure Pareto, then the test runs and JUnit files — as one self-contained HTML file
(rig/report_data.py reads, rig/report_stats.py computes, rig/report_html.py writes).

Filters: ``--since``/``--until`` (UTC dates, both included), ``--station``,
``--profile``, ``--firmware`` (each repeatable: any of the values).

``--allure`` also builds the Allure report of ``reports/allure-results`` with Allure
Report 3 (rig/allure_cli.py; installed with npm on first use). Without node the
production page is still written and says why there is no Allure report; exit 0, as
that is the machine's lot, not an error. With node, a failed install or generate is
an error (exit 1) after the page is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from evrig.rig import allure_cli
from evrig.rig.errors import RigError
from evrig.rig.records import write_atomic
from evrig.rig.report_data import Filters, select
from evrig.rig.report_html import junit_totals, page

__all__ = ["configure", "junit_totals", "run_command", "write_report"]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def configure(parser: Any) -> None:
    parser.add_argument("--rig", default=None,
                        help="rig file whose reports section names the folder and database "
                             "(default $RIG_FILE, else rigs/sim.yaml, else the shipped sim)")
    parser.add_argument("--reports", default=None,
                        help="reports folder (default: the rig file's reports.dir)")
    parser.add_argument("--database", default=None,
                        help="results database URL (default: the rig file's "
                             "reports.database)")
    parser.add_argument("-o", "--output", default=None,
                        help="the HTML file (default <reports>/report.html)")
    filters = parser.add_argument_group("filters (each repeatable: any of the values)")
    filters.add_argument("--since", type=_day, default=None, metavar="YYYY-MM-DD",
                         help="runs started on or after this UTC day")
    filters.add_argument("--until", type=_day, default=None, metavar="YYYY-MM-DD",
                         help="runs started on or before this UTC day")
    filters.add_argument("--station", action="append", default=[], help="station name")
    filters.add_argument("--profile", action="append", default=[], help="charger profile")
    filters.add_argument("--firmware", action="append", default=[], help="firmware version")
    parser.add_argument("--allure", nargs="?", const="npm", default=None, metavar="CLI",
                        help="also build the Allure report of <reports>/allure-results "
                             f"with Allure Report 3 (npm {allure_cli.PACKAGE}@"
                             f"{allure_cli.VERSION}, installed into {allure_cli.HOME} on "
                             "first use; needs node), or with the allure command CLI")


def write_report(database: str, reports: Path, output: Path, filters: Filters,
                 allure_note: str = "Allure report: not asked for (rig report --allure)"
                 ) -> tuple[Path, str]:
    """The production report of ``database`` into ``output``; and what it holds in a
    few words (the runs, or why there are none) for the terminal."""
    selection = select(database, filters)
    path = write_atomic(output, page(selection, filters, reports, output.parent, allure_note))
    units = len({run.serial for run in selection.runs})
    held = (f"{len(selection.runs)} runs of {units} units" if selection.runs else
            selection.note or "no runs")
    return path, held


def _allure(choice: str, reports: Path) -> tuple[str, bool]:
    """Build the Allure report: (the page's line about it, whether that failed)."""
    results, out = reports / "allure-results", reports / "allure-report"
    if choice == "npm" and (why := allure_cli.missing_node()):
        return (f"Allure report not built: {why}. This page is the rig's own report.",
                False)
    try:
        cli = allure_cli.ensure(say=lambda text: print(text, file=sys.stderr)) \
            if choice == "npm" else Path(choice)
        index = allure_cli.generate(cli, results, out)
    except RigError as exc:
        return f"Allure report not built: {exc}", True
    return f"Allure report: {index}", False


def run_command(args: Any) -> int:
    from evrig.rig.config import load_rig
    from evrig.rig.rig_files import find_rig_file

    if args.reports is None or args.database is None:
        cfg = load_rig(find_rig_file(args.rig)).reports
        reports = Path(args.reports or cfg.dir)
        database = args.database or cfg.database
    else:
        reports, database = Path(args.reports), args.database
    filters = Filters(args.since, args.until, tuple(args.station), tuple(args.profile),
                      tuple(args.firmware))
    note, failed = "Allure report: not asked for (rig report --allure)", False
    if args.allure is not None:
        note, failed = _allure(args.allure, reports)
        print(note, file=sys.stderr if failed or "not built" in note else sys.stdout)
    started = time.perf_counter()
    output = Path(args.output) if args.output else reports / "report.html"
    path, held = write_report(database, reports, output, filters, note)
    print(f"production report: {path} ({held}; {time.perf_counter() - started:.1f} s)")
    return 1 if failed else 0
