"""Candidates and decisions indexed by volunteer: an erasure deletes a volunteer's candidate
rows and clears their decisions' notes, and without these it scanned both tables (1.2 s per
erased volunteer on a million-volunteer panel's 4.3 million candidates).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("candidate", "decision")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f(f"ix_{table}_volunteer_id"), ["volunteer_id"], unique=False
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_volunteer_id"))
