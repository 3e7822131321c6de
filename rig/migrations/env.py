"""Alembic's environment: run by alembic (``command.upgrade`` …), never imported.
The connection is the caller's (rig/store_schema.py passes it in the config's
attributes, inside its own locked transaction), so migrations run in that
transaction: a failed one leaves the database as it was."""

from __future__ import annotations

from alembic import context

from evrig.rig.store_sql import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("rig/migrations run through evrig.rig.store_schema, which passes "
                       "the connection (there is no alembic.ini)")
# render_as_batch: SQLite alters a table by copying it; alembic's batch mode does that
# for the operations SQLite has no ALTER for.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
