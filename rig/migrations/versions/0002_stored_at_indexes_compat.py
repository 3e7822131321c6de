"""units.stored_at (when a row reached the database: a spooled record arrives after
its run), indexes on serial and start (a line's database is searched by unit and
listed by time), and schema_compat: which stations may still write (rig/store_schema.py).

Additive: stations at 0001 could still write, so oldest_writer is 0001.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a nullable column without a default: SQLite's ALTER TABLE ADD COLUMN takes it as
    # is (no copy of the table), and rows stored before 0002 keep NULL
    op.add_column("units", sa.Column("stored_at", sa.Text))
    op.create_index("ix_units_serial", "units", ["serial"])
    op.create_index("ix_units_start", "units", ["start"])
    compat = op.create_table("schema_compat",
                             sa.Column("oldest_writer", sa.Text, nullable=False))
    op.bulk_insert(compat, [{"oldest_writer": "0001"}])


def downgrade() -> None:
    op.drop_table("schema_compat")
    op.drop_index("ix_units_start", "units")
    op.drop_index("ix_units_serial", "units")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("stored_at")
