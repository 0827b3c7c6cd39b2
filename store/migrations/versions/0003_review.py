"""Candidate review: users, study grants, sessions, decisions, the access log; on candidates,
the review state and its version (optimistic locking) and what coordinators filter by.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_log",
        sa.Column("access_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("what", sa.String(length=32), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("access_id", name=op.f("pk_access_log")),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_log_study_id_at"), ["study_id", "at"], unique=False
        )

    op.create_table(
        "review_user",
        sa.Column("user_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_review_user")),
        sa.UniqueConstraint("email", name=op.f("uq_review_user_email")),
    )
    op.create_table(
        "decision",
        sa.Column("decision_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("study_version", sa.String(length=16), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_decision_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.volunteer_id"],
            name=op.f("fk_decision_volunteer_id_volunteer"),
        ),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decision")),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_decision_study_id_volunteer_id"),
            ["study_id", "volunteer_id"],
            unique=False,
        )

    op.create_table(
        "study_grant",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_study_grant_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["review_user.user_id"], name=op.f("fk_study_grant_user_id_review_user")
        ),
        sa.PrimaryKeyConstraint("user_id", "study_id", name=op.f("pk_study_grant")),
    )
    op.create_table(
        "user_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["review_user.user_id"], name=op.f("fk_user_session_user_id_review_user")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_user_session")),
    )
    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_session_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("age", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sex", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("region", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "review_state", sa.String(length=12), server_default="undecided", nullable=False
            )
        )
        batch_op.add_column(
            sa.Column("review_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(
            batch_op.f("ix_candidate_study_id_status_review_state"),
            ["study_id", "status", "review_state"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_candidate_study_id_status_volunteer_id"),
            ["study_id", "status", "volunteer_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_candidate_study_id_age_volunteer_id_status"),
            ["study_id", "age", "volunteer_id", "status"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_study_id_age_volunteer_id_status"))
        batch_op.drop_index(batch_op.f("ix_candidate_study_id_status_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_candidate_study_id_status_review_state"))
        batch_op.drop_column("review_version")
        batch_op.drop_column("review_state")
        batch_op.drop_column("region")
        batch_op.drop_column("sex")
        batch_op.drop_column("age")

    with op.batch_alter_table("user_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_session_user_id"))

    op.drop_table("user_session")
    op.drop_table("study_grant")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_study_id_volunteer_id"))

    op.drop_table("decision")
    op.drop_table("review_user")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_study_id_at"))

    op.drop_table("access_log")
