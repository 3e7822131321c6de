"""``rig store``: the results store of a rig file (its ``reports`` section).

- ``rig store status``: where the database is (password redacted), whether it answers,
  its schema against this station's, and the records waiting in the spool. Exit 0
  when the database takes this station's records and nothing waits, else 1.
- ``rig store upload``: the spooled records into the database now (a station also
  uploads them after the next record the database takes). Exit 0 when none is left.
- ``rig store upgrade``: the database's schema to this station's (the one way a
  station changes a schema: rig/store_schema.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evrig.rig.errors import RigError
from evrig.rig.spool import Spool
from evrig.rig.store_sql import SqlStore, StoreUnreachable, errors, open_store


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for name, text in (("status", "where the database is, its schema, what is spooled"),
                       ("upload", "upload the spooled records now"),
                       ("upgrade", "upgrade the database's schema to this station's")):
        action = sub.add_parser(name, help=text, description=text)
        action.add_argument("--rig", default=None,
                            help="rig file whose reports section names the folder and the "
                                 "database (default $RIG_FILE, else rigs/sim.yaml, else "
                                 "the shipped sim)")


def _reports(rig: str | None) -> tuple[Path, str]:
    from evrig.rig.config import load_rig
    from evrig.rig.rig_files import find_rig_file

    cfg = load_rig(find_rig_file(rig)).reports
    return Path(cfg.dir), cfg.database


def run_command(args: argparse.Namespace) -> int:
    reports, database = _reports(args.rig)
    spool = Spool(reports / "spool")
    if args.action == "status":
        return status(database, spool)
    if args.action == "upload":
        return upload(database, spool)
    return upgrade(database)


def status(database: str, spool: Spool) -> int:
    from evrig.rig import store_schema

    store = SqlStore(database)
    ok = True
    try:
        with errors(store.where), store.engine.connect() as conn:
            db = store_schema.state(conn)
        refusal = store_schema.verdict(db, store.where) if db.revision or db.legacy \
            else None
        print(f"database  {store.where} ({store.dialect}): reachable, schema {db.name} "
              f"(this station: {store_schema.head()})")
        if refusal:
            print(f"          {refusal}")
            ok = False
    except StoreUnreachable as exc:
        print(f"database  {store.where} ({store.dialect}): NOT reachable: {exc.reason}")
        ok = False
    except RigError as exc:  # answered with an error
        print(f"database  {store.where} ({store.dialect}): {exc}")
        ok = False
    finally:
        store.close()
    files = spool.files()
    print(f"spool     {spool.folder}: {len(files)} record(s) waiting")
    for file in files:
        try:
            item = spool.read(file)
        except FileNotFoundError:
            continue  # uploaded meanwhile
        except RigError as exc:
            print(f"  {exc}")
            continue
        rec = item.record
        print(f"  {rec.run_id}  {rec.kind} {rec.serial}  {rec.outcome}  start {rec.start}")
    return 0 if ok and not files else 1


def upload(database: str, spool: Spool) -> int:
    try:
        store = open_store(database)
        try:
            done, problems = spool.upload(store)
        finally:
            store.close()
    except StoreUnreachable as exc:
        print(f"{exc}; {len(spool.files())} record(s) still in {spool.folder}")
        return 1
    for problem in problems:
        print(problem)
    left = len(spool.files())
    print(f"uploaded {done} record(s) from {spool.folder} to {store.where}; {left} left")
    return 0 if not left else 1


def upgrade(database: str) -> int:
    from evrig.rig import store_schema

    store = SqlStore(database)
    try:
        before, after = store_schema.upgrade(store.engine, store.where)
    finally:
        store.close()
    print(f"{store.where}: schema {before} → {after}" if before != after
          else f"{store.where}: schema already at {after}")
    return 0
