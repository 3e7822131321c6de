"""The results store's schema, versioned by alembic migrations (rig/migrations).

Decision — a station changes the schema of a database only when told to
(``rig store upgrade``). Opening a store compares the database's revision with this
station's head revision:

- no schema (an empty database, a new SQLite file): the station creates it, at head,
  through the migrations; under a lock, so that 16 stations starting on one empty
  database create it once (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE);
- the same revision: the station writes;
- an older revision that this station knows: it refuses, in one line naming both
  revisions and the command. Upgrading a shared database is a decision for the line
  (its stations are updated one by one), not a side effect of a unit's run;
- a revision this station does not know (the database was upgraded by a newer
  release): it writes if the database lets stations of its revision write, else it
  refuses naming both revisions. The database says so in ``schema_compat``
  (``oldest_writer``): every migration that would break an older station's INSERT
  (drops or renames a column it writes, adds a NOT NULL column without a default)
  sets it to its own revision; additive ones (a nullable column, an index) leave it.
  A station's INSERT names its own columns only (rig/store_sql.py), so the rule holds.

A database made before versioned migrations (a ``units`` table, no alembic_version)
has revision 0001's table: it counts as 0001, so it is refused like any older one and
``rig store upgrade`` stamps it 0001, then upgrades it.

A new migration: ``.venv/bin/python -c "from alembic import command; from
evrig.rig.store_schema import alembic_config; command.revision(alembic_config(),
'what it does', rev_id='0003')"``, then write its upgrade/downgrade (Core ops only)
and the head table in rig/store_sql.py; tests/test_store_schema.py checks they agree.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from evrig.rig.errors import RigError
from evrig.rig.store_sql import errors, schema_compat, write_transaction

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
BASELINE = "0001"  # the table of the code before versioned migrations
LEGACY = "pre-migration"  # how a database of that code is named in messages
LOCK_KEY = 0x65767269  # "evri": the advisory lock of schema changes (PostgreSQL)
UPGRADE = "rig store upgrade"


class SchemaMismatch(RigError):
    """This station and the database disagree on the schema: one line, both revisions."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """Alembic's configuration without an ini file: the migrations ship in the package
    and the connection comes from the caller (rig/migrations/env.py)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    """This station's schema revision."""
    revision = _scripts().get_current_head()
    assert revision is not None, "rig/migrations has no revision"
    return revision


def knows(revision: str) -> bool:
    """Whether ``revision`` is this station's head or one of its ancestors."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


@dataclass(frozen=True)
class State:
    revision: str | None  # None: no schema at all
    legacy: bool = False  # a units table from before versioned migrations
    oldest_writer: str | None = None

    @property
    def name(self) -> str:
        return LEGACY if self.legacy else (self.revision or "none")


def state(conn: sa.Connection) -> State:
    """The database's schema revision as this station sees it."""
    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is None:
        return State(None, legacy=sa.inspect(conn).has_table("units"))
    oldest = None
    if not knows(revision) and sa.inspect(conn).has_table("schema_compat"):
        oldest = conn.execute(sa.select(schema_compat.c.oldest_writer)).scalar()
    return State(revision, oldest_writer=oldest)


def verdict(db: State, where: str) -> str | None:
    """None when this station may write the database, else the one-line refusal."""
    ours = head()
    if db.revision == ours and not db.legacy:
        return None
    if db.legacy or (db.revision is not None and knows(db.revision)):
        return (f"results database {where} has schema {db.name}, older than this "
                f"station's {ours}: run `{UPGRADE}` once (it upgrades the database for "
                f"every station), then run again")
    if db.revision is not None and db.oldest_writer is not None and knows(db.oldest_writer):
        return None  # a newer schema that still takes this station's rows
    needs = f"stations at schema {db.oldest_writer} or newer" if db.oldest_writer \
        else "a newer station"
    return (f"results database {where} has schema {db.revision}, newer than this "
            f"station's {ours}, and needs {needs}: update this station's rig software")


@contextlib.contextmanager
def _schema_lock(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction that no other station's schema change runs beside: PostgreSQL
    serialises them on an advisory lock (DDL is transactional there); SQLite's
    BEGIN IMMEDIATE takes the file's write lock for the whole transaction."""
    with write_transaction(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        yield conn


def ensure_current(engine: sa.Engine, where: str) -> None:
    """Create the schema of an empty database; refuse a disagreeing one (see above).
    The first look takes no lock: a database at head, the usual case, costs one query.
    Any other answer is asked again under the lock — that look's two queries may have
    straddled another station's creation of the schema."""
    with errors(where):
        with engine.connect() as conn:
            db = state(conn)
        if db.revision == head() and not db.legacy:
            return
        with _schema_lock(engine) as conn:
            db = state(conn)
            if db.revision is None and not db.legacy:
                command.upgrade(alembic_config(conn), "head")
                return
    if (refusal := verdict(db, where)) is not None:
        raise SchemaMismatch(refusal)


def upgrade(engine: sa.Engine, where: str) -> tuple[str, str]:
    """``rig store upgrade``: the database to this station's head, from whatever
    revision it has (``none`` and ``pre-migration`` included). Returns (from, to)."""
    with errors(where), _schema_lock(engine) as conn:
        db = state(conn)
        if db.revision is not None and not knows(db.revision):
            raise SchemaMismatch(
                f"results database {where} has schema {db.revision}, newer than this "
                f"station's {head()}: this station cannot upgrade it (nor downgrade)")
        config = alembic_config(conn)
        if db.legacy:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
    return db.name, head()
