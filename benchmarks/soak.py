"""Soak the timing-sensitive testcases under load: `make soak`.

A test that passes on a quiet machine and fails on a busy one is a bug (README,
"The time base"). This runs the testcases that time things (contactor switching,
trips, metering windows, the light) RUNS times on a virtual bench while BUSY
processes spin on the CPU, and prints how often each testcase failed.

    .venv/bin/python benchmarks/soak.py [--runs 10] [--busy 2] [--rig rigs/sim.yaml] [paths]

The whole test part of `make test` under load, socketed bench:

    .venv/bin/python benchmarks/soak.py --runs 3 -m "not tethered" tests testcases

Exit status 0 when every run passed. Not part of `make test`: ten runs take minutes.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMING_SENSITIVE = ["testcases/iec61851", "testcases/metering", "testcases/eol",
                    "testcases/led"]
SPIN = "while True: pass"


FULL_REPORT = ROOT / "reports" / "soak-failures.txt"  # every failure's whole text


def _failures(junit: Path) -> tuple[int, list[tuple[str, str]]]:
    """(testcases run, (id, first line of the message) of each failure or error) from
    a JUnit XML file; the whole text of each goes to FULL_REPORT."""
    if not junit.exists():
        return 0, [("<no junit report: pytest did not finish>", "")]
    root = ET.parse(junit).getroot()
    total, failed = 0, []
    for case in root.iter("testcase"):
        total += 1
        for kind in ("failure", "error"):
            problem = case.find(kind)
            if problem is not None:
                test = f"{case.get('classname')}::{case.get('name')}"
                message = (problem.get("message") or "").strip().splitlines()[:1]
                failed.append((test, f"{kind}: {message[0][:160] if message else ''}"))
                FULL_REPORT.parent.mkdir(parents=True, exist_ok=True)
                with FULL_REPORT.open("a", encoding="utf-8") as out:
                    out.write(f"=== {test} ({kind})\n{problem.get('message') or ''}\n"
                              f"{problem.text or ''}\n")
    return total, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=TIMING_SENSITIVE)
    parser.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 10)))
    parser.add_argument("--busy", type=int, default=2, help="CPU-spinning processes")
    parser.add_argument("--rig", default="rigs/sim.yaml")
    parser.add_argument("--workers", default="2", help="pytest -n")
    parser.add_argument("-m", dest="mark", default="",
                        help='pytest marker expression, e.g. "not tethered" (as make test)')
    args = parser.parse_args(argv)

    busy = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]

    def stop_busy(*_: object) -> None:
        for p in busy:
            p.kill()
        for p in busy:
            p.wait()

    signal.signal(signal.SIGTERM, lambda *_: (stop_busy(), sys.exit(143)))
    failures: collections.Counter[str] = collections.Counter()
    messages: dict[str, set[str]] = {}
    runs_failed, started = 0, time.monotonic()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(1, args.runs + 1):
                junit = Path(tmp) / f"run-{run}.xml"
                t0 = time.monotonic()
                rc = subprocess.call(
                    [sys.executable, "-m", "pytest", *args.paths, "-q", "-n", args.workers,
                     "--rig", args.rig, f"--junitxml={junit}", "-p", "no:randomly",
                     *(["-m", args.mark] if args.mark else [])],
                    cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                total, failed = _failures(junit)
                failures.update(test for test, _ in failed)
                for test, message in failed:
                    messages.setdefault(test, set()).add(message)
                runs_failed += bool(failed or rc)
                print(f"run {run:2}/{args.runs}: {total} testcases, {len(failed)} failed "
                      f"(rc {rc}, {time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        stop_busy()
    print(f"\n{args.runs} runs of {' '.join(args.paths)} on {args.rig} with {args.busy} busy "
          f"processes, {time.monotonic() - started:.0f} s")
    if not failures:
        print(f"no failures ({runs_failed} runs with a non-zero exit)" if runs_failed
              else "no failures")
        return 1 if runs_failed else 0
    print(f"failures per testcase (whole texts in {FULL_REPORT.relative_to(ROOT)}):")
    for test, count in failures.most_common():
        print(f"  {count:3}/{args.runs}  {test}")
        for message in sorted(messages.get(test, ())):
            print(f"           {message}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
