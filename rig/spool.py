"""The spool: unit records a station could not store, kept until the database takes
them (a line's database down for maintenance must not stop production, nor lose a
record).

``<reports>/spool/<run id>.json``, one file per record, written atomically (through
:func:`~evrig.rig.records.write_atomic`: a file is whole or absent), holding the record
and the path of its record.json — not the database's URL, which may carry a password.

Uploading one file is: upsert its row (one transaction), then remove the file. A
station killed between the two leaves the file, and the next upload upserts the same
run id again: the primary key makes it one row. Two processes uploading one spool at
once do the same, and the second removal finds nothing. So nothing is lost and
nothing doubled, with no lock.

:class:`Recorder` is how every record reaches the store (``records.save``): stored
at once, else spooled; the spool is uploaded after the next record the database takes,
or by ``rig store upload``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evrig.rig.errors import RigError
from evrig.rig.records import UnitRecord, write_atomic
from evrig.rig.store_sql import SqlStore, StoreUnreachable, open_store

log = logging.getLogger(__name__)
SPOOL_FORMAT = 1


def spool_dir_of(run_folder: str | Path) -> Path:
    """The spool of the reports folder a run folder is in: ``<reports>/units/<serial>/
    <run id>`` and ``<reports>/regression/<firmware>/<run id>`` give
    ``<reports>/spool``; any other folder its parent's ``spool``."""
    folder = Path(run_folder)
    if len(folder.parents) >= 3 and folder.parents[1].name in ("units", "regression"):
        return folder.parents[2] / "spool"
    return folder.parent / "spool"


@dataclass(frozen=True)
class Spooled:
    file: Path
    record: UnitRecord
    record_path: str


class Spool:
    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def put(self, record: UnitRecord, record_path: str | Path) -> Path:
        data = {"spool": SPOOL_FORMAT, "record_path": str(record_path),
                "record": record.to_dict()}
        return write_atomic(self.folder / f"{record.run_id}.json",
                            json.dumps(data, default=str) + "\n")

    def files(self) -> list[Path]:
        """The spooled records, oldest run first (run ids sort by time); write_atomic's
        temporary files start with a dot and are not records yet."""
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))

    def read(self, file: Path) -> Spooled:
        try:
            data: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
            return Spooled(file, UnitRecord.from_dict(data["record"]), data["record_path"])
        except (ValueError, TypeError, KeyError) as exc:
            raise RigError(f"{file}: not a spooled record ({exc})") from None

    def upload(self, store: SqlStore,
               uploaded: Callable[[Spooled], None] | None = None) -> tuple[int, list[str]]:
        """Every spooled record into ``store``, oldest first; returns (records
        uploaded, problems). An unreachable database stops the upload (the rest stays
        spooled) by raising StoreUnreachable; a file that is not a record, or that the
        database refuses, is left in place and named in the problems (one bad file
        must not hold back the others)."""
        done, problems = 0, []
        for file in self.files():
            try:
                item = self.read(file)
            except FileNotFoundError:
                continue  # another process uploaded it meanwhile
            except RigError as exc:
                problems.append(str(exc))
                continue
            try:
                store.add(item.record, item.record_path)
            except StoreUnreachable:
                raise
            except RigError as exc:
                problems.append(f"{file}: {exc}")
                continue
            # after the commit: a kill here leaves the file for an idempotent retry
            with contextlib.suppress(FileNotFoundError):  # another process's upload
                os.unlink(file)
            done += 1
            if uploaded is not None:
                uploaded(item)
        return done, problems


class Recorder:
    """A station's way to the store: opens it at the first record and keeps it open
    (``records.save`` makes one per record), stores each record or spools it, and
    uploads the spool after each record the database takes."""

    def __init__(self, database: str, base: str | Path = ".",
                 spool_folder: str | Path | None = None) -> None:
        self.database, self.base = database, base
        self.spool_folder = None if spool_folder is None else Path(spool_folder)
        self.store: SqlStore | None = None

    def deliver(self, record: UnitRecord, record_path: str | Path) -> bool:
        """The record's row; True if stored, False if spooled because the database
        cannot be reached (a warning says so; the run goes on). Any other failure (the
        schema disagrees, a bad URL …) spools the record too, then raises its one-line
        error saying where the record waits."""
        spool = Spool(self.spool_folder or spool_dir_of(Path(record_path).parent))
        try:
            if self.store is None:
                self.store = open_store(self.database, self.base)
            self.store.add(record, str(record_path))
        except StoreUnreachable as exc:
            _spooled(spool, record, record_path, exc)
            return False
        except RigError as exc:
            file = spool.put(record, record_path)
            raise RigError(f"{exc} (record {record.run_id} kept in {file}; `rig store "
                           "upload` stores it once the database takes it)") from None
        if spool.files():
            try:
                done, problems = spool.upload(self.store)
            except RigError as exc:  # gone again: the rest waits for the next time
                log.warning("spool upload stopped: %s", exc)
            else:
                for problem in problems:
                    log.warning("spool: %s", problem)
                if done:  # a warning too: the operator saw the spooling ones
                    log.warning("uploaded %d spooled record(s) from %s", done, spool.folder)
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def deliver(record: UnitRecord, record_path: str | Path, database: str,
            base: str | Path = ".", spool_folder: str | Path | None = None) -> bool:
    """One record (``records.save``): see :meth:`Recorder.deliver`."""
    recorder = Recorder(database, base, spool_folder)
    try:
        return recorder.deliver(record, record_path)
    finally:
        recorder.close()


def _spooled(spool: Spool, record: UnitRecord, record_path: str | Path,
             why: Exception) -> None:
    file = spool.put(record, record_path)
    # WARNING: an operator sees it on the terminal (logging's last-resort handler)
    log.warning("%s; record %s spooled to %s (uploaded with the next record the database "
                "takes, or by `rig store upload`)", why, record.run_id, file)
