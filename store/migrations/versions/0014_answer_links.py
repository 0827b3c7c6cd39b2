"""Answer links: an invitation sent with a personal answer link keeps the SHA-256 of the
link's token (never the token: it is derived again from the Message-ID when a message is
resent) and until when the link works. Invitations sent before carried no link.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns and an index: both databases add them in place.
    op.add_column("invitation", sa.Column("answer_token_hash", sa.String(length=64), nullable=True))
    op.add_column(
        "invitation", sa.Column("answer_expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        op.f("ix_invitation_answer_token_hash"), "invitation", ["answer_token_hash"], unique=True
    )


def downgrade() -> None:
    # Not in a batch: that would copy the table on SQLite, whose foreign keys (on, and not to be
    # turned off inside the migration's transaction) refuse dropping the old copy while
    # invitation_retry points at it. SQLite (3.35 and later) drops a column in place.
    op.drop_index(op.f("ix_invitation_answer_token_hash"), table_name="invitation")
    op.drop_column("invitation", "answer_expires_at")
    op.drop_column("invitation", "answer_token_hash")
