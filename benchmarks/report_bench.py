"""``rig report`` over a store of generated production (tests/report_units.py): the
time of the command as a person runs it (a new process: imports included), and the
size of the page (`benchmarks/README.md` has the figures).

    .venv/bin/python benchmarks/report_bench.py [--units 10000 [100000 ...]] [--trials 3]
                                                [--keep DIR]

One SQLite store is made per size; each trial runs ``rig report --database ...``, the
sizes taking turns trial by trial (so a change in the machine's load falls on all of
them alike), and the median is printed, with the CPU seconds of the process (what
another job's load on the machine stretches least) and the load average.
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


def _trial(url: str, folder: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``rig report`` process."""
    rig = Path(sys.executable).with_name("rig")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([str(rig), "report", "--database", url, "--reports", str(folder),
                    "-o", str(folder / "report.html")], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[10_000])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--keep", default=None, help="make the stores and pages here")
    args = parser.parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="report-bench-"))
    stores: dict[int, tuple[str, Path]] = {}
    for units in args.units:
        folder = base / f"units-{units}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.sqlite").unlink(missing_ok=True)
        start = time.perf_counter()
        url, records = make_store(folder, units)
        stores[units] = url, folder
        print(f"store: {units} units, {len(records)} runs, "
              f"{(folder / 'results.sqlite').stat().st_size / 1e6:.0f} MB, made in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    times: dict[int, list[tuple[float, float]]] = {units: [] for units in stores}
    loads = []
    for _ in range(args.trials):
        for units, (url, folder) in stores.items():
            times[units].append(_trial(url, folder))
            loads.append(os.getloadavg()[0])
    for units, (_, folder) in stores.items():
        walls, cpus = [w for w, _ in times[units]], [c for _, c in times[units]]
        print(f"rig report, {units} units: median {statistics.median(walls):.1f} s wall, "
              f"{statistics.median(cpus):.1f} s CPU over {args.trials} trials "
              f"(min {min(walls):.1f} s wall, {min(cpus):.1f} s CPU); page "
              f"{(folder / 'report.html').stat().st_size / 1e6:.2f} MB")
    print(f"load average during the trials: {min(loads):.1f}-{max(loads):.1f}")
    print(f"pages: {base}/units-*/report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
