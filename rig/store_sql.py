"""The results store (design §6): one row per unit record, in SQLite (a station's own
``reports/results.sqlite``) or PostgreSQL (a line of stations sharing one database),
through SQLAlchemy Core. The schema is versioned (rig/store_schema.py, rig/migrations):
:func:`open_store` checks that the database and this station agree before any write.

Writes are idempotent: a record's run id is the primary key and :meth:`SqlStore.add`
is an upsert, so a record uploaded twice (a retry after a lost answer, one spool
uploaded by two processes at once, an upload killed between its commit and the
removal of its spool file) is one row.

A database that cannot be reached raises :class:`StoreUnreachable` (the caller spools
the record, rig/spool.py); any other database error is a :class:`RigError`. Neither
message holds a password: a store names its database by :attr:`SqlStore.where`, the
URL with its password redacted.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects import postgresql, sqlite

from evrig.rig.errors import RigError
from evrig.rig.records import utc_now
from evrig.rig.redaction import redact_url

if TYPE_CHECKING:
    from evrig.rig.records import UnitRecord

metadata = sa.MetaData()

# The table as the migrations leave it at head (rig/migrations/versions); a test
# checks that the two agree. Columns are nullable as the table of the code before
# versioned migrations was (revision 0001 is that table).
units = sa.Table(
    "units", metadata,
    sa.Column("run_id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text),
    sa.Column("serial", sa.Text),
    sa.Column("station", sa.Text),
    sa.Column("operator", sa.Text),
    sa.Column("firmware", sa.Text),
    sa.Column("profile", sa.Text),
    sa.Column("variant", sa.Text),
    sa.Column("rig_file", sa.Text),
    sa.Column("start", sa.Text),  # ISO 8601 UTC text: sorts as time, same in both
    sa.Column("end_", sa.Text),
    sa.Column("outcome", sa.Text),
    sa.Column("n_measurements", sa.Integer),
    sa.Column("n_failed", sa.Integer),
    sa.Column("spec_time_s", sa.Float),
    sa.Column("record_path", sa.Text),
    sa.Column("record_json", sa.Text),
    sa.Column("stored_at", sa.Text),  # 0002: when the row reached the database
    sa.Index("ix_units_serial", "serial"),
    sa.Index("ix_units_start", "start"),
)

# Which stations may write (0002; rig/store_schema.py): one row.
schema_compat = sa.Table(
    "schema_compat", metadata,
    sa.Column("oldest_writer", sa.Text, nullable=False),
)

POSTGRES_HINT = ("pip install 'ev-charger-rig[postgres]' (psycopg), or use "
                 "sqlite:///reports/results.sqlite")


class StoreUnreachable(RigError):
    """The database did not answer (refused, timed out, dropped the connection, or a
    SQLite file stayed locked): the record belongs in the spool."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"results database {where} not reachable: {reason}")
        self.reason = reason


def engine_url(url: str, base: str | Path = ".") -> sa.URL | str:
    """The SQLAlchemy URL of ``reports.database``: a relative SQLite path is taken from
    ``base``; plain ``postgresql://`` means psycopg (3), the driver the extra ships."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        return sa.URL.create("sqlite", database=str(path if path.is_absolute()
                                                    else Path(base) / path))
    if re.match(r"postgresql(\+psycopg)?://", url):
        return re.sub(r"^postgresql(\+psycopg)?://", "postgresql+psycopg://", url)
    if re.match(r"postgresql\+\w+://", url):
        return url
    raise RigError(f"reports.database: unsupported URL {redact_url(url)!r}; expected "
                   "sqlite:///path or postgresql://...")


def create_engine(url: str, base: str | Path = ".") -> sa.Engine:
    target = engine_url(url, base)
    try:
        if isinstance(target, sa.URL):
            try:
                Path(str(target.database)).parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:  # a file in the way, a read-only disk: as unreachable
                raise StoreUnreachable(url, f"no folder for the file ({err})") from None
            # 30 s: parallel benches on one station take turns (SQLite has one writer)
            engine = sa.create_engine(target, connect_args={"timeout": 30})
            _sqlite_transactions(engine)
            return engine
        # pre-ping: a station keeps its engine across an outage; connect_timeout: an
        # unreachable host fails in seconds, not after the kernel's minutes of SYNs.
        connect: dict[str, Any] = {"application_name": "evrig"}
        if "connect_timeout" not in target:
            connect["connect_timeout"] = 5
        return sa.create_engine(target, pool_pre_ping=True, connect_args=connect)
    except ImportError as err:
        raise RigError(f"reports.database is {redact_url(url)} but its driver is not "
                       f"installed ({err}); {POSTGRES_HINT}") from None
    except exc.ArgumentError as err:
        raise RigError(f"reports.database: {redact_url(str(err))}") from None


def _sqlite_transactions(engine: sa.Engine) -> None:
    """SQLAlchemy's recipe for real SQLite transactions: the sqlite3 module's own
    implicit BEGIN (before DML only, so DDL ran outside any transaction) is off, and
    each transaction starts with an explicit BEGIN — IMMEDIATE where the connection
    is marked ``evrig_write``, so a writer takes the write lock first and waits its
    turn instead of failing with "database is locked" when it upgrades a read lock."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        write = connection.get_execution_options().get("evrig_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextlib.contextmanager
def errors(where: str) -> Iterator[None]:
    """Database errors as a person reads them: unreachable, or one line naming the
    database (its password redacted)."""
    try:
        yield
    except exc.DBAPIError as err:
        reason = redact_url(str(err.orig or err).strip().splitlines()[0])
        if _unreachable(err, reason):
            raise StoreUnreachable(where, reason) from None
        raise RigError(f"results database {where}: {reason}") from None
    except exc.SQLAlchemyError as err:
        raise RigError(f"results database {where}: {redact_url(str(err))}") from None


# sqlite3 raises OperationalError for a missing table or bad SQL too: of its messages
# only these say the file could not be used at the moment.
_SQLITE_UNREACHABLE = re.compile(r"(?i)locked|busy|unable to open|disk i/o|readonly")


def _unreachable(err: exc.DBAPIError, reason: str) -> bool:
    if err.connection_invalidated or isinstance(err, exc.InterfaceError):
        return True
    if not isinstance(err, exc.OperationalError):
        return False
    if type(err.orig).__module__.startswith("sqlite3"):
        return bool(_SQLITE_UNREACHABLE.search(reason))
    return True  # psycopg: refused, timed out, authentication, server shut down


@contextlib.contextmanager
def write_transaction(engine: sa.Engine) -> Iterator[sa.Connection]:
    with engine.connect() as conn:
        conn.execution_options(evrig_write=True)
        with conn.begin():
            yield conn


def _values(record: UnitRecord, record_path: str) -> dict[str, Any]:
    return {"run_id": record.run_id, "kind": record.kind, "serial": record.serial,
            "station": record.station, "operator": record.operator,
            "firmware": record.firmware, "profile": record.profile,
            "variant": record.variant, "rig_file": record.rig_file, "start": record.start,
            "end_": record.end, "outcome": record.outcome,
            "n_measurements": len(record.measurements),
            "n_failed": len(record.failed_measurements),
            "spec_time_s": record.spec_time_s, "record_path": record_path,
            "record_json": json.dumps(record.to_dict(), default=str),
            "stored_at": utc_now()}


class SqlStore:
    """The ``units`` table of one database. :func:`open_store` makes one after the
    schema check; ``rig store`` makes one unchecked to say what the database is."""

    def __init__(self, url: str, base: str | Path = ".") -> None:
        self.where = redact_url(url)
        self.engine = create_engine(url, base)
        self.dialect = self.engine.dialect.name
        # Built once: SQLAlchemy then reuses its compiled form (a third of an add's
        # CPU time when built per call). Only the columns this station knows: a newer
        # schema's extra columns keep their defaults (older stations may write).
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(units)
        self._upsert = stmt.on_conflict_do_update(
            index_elements=[units.c.run_id],
            set_={c.name: stmt.excluded[c.name] for c in units.c if c.name != "run_id"})

    def add(self, record: UnitRecord, record_path: str) -> None:
        """Insert the record's row, or replace the row of the same run id (idempotent:
        the last written version of a run wins, as its record.json does)."""
        with errors(self.where), write_transaction(self.engine) as conn:
            conn.execute(self._upsert, _values(record, record_path))

    def runs(self, serial: str | None = None) -> list[dict[str, Any]]:
        query = sa.select(units).order_by(units.c.start, units.c.run_id)
        if serial:
            query = query.where(units.c.serial == serial)
        with errors(self.where), self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def count(self) -> int:
        with errors(self.where), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(units))
                       .scalar_one())

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str, base: str | Path = ".") -> SqlStore:
    """``sqlite:///relative/path`` (from ``base``), ``sqlite:////absolute/path`` or
    ``postgresql://...``, checked against this station's schema: a database without
    one gets it; a database this station must not write raises the one-line
    :class:`~evrig.rig.store_schema.SchemaMismatch` (rig/store_schema.py)."""
    from evrig.rig import store_schema

    store = SqlStore(url, base)
    try:
        store_schema.ensure_current(store.engine, store.where)
    except BaseException:
        store.close()
        raise
    return store
