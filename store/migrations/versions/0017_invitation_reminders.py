"""Reminders: the one reminder of an invitation left unanswered, with its own Message-ID and
delivery (as an invitation's), carrying the invitation's answer link.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitation_reminder",
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_by", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claims", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("copy_path", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.invitation_id"],
            name=op.f("fk_invitation_reminder_invitation_id_invitation"),
        ),
        sa.PrimaryKeyConstraint("invitation_id", name=op.f("pk_invitation_reminder")),
        sa.UniqueConstraint("message_id", name=op.f("uq_invitation_reminder_message_id")),
    )
    op.create_index(
        op.f("ix_invitation_reminder_status_next_attempt_at"),
        "invitation_reminder",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_invitation_reminder_status_next_attempt_at"), table_name="invitation_reminder"
    )
    op.drop_table("invitation_reminder")
