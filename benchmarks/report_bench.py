"""``rig report`` over a store of generated production (tests/report_units.py): the
time of the command as a person runs it (a new process: imports included), and the
size of the page (`benchmarks/README.md` has the figures).

    .venv/bin/python benchmarks/report_bench.py [--units 10000] [--trials 3] [--keep DIR]

The store is a SQLite file made once; each trial runs ``rig report --database ...``
and the median is printed, with the CPU seconds of the process (what another job's
load on the machine does not stretch) and the load average.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.report_units import make_store  # noqa: E402 (after the path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--keep", default=None, help="make the store and page here")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.sqlite").unlink(missing_ok=True)
    start = time.perf_counter()
    url, records = make_store(folder, args.units)
    print(f"store: {args.units} units, {len(records)} runs, "
          f"{(folder / 'results.sqlite').stat().st_size / 1e6:.0f} MB, made in "
          f"{time.perf_counter() - start:.1f} s")
    rig = Path(sys.executable).with_name("rig")
    out = folder / "report.html"
    walls, cpus = [], []
    for _ in range(args.trials):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([str(rig), "report", "--database", url, "--reports", str(folder),
                        "-o", str(out)], check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"rig report: median {statistics.median(walls):.1f} s wall, "
          f"{statistics.median(cpus):.1f} s CPU over {args.trials} trials "
          f"(min {min(walls):.1f} s); page {out.stat().st_size / 1e6:.2f} MB; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"page: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
