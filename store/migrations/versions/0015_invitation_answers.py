"""Invitation answers: what a volunteer answered on the answer page (yes, no or stop), one row
each time they answer, the latest being their answer.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invitation_answer",
        sa.Column("answer_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(length=8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.invitation_id"],
            name=op.f("fk_invitation_answer_invitation_id_invitation"),
        ),
        sa.PrimaryKeyConstraint("answer_id", name=op.f("pk_invitation_answer")),
    )
    op.create_index(
        op.f("ix_invitation_answer_invitation_id"), "invitation_answer", ["invitation_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_invitation_answer_invitation_id"), table_name="invitation_answer")
    op.drop_table("invitation_answer")
