"""Referrals: a yes on the answer page as the study team gets it (``referral``), the answers
to the screening questions asked after it (``screening_answer``), what the study team records
of what happened next (``referral_outcome``), and when a volunteer first opened the answer
page (``invitation.answer_opened_at``).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "invitation", sa.Column("answer_opened_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "screening_answer",
        sa.Column("screening_answer_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("criterion_id", sa.String(length=64), nullable=False),
        sa.Column("option", sa.Text(), nullable=False),
        sa.Column("means", sa.String(length=8), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.invitation_id"],
            name=op.f("fk_screening_answer_invitation_id_invitation"),
        ),
        sa.PrimaryKeyConstraint("screening_answer_id", name=op.f("pk_screening_answer")),
    )
    op.create_index(
        op.f("ix_screening_answer_invitation_id"), "screening_answer", ["invitation_id"]
    )
    op.create_table(
        "referral",
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column("screening", sa.String(length=12), nullable=False),
        sa.Column("referred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("taken_by", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.invitation_id"],
            name=op.f("fk_referral_invitation_id_invitation"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_referral_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.volunteer_id"],
            name=op.f("fk_referral_volunteer_id_volunteer"),
        ),
        sa.PrimaryKeyConstraint("invitation_id", name=op.f("pk_referral")),
    )
    op.create_index(op.f("ix_referral_study_id"), "referral", ["study_id"])
    op.create_index(op.f("ix_referral_volunteer_id"), "referral", ["volunteer_id"])
    op.create_table(
        "referral_outcome",
        sa.Column("outcome_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["referral.invitation_id"],
            name=op.f("fk_referral_outcome_invitation_id_referral"),
        ),
        sa.PrimaryKeyConstraint("outcome_id", name=op.f("pk_referral_outcome")),
    )
    op.create_index(
        op.f("ix_referral_outcome_invitation_id"), "referral_outcome", ["invitation_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_referral_outcome_invitation_id"), table_name="referral_outcome")
    op.drop_table("referral_outcome")
    op.drop_index(op.f("ix_referral_volunteer_id"), table_name="referral")
    op.drop_index(op.f("ix_referral_study_id"), table_name="referral")
    op.drop_table("referral")
    op.drop_index(op.f("ix_screening_answer_invitation_id"), table_name="screening_answer")
    op.drop_table("screening_answer")
    # In place, not in a batch: see 0014.
    op.drop_column("invitation", "answer_opened_at")
