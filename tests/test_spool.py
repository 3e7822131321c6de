"""A station that cannot reach its database spools its records and uploads them when
the database is back, exactly once (rig/spool.py; ``rig store status|upload``). The
database goes away and comes back through a TCP proxy in front of the session's
PostgreSQL server (tests/store_helpers.py); its URL carries a password, which must
show nowhere."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from evrig.rig import records
from evrig.rig.cli import main
from evrig.rig.errors import RigError
from evrig.rig.spool import Spool, spool_dir_of
from evrig.rig.store_sql import SqlStore, StoreUnreachable, open_store
from tests.store_helpers import Proxy, host_port, spool_ids, unit, via

pytestmark = pytest.mark.xdist_group("postgres")  # one worker, one server
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def proxy(pg_database: str):
    proxy = Proxy(*host_port(pg_database))
    proxy.up()
    yield proxy
    proxy.down()


def _save(reports: Path, url: str, serial: str = "SN-1") -> records.UnitRecord:
    rec = unit(serial)
    records.save(rec, records.run_dir(reports, serial, rec.run_id), url)
    return rec


def _stored(url: str) -> list[str]:
    store = SqlStore(url)  # unchecked: just count what is there
    try:
        return [row["run_id"] for row in store.runs()]
    finally:
        store.close()


def _rig_file(tmp_path: Path, reports: Path, url: str) -> Path:
    rig = tmp_path / "rig.yaml"
    rig.write_text(f"profile: evnet-7kw\nreports: {{dir: '{reports}', database: '{url}'}}\n")
    return rig


def _no_password(url: str, *texts: str) -> None:
    password = urlsplit(url).password
    assert password and all(password not in text for text in texts)


def test_spooled_while_down_uploaded_when_back(proxy, pg_database, tmp_path, caplog, capsys):
    url, reports = via(pg_database, proxy), tmp_path / "reports"
    rig = _rig_file(tmp_path, reports, url)
    caplog.set_level(logging.WARNING)
    first = _save(reports, url, "SN-1")
    assert _stored(pg_database) == [first.run_id]

    proxy.down()  # the database goes away
    down = [_save(reports, url, f"SN-{n}") for n in (2, 3)]
    assert spool_ids(reports / "spool") == {r.run_id for r in down}
    assert all(records.read_record(p).run_id for p in (reports / "units").rglob("record.json"))
    assert "spooled to" in caplog.text and "not reachable" in caplog.text
    assert main(["store", "status", "--rig", str(rig)]) == 1
    status = capsys.readouterr().out
    assert "NOT reachable" in status and "2 record(s) waiting" in status
    assert down[0].run_id in status and "postgres:[redacted]@" in status

    proxy.up()  # back: the next record stored, then the spool uploaded
    last = _save(reports, url, "SN-4")
    assert sorted(_stored(pg_database)) == sorted(r.run_id for r in (first, *down, last))
    assert spool_ids(reports / "spool") == set()
    assert main(["store", "status", "--rig", str(rig)]) == 0
    status += capsys.readouterr().out
    assert "reachable, schema 0002 (this station: 0002)" in status
    assert "0 record(s) waiting" in status

    spooled = "".join(p.read_text() for p in reports.rglob("*.json"))
    _no_password(url, caplog.text, status, spooled)


def test_a_station_keeps_its_store_across_an_outage(proxy, pg_database):
    """Connections cut under an open store: that add is unreachable (the caller
    spools), the first add after the database is back reconnects."""
    url = via(pg_database, proxy)
    store = open_store(url)
    store.add(unit(), "x")
    proxy.down()
    with pytest.raises(StoreUnreachable) as unreachable:
        store.add(unit(), "x")
    _no_password(url, str(unreachable.value))
    proxy.up()
    store.add(unit(), "x")
    assert store.count() == 2
    store.close()


def test_a_refusing_database_keeps_the_record_in_the_spool(pg_database, tmp_path, capsys):
    """An older schema: the record is spooled and the run told why; after `rig store
    upgrade` and `rig store upload` it is stored."""
    from alembic import command

    from evrig.rig import store_schema

    store = SqlStore(pg_database)
    with store.engine.begin() as conn:
        command.upgrade(store_schema.alembic_config(conn), "0001")
    store.close()
    reports = tmp_path / "reports"
    rig = _rig_file(tmp_path, reports, pg_database)
    with pytest.raises(RigError, match=r"older than this station's 0002: run `rig store "
                                       r"upgrade`.*kept in .*spool"):
        _save(reports, pg_database)
    assert len(spool_ids(reports / "spool")) == 1
    assert main(["store", "upgrade", "--rig", str(rig)]) == 0
    assert main(["store", "upload", "--rig", str(rig)]) == 0
    out = capsys.readouterr().out
    assert "schema 0001 → 0002" in out and "uploaded 1 record(s)" in out
    _no_password(pg_database, out)
    assert len(_stored(pg_database)) == 1 and not spool_ids(reports / "spool")


def test_an_unusable_sqlite_file_spools(tmp_path, caplog):
    """SQLite's 'unreachable': the database path is a folder."""
    (tmp_path / "reports" / "results.sqlite").mkdir(parents=True)
    caplog.set_level(logging.WARNING)
    rec = _save(tmp_path / "reports", f"sqlite:///{tmp_path}/reports/results.sqlite")
    assert spool_ids(tmp_path / "reports" / "spool") == {rec.run_id}
    assert "unable to open" in caplog.text


def test_spool_folder_beside_the_runs(tmp_path):
    assert spool_dir_of(tmp_path / "r" / "units" / "SN" / "id") == tmp_path / "r" / "spool"
    assert spool_dir_of(tmp_path / "r" / "regression" / "1.2" / "id") == \
        tmp_path / "r" / "spool"
    assert spool_dir_of(tmp_path / "elsewhere") == tmp_path / "spool"


def test_two_uploads_of_one_spool_at_once_store_each_record_once(pg_database, tmp_path):
    spool = Spool(tmp_path / "spool")
    spooled = [unit(f"SN-{i}") for i in range(100)]
    for rec in spooled:
        spool.put(rec, f"/r/{rec.run_id}/record.json")
    stores = [open_store(pg_database) for _ in range(2)]
    threads = [threading.Thread(target=spool.upload, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for s in stores:
        s.close()
    ids = _stored(pg_database)
    assert len(ids) == len(set(ids)) == 100 and set(ids) == {r.run_id for r in spooled}
    assert spool.files() == []


UPLOADER = textwrap.dedent('''
    import os, sys, time
    from evrig.rig.spool import Spool
    from evrig.rig.store_sql import open_store
    store = open_store(os.environ["EVRIG_URL"])
    if sys.argv[2] == "after-commit":
        # the 30th record: committed, its spool file not yet removed — killed there
        real, count = os.unlink, [0]
        def unlink(path):
            count[0] += 1
            if count[0] == 30:
                print("committed", flush=True)
                time.sleep(120)
            real(path)
        os.unlink = unlink
    print("start", flush=True)
    Spool(sys.argv[1]).upload(store, lambda item: print("uploaded", flush=True))
    print("done", flush=True)
''')


@pytest.mark.parametrize("when", ["after-commit", "after 1", "after 60"])
def test_a_station_killed_mid_upload_loses_nothing(pg_database, tmp_path, when):
    """SIGKILL during an upload of 150 spooled records — after a commit and before the
    removal of that record's file, or at whatever point the upload has reached after
    1 or 60 records — then a second upload: every record stored exactly once."""
    spool = Spool(tmp_path / "spool")
    recs = [unit(f"SN-{i}") for i in range(150)]
    for rec in recs:
        spool.put(rec, f"/r/{rec.run_id}/record.json")
    spooled = {rec.run_id for rec in recs}
    script = tmp_path / "uploader.py"
    script.write_text(UPLOADER)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EVRIG_URL": pg_database}
    proc = subprocess.Popen([sys.executable, str(script), str(spool.folder),
                             when.split()[0]], env=env, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    wait_for = "committed" if when == "after-commit" else "uploaded"
    seen = 0
    for line in proc.stdout:
        seen += line.strip() == wait_for
        if seen == (1 if when == "after-commit" else int(when.split()[1])):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    left = spool_ids(spool.folder)
    stored_before = set(_stored(pg_database))
    assert stored_before | left == spooled  # nothing lost even before the retry
    if when == "after-commit":
        assert len(stored_before & left) == 1  # stored and still spooled: the nasty case
    store = open_store(pg_database)
    done, problems = spool.upload(store)
    store.close()
    ids = _stored(pg_database)
    assert problems == [] and spool.files() == []
    assert len(ids) == len(set(ids)) == 150 and set(ids) == spooled


def test_a_bad_spool_file_holds_back_nothing(tmp_path):
    spool = Spool(tmp_path / "spool")
    recs = [unit(f"SN-{i}") for i in range(3)]
    for rec in recs:
        spool.put(rec, "x")
    bad = spool.folder / "00000000-not-a-record.json"  # sorts first
    bad.write_text("{")
    store = open_store(f"sqlite:///{tmp_path}/results.sqlite")
    done, problems = spool.upload(store)
    assert store.count() == done == 3
    store.close()
    assert len(problems) == 1 and "not a spooled record" in problems[0]
    assert spool.files() == [bad]


def test_database_urls_are_shown_without_their_password():
    from evrig.rig.redaction import redact_url

    assert redact_url("postgresql://rig:s3cr@t@db:5432/results?sslmode=require") == \
        "postgresql://rig:[redacted]@db:5432/results?sslmode=require"
    assert redact_url("postgresql://rig@db/results") == "postgresql://rig@db/results"
    assert redact_url("host=db password=s3cret user=rig") == \
        "host=db password=[redacted] user=rig"
    assert redact_url("postgresql://db/r?user=rig&password=s3cret") == \
        "postgresql://db/r?user=rig&password=[redacted]"
    with pytest.raises(RigError) as bad:
        open_store("mysql://rig:s3cret@db/results")
    assert "s3cret" not in str(bad.value) and "[redacted]" in str(bad.value)
