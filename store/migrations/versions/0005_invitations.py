"""Outreach: the invitation outbox, and on candidates why an approved one was held back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitation",
        sa.Column("invitation_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.String(), nullable=False),
        sa.Column("volunteer_id", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("study_version", sa.String(length=16), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=True),
        sa.Column("approved_by", sa.String(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queued_by", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decision.decision_id"],
            name=op.f("fk_invitation_decision_id_decision"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_invitation_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.volunteer_id"],
            name=op.f("fk_invitation_volunteer_id_volunteer"),
        ),
        sa.PrimaryKeyConstraint("invitation_id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("message_id", name=op.f("uq_invitation_message_id")),
        sa.UniqueConstraint(
            "study_id", "volunteer_id", name=op.f("uq_invitation_study_id_volunteer_id")
        ),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitation_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_invitation_volunteer_id"), ["volunteer_id"], unique=False
        )
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_column("hold_reason")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_invitation_status_next_attempt_at"))
    op.drop_table("invitation")
