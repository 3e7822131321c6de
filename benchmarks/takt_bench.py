"""EOL takt time against the charger's own delays, per virtual bench (issue 14 item 8).

Runs ``rig run eol`` RUNS times on each bench (optionally with BUSY processes spinning
on the CPU, as a loaded line PC or CI machine) and prints, per bench, the EOL's spec
time beside the sum of the delays the charger imposed (boot, answers, contactor,
trips, recoveries, blink windows, meter samples) in the same run, and their ratio —
the anchor and the figure side by side:

    .venv/bin/python benchmarks/takt_bench.py [--runs 3] [--busy 0] [--bench sim ...]

Every run's record (reports/units/TAKT-*/) holds the per-step split that ``rig run
eol`` prints (charger / own / bench, rig/takt.py). Exit status 1 if a run did not pass.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ["sim", "sim-t2", "sim-compact-3ph", "sim-compact-1ph", "sim-evplus-7s",
           "sim-evplus-22c"]
SPIN = "while True: pass"


def one_run(bench: str, serial: str) -> tuple[float, float, str]:
    """(spec time, the charger's delays, outcome) of one ``rig run eol`` on ``bench``."""
    proc = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "rig"), "run", "eol", "--serial", serial,
         "--rig", str(ROOT / "rigs" / f"{bench}.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    paths = [line.split(None, 1)[1] for line in proc.stdout.splitlines()
             if line.startswith("record ")]
    if not paths:
        return 0.0, 0.0, f"no record (exit {proc.returncode}): {proc.stderr[-300:]}"
    record = json.loads((ROOT / paths[0].strip()).read_text())
    delays = sum(float(d["seconds"]) for d in record["delays"])
    return float(record["spec_time_s"]), delays, str(record["outcome"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--busy", type=int, default=0, help="CPU-spinning processes beside")
    ap.add_argument("--bench", action="append", choices=BENCHES,
                    help="only this bench (repeatable; default all six)")
    args = ap.parse_args()
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(args.busy)]
    failed = False
    rows: list[str] = []
    try:
        for bench in args.bench or BENCHES:
            ratios, specs, charger = [], [], []
            for n in range(args.runs):
                spec_s, delay_s, outcome = one_run(bench, f"TAKT-{bench}-{n}")
                if outcome != "passed" or not delay_s:
                    print(f"{bench} run {n}: {outcome}", file=sys.stderr)
                    failed = True
                    continue
                specs.append(spec_s)
                charger.append(delay_s)
                ratios.append(spec_s / delay_s)
            if ratios:
                rows.append(f"| {bench} | {len(ratios)} | {statistics.median(specs):.1f} | "
                            f"{statistics.median(charger):.1f} | {min(ratios):.2f} | "
                            f"{statistics.median(ratios):.2f} | {max(ratios):.2f} |")
            print(rows[-1] if ratios else f"| {bench} | 0 | - | - | - | - | - |", flush=True)
    finally:
        for p in spinners:
            p.kill()
    load = os.getloadavg()[0]
    print(f"\n{time.strftime('%Y-%m-%d')}, {args.runs} run(s) a bench, {args.busy} busy "
          f"process(es), load average {load:.1f} at the end")
    print("| bench | runs | spec s (median) | charger's delays s (median) | ratio min | "
          "median | max |\n|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
