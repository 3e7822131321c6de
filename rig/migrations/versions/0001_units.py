"""units: one row per unit record — the table of the code before versioned migrations
(the baseline: ``rig store upgrade`` stamps such a database 0001).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("run_id", sa.Text, primary_key=True),
        *(sa.Column(name, sa.Text) for name in (
            "kind", "serial", "station", "operator", "firmware", "profile", "variant",
            "rig_file", "start", "end_", "outcome")),
        sa.Column("n_measurements", sa.Integer),
        sa.Column("n_failed", sa.Integer),
        sa.Column("spec_time_s", sa.Float),
        sa.Column("record_path", sa.Text),
        sa.Column("record_json", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("units")
