"""The results store (rig/store_sql.py) and its versioned schema (rig/store_schema.py,
rig/migrations): every test on SQLite and on PostgreSQL (tests/conftest.py starts a
throwaway server once per session)."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from evrig.rig import records, store_schema
from evrig.rig.store_schema import SchemaMismatch
from evrig.rig.store_sql import SqlStore, metadata, open_store
from tests.store_helpers import unit

pytestmark = pytest.mark.xdist_group("postgres")  # one worker, one server


def _at(url: str, revision: str) -> None:
    """The database migrated to ``revision`` only (an older release's schema)."""
    store = SqlStore(url)
    with store.engine.begin() as conn:
        command.upgrade(store_schema.alembic_config(conn), revision)
    store.close()


def _sql(url: str, *statements: str) -> list[tuple[object, ...]]:
    store = SqlStore(url)
    with store.engine.begin() as conn:
        rows: list[tuple[object, ...]] = []
        for statement in statements:
            result = conn.execute(sa.text(statement))
            if result.returns_rows:
                rows += [tuple(r) for r in result]
    store.close()
    return rows


def test_add_runs_roundtrip(store_url):
    store = open_store(store_url)
    a, b, c = unit("SN-A"), unit("SN-B"), unit("SN-A", outcome="failed")
    for rec in (a, b, c):
        store.add(rec, f"/reports/{rec.run_id}/record.json")
    rows = store.runs()
    assert [r["run_id"] for r in rows] == [a.run_id, b.run_id, c.run_id]  # by start
    assert [r["outcome"] for r in store.runs("SN-A")] == ["passed", "failed"]
    row = rows[0]
    assert (row["n_measurements"], row["n_failed"], row["firmware"]) == (40, 0, "1.2.3")
    assert records.UnitRecord.from_dict(json.loads(row["record_json"])) == a
    assert row["stored_at"]
    store.close()


def test_add_is_idempotent(store_url):
    """The same run id twice (a retried upload) is one row, the last version."""
    store = open_store(store_url)
    rec = unit()
    store.add(rec, "a/record.json")
    rec.outcome = "failed"
    store.add(rec, "b/record.json")
    rows = store.runs()
    assert [(r["run_id"], r["outcome"], r["record_path"]) for r in rows] == \
        [(rec.run_id, "failed", "b/record.json")]
    assert store.count() == 1
    store.close()


def test_a_new_database_is_created_at_head(store_url):
    open_store(store_url).close()
    store = SqlStore(store_url)
    with store.engine.connect() as conn:
        state = store_schema.state(conn)
        compat = conn.execute(sa.text("SELECT oldest_writer FROM schema_compat")).all()
    store.close()
    assert state.revision == store_schema.head() == "0002"
    assert compat == [("0001",)]


def test_migrations_make_the_table_the_code_writes(store_url):
    """The migrations at head and the head table in rig/store_sql.py are the same
    schema (columns, types, nullability, indexes): alembic's autogenerate finds no
    difference."""
    open_store(store_url).close()
    store = SqlStore(store_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.close()
    assert diff == []


def test_an_older_schema_is_refused_until_upgraded(store_url):
    _at(store_url, "0001")
    _sql(store_url, "INSERT INTO units (run_id, serial, start) VALUES ('old-1', 'SN', '1')")
    with pytest.raises(SchemaMismatch) as refused:
        open_store(store_url)
    message = str(refused.value)
    assert "schema 0001, older than this station's 0002" in message
    assert "rig store upgrade" in message and "\n" not in message
    store = SqlStore(store_url)
    assert store_schema.upgrade(store.engine, store.where) == ("0001", "0002")
    assert store_schema.upgrade(store.engine, store.where) == ("0002", "0002")
    store.close()
    store = open_store(store_url)
    store.add(unit(), "x")
    assert [r["run_id"] for r in store.runs()][0] == "old-1"  # kept through the upgrade
    assert store.count() == 2
    store.close()


def test_a_database_from_before_migrations_is_refused_then_upgraded(store_url):
    """The code before versioned migrations made the units table and no version table:
    it counts as 0001."""
    _at(store_url, "0001")
    _sql(store_url, "DROP TABLE alembic_version")
    with pytest.raises(SchemaMismatch, match="schema pre-migration, older than this "
                                             "station's 0002"):
        open_store(store_url)
    store = SqlStore(store_url)
    assert store_schema.upgrade(store.engine, store.where) == ("pre-migration", "0002")
    store.close()
    open_store(store_url).close()


def test_the_sqlite_file_of_the_old_code_upgrades(tmp_path):
    """Its table had untyped columns (CREATE TABLE units (run_id, kind, …))."""
    path = tmp_path / "results.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE units (run_id, kind, serial, station, operator, firmware, "
                   "profile, variant, rig_file, start, end_, outcome, n_measurements, "
                   "n_failed, spec_time_s, record_path, record_json, PRIMARY KEY (run_id))")
        db.execute("INSERT INTO units (run_id, serial) VALUES ('old', 'SN')")
    url = f"sqlite:///{path}"
    store = SqlStore(url)
    store_schema.upgrade(store.engine, store.where)
    store.close()
    store = open_store(url)
    store.add(unit(), "x")
    assert sorted(r["run_id"] for r in store.runs())[1] == "old" and store.count() == 2
    store.close()


@pytest.mark.parametrize(("oldest_writer", "agrees"), [("0001", True), ("0002", True),
                                                      ("0003", False)])
def test_a_newer_schema_takes_older_stations_it_allows(store_url, oldest_writer, agrees):
    """A database upgraded by a newer release (revision 0003, unknown here): this
    station (0002) writes if ``oldest_writer`` lets it, else one line naming both."""
    open_store(store_url).close()
    _sql(store_url, "UPDATE alembic_version SET version_num = '0003'",
         f"UPDATE schema_compat SET oldest_writer = '{oldest_writer}'")
    if agrees:
        store = open_store(store_url)
        store.add(unit(), "x")
        assert store.count() == 1
        store.close()
        return
    with pytest.raises(SchemaMismatch) as refused:
        open_store(store_url)
    assert str(refused.value).endswith(
        "has schema 0003, newer than this station's 0002, and needs stations at schema "
        "0003 or newer: update this station's rig software")
    store = SqlStore(store_url)
    with pytest.raises(SchemaMismatch, match="cannot upgrade it"):
        store_schema.upgrade(store.engine, store.where)
    store.close()


def test_stations_opening_one_empty_database_at_once_create_it_once(store_url):
    """8 threads open the store of a database without a schema at the same moment:
    one creates it (under the schema lock), the others wait and find it at head."""
    barrier, failures = threading.Barrier(8), []

    def open_and_add() -> None:
        try:
            barrier.wait(timeout=30)
            store = open_store(store_url)
            store.add(unit(), "x")
            store.close()
        except Exception as exc:  # collected, asserted below
            failures.append(exc)

    threads = [threading.Thread(target=open_and_add) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    store = open_store(store_url)
    assert store.count() == 8
    store.close()


def test_a_sqlite_path_is_relative_to_base(tmp_path: Path):
    store = open_store("sqlite:///reports/results.sqlite", tmp_path)
    store.close()
    assert (tmp_path / "reports" / "results.sqlite").is_file()
