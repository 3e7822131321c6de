"""``rig selftest``: do the testcases catch a broken charger? (issue 16)

For each defect of the catalogue (sim/defects/<family>.yaml) the command runs the
testcases of the defect's area on its virtual bench with the defect injected, in a
pytest subprocess per defect, ``--workers`` at a time; first (in the same pool) one
baseline per (bench, areas) on the healthy twin. A defect is caught when a testcase
that passed on the baseline fails (rig/selftest_report.py). It prints the detection
matrix, the escapes and the catch rate per family, and writes
reports/selftest/selftest.json and .html. Exit 0 when every family run catches at
least 95 % of its defects, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from evrig.rig import process_lock
from evrig.rig.assembly import FAMILY_PROFILES, Defect, load_catalogue
from evrig.rig.errors import RigError
from evrig.rig.selftest_plan import AREAS, Job, RunResult, jobs_for, run_job
from evrig.rig.selftest_report import (
    Entry,
    matrix_text,
    passed_target,
    summary_text,
    verdict,
    write_reports,
)

DEFAULT_OUT = Path("reports") / "selftest"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--family", choices=sorted(FAMILY_PROFILES), action="append",
                        help="only this family's defects (repeatable; default all)")
    parser.add_argument("--defect", action="append", metavar="NAME",
                        help="only this defect (repeatable)")
    parser.add_argument("--area", choices=AREAS, action="append",
                        help="only the defects of this area (repeatable)")
    parser.add_argument("--workers", type=int, default=2,
                        help="pytest subprocesses at a time (default 2)")
    parser.add_argument("--full", action="store_true",
                        help="run every testcase of the bench, not only the defect's area")
    parser.add_argument("-k", dest="keyword", default="", metavar="EXPR",
                        help="only the testcases matching this pytest -k expression")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where selftest.json/.html go (default {DEFAULT_OUT})")


def select(catalogue: dict[str, Defect], families: list[str] | None,
           names: list[str] | None, areas: list[str] | None) -> list[Defect]:
    """The defects asked for, in catalogue order; RigError for an unknown name."""
    unknown = [n for n in names or () if n not in catalogue]
    if unknown:
        raise RigError(f"unknown defect(s) {', '.join(unknown)}; known: "
                       f"{', '.join(sorted(catalogue))}")
    chosen = [d for d in catalogue.values()
              if (not families or d.family in families) and (not names or d.name in names)
              and (not areas or d.area in areas)]
    if not chosen:
        raise RigError("no defect matches the selection (--family/--defect/--area)")
    return chosen


def run_selftest(defects: list[Defect], *, workers: int = 2, full: bool = False,
                 out_dir: Path = DEFAULT_OUT, keyword: str = "",
                 echo: bool = True) -> tuple[list[Entry], float]:
    """Run the baselines and the defects; the entries in the order of ``defects``
    and the wall time. Writes the reports into ``out_dir``."""
    start = time.monotonic()
    baselines, runs = jobs_for(defects, full, keyword)
    results: dict[Job, RunResult] = {}
    say = print if echo else (lambda *_a, **_k: None)
    say(f"rig selftest: {len(runs)} defect(s), {len(baselines)} baseline(s), "
        f"{max(1, workers)} worker(s)")
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(run_job, job, out_dir): job for job in baselines + runs}
        for future in as_completed(futures):
            job = futures[future]
            result = results[job] = future.result()
            what = job.defect or f"baseline {job.bench} {','.join(job.areas)}"
            say(f"  {what}: {len(result.failed)} failed of {len(result.outcomes)} "
                f"in {result.duration_s:.0f} s{' — ' + result.problem if result.problem else ''}",
                flush=True)
    by_name = {d.name: d for d in defects}
    entries = [verdict(by_name[job.defect or ""], results[job], results[job.baseline])
               for job in runs]
    wall = time.monotonic() - start
    write_reports(entries, wall, workers, out_dir)
    return entries, wall


def run_command(args: argparse.Namespace) -> int:
    defects = select(load_catalogue(), args.family, args.defect, args.area)
    # Two selftests into one folder would overwrite each other's reports and junit.
    lock = process_lock.hold(args.out / ".selftest.lock",
                             f"rig selftest: another selftest writes to {args.out}; give "
                             "this one its own --out", " ".join(sys.argv[1:]))
    try:
        entries, wall = run_selftest(defects, workers=args.workers, full=args.full,
                                     out_dir=args.out, keyword=args.keyword)
    finally:
        lock.close()
    print()
    print(matrix_text(entries))
    print(summary_text(entries, wall))
    print(f"\nReports: {args.out / 'selftest.json'}, {args.out / 'selftest.html'}")
    sys.stdout.flush()
    return 0 if passed_target(entries) else 1
