"""Unit records per second into the results store: SQLite and PostgreSQL side by side,
from 1 writer and from 16 writers at once (`benchmarks/README.md` has the figures).

    .venv/bin/python benchmarks/store_bench.py [--records 800] [--trials 3]

Each writer is a process (a station) with its store open (rig/store_sql.py SqlStore),
adding whole unit records (40 measurements, 12 steps: an EOL run's size) one
transaction each, as a station does; the clock runs from the moment every writer is
ready (a barrier) until the last one is done. ``--records`` is the total per run:
one writer writes all of them, 16 writers a 16th each. Both databases durable: SQLite
with its defaults (rollback journal, synchronous FULL) in a file on this disk,
PostgreSQL from tests/pg_server.py --durable (fsync and synchronous commit on), on
127.0.0.1 with password authentication. Each run has a new database; the order
alternates and every figure is the median of the trials, as another job's load on the
machine skews a single run (the load average is printed).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evrig.rig.store_sql import open_store  # noqa: E402 (after the path)
from tests.pg_server import Server  # noqa: E402
from tests.store_helpers import unit  # noqa: E402


def writer(url: str, n: int, name: str, barrier: Any, out: Any) -> None:
    store = open_store(url)
    batch = [unit(serial=f"{name}-{i:05d}", station=name) for i in range(n)]
    barrier.wait(timeout=120)
    start, cpu = time.perf_counter(), time.process_time()
    for rec in batch:
        store.add(rec, f"reports/units/{rec.serial}/{rec.run_id}/record.json")
    out.put((start, time.perf_counter(), time.process_time() - cpu))
    store.close()


def one_run(ctx: Any, url: str, writers: int, total: int) -> tuple[float, float]:
    """Records per second of ``writers`` processes writing ``total`` records, and the
    writers' CPU milliseconds per record (what another job's load does not change)."""
    open_store(url).close()  # the schema is made before the clock
    barrier, out = ctx.Barrier(writers), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(url, total // writers, f"w{k}", barrier, out))
             for k in range(writers)]
    for proc in procs:
        proc.start()
    times = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    store = open_store(url)
    count = store.count()
    store.close()
    written = total // writers * writers
    if count != written:
        raise SystemExit(f"{url.split('@')[-1]}: {count} rows, expected {written}")
    seconds = max(end for _, end, _ in times) - min(start for start, _, _ in times)
    return written / seconds, sum(cpu for *_, cpu in times) / written * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=800, help="records per run (total)")
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    import psycopg

    ctx = multiprocessing.get_context("forkserver")
    load = os.getloadavg()[0]
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    started = time.monotonic()
    with Server(durable=True) as server, tempfile.TemporaryDirectory() as tmp:
        with psycopg.connect(server, autocommit=True) as admin:
            version = admin.execute("SHOW server_version").fetchone()
        n = 0
        for trial in range(args.trials):
            for writers in (1, 16):
                kinds = ("sqlite", "postgresql") if trial % 2 == 0 \
                    else ("postgresql", "sqlite")
                for kind in kinds:
                    n += 1
                    if kind == "sqlite":
                        url = f"sqlite:///{tmp}/run{n}.sqlite"
                    else:
                        with psycopg.connect(server, autocommit=True) as admin:
                            admin.execute(f"CREATE DATABASE run{n}")
                        url = server.rsplit("/", 1)[0] + f"/run{n}"
                    rate, cpu = one_run(ctx, url, writers, args.records)
                    results.setdefault((kind, writers), []).append((rate, cpu))
                    print(f"  trial {trial + 1}: {kind:10s} {writers:2d} writer(s) "
                          f"{rate:7.0f} records/s, writers' CPU {cpu:.2f} ms/record",
                          flush=True)
    pg = f"PostgreSQL {version[0] if version else '?'}"
    print(f"\n{args.records} unit records per run, median of {args.trials} trials, "
          f"{time.monotonic() - started:.0f} s; load average {load:.1f} → "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'records/s (writers CPU ms/record)':34s}{'1 writer':>16s}{'16 writers':>16s}")
    for kind, label in (("sqlite", "SQLite (file, defaults)"), ("postgresql", pg)):
        cells = []
        for w in (1, 16):
            rate = statistics.median(r for r, _ in results[(kind, w)])
            cpu = statistics.median(c for _, c in results[(kind, w)])
            cells.append(f"{rate:6.0f} ({cpu:.2f} ms)")
        print(f"{label:34s}{cells[0]:>16s}{cells[1]:>16s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
