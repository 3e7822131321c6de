"""Many stations, one PostgreSQL database, nothing lost: 16 station processes write 50
unit records each at the same moment into one new database (they also race to create
its schema). Every record is stored exactly once; the rate is printed and kept in the
JUnit XML (property ``records_per_s``)."""

from __future__ import annotations

import multiprocessing
import queue
from pathlib import Path

import pytest

from evrig.rig.store_sql import open_store
from tests.store_helpers import spool_ids, station

pytestmark = pytest.mark.xdist_group("postgres")  # one worker, one server

STATIONS, RECORDS = 16, 50


def test_sixteen_stations_store_every_record_once(pg_database: str, tmp_path: Path,
                                                  record_property) -> None:
    # forkserver: each station is forked from one clean process that imported the
    # store once (16 interpreters importing SQLAlchemy would take 2 shared cores
    # seconds), not from this multi-threaded pytest process
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.store_helpers"])
    barrier, out = ctx.Barrier(STATIONS), ctx.Queue()
    procs = [ctx.Process(target=station, args=(pg_database, str(tmp_path / f"st{k}"),
                                               RECORDS, f"st{k}", barrier, out))
             for k in range(STATIONS)]
    for proc in procs:
        proc.start()
    results = []
    try:
        for _ in procs:
            results.append(out.get(timeout=120))
    except queue.Empty:
        pytest.fail(f"{STATIONS - len(results)} station(s) did not finish in 120 s: "
                    f"exit codes {[p.exitcode for p in procs]}")
    finally:
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    assert [p.exitcode for p in procs] == [0] * STATIONS

    written = [run_id for _name, ids, *_ in results for run_id in ids]
    assert sum(stored for *_, stored in results) == STATIONS * RECORDS  # none spooled
    assert all(not spool_ids(tmp_path / f"st{k}" / "spool") for k in range(STATIONS))
    store = open_store(pg_database)
    rows = store.runs()
    store.close()
    ids = [row["run_id"] for row in rows]
    assert len(ids) == len(set(ids)) == STATIONS * RECORDS  # none duplicated
    assert set(ids) == set(written)  # none lost, none foreign
    assert {row["station"] for row in rows} == {f"st{k}" for k in range(STATIONS)}

    seconds = max(end for *_, end, _s in results) - min(start for *_, start, _e, _s
                                                         in results)
    rate = STATIONS * RECORDS / seconds
    record_property("records_per_s", round(rate))
    print(f"\n{STATIONS} stations x {RECORDS} records into PostgreSQL: "
          f"{STATIONS * RECORDS} rows in {seconds:.2f} s = {rate:.0f} records/s")
