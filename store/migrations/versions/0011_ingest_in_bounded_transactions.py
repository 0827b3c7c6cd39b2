"""An ingest stores a file in bounded transactions, a part at a time: the audit record keeps
how many parts are stored, so that the next run can finish a file whose process died.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_run", sa.Column("stored_parts", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE on SQLite too (3.35 and newer): a batch operation would copy the
    # table, and dropping the old one fails on the tables that refer to it.
    op.execute("ALTER TABLE ingest_run DROP COLUMN stored_parts")
