"""Studies, their versions, match runs and candidate lists.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study",
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recruitment_target", sa.Integer(), nullable=False),
        sa.Column("current_version", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("study_id", name=op.f("pk_study")),
    )
    op.create_table(
        "match_run",
        sa.Column("match_run_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("study_version", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("evaluated", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Integer(), nullable=False),
        sa.Column("needs_screening", sa.Integer(), nullable=False),
        sa.Column("funnel", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_match_run_study_id_study")
        ),
        sa.PrimaryKeyConstraint("match_run_id", name=op.f("pk_match_run")),
    )
    with op.batch_alter_table("match_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_match_run_study_id"), ["study_id"], unique=False)

    op.create_table(
        "study_version",
        sa.Column("study_version_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_study_version_study_id_study")
        ),
        sa.PrimaryKeyConstraint("study_version_id", name=op.f("pk_study_version")),
        sa.UniqueConstraint("study_id", "version", name=op.f("uq_study_version_study_id_version")),
    )
    op.create_table(
        "candidate",
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("match_run_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("study_version", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("unknown_criteria", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("first_matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_run_id"],
            ["match_run.match_run_id"],
            name=op.f("fk_candidate_match_run_id_match_run"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.study_id"], name=op.f("fk_candidate_study_id_study")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.volunteer_id"],
            name=op.f("fk_candidate_volunteer_id_volunteer"),
        ),
        sa.PrimaryKeyConstraint("study_id", "volunteer_id", name=op.f("pk_candidate")),
    )
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_status"))

    op.drop_table("candidate")
    op.drop_table("study_version")
    with op.batch_alter_table("match_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_match_run_study_id"))

    op.drop_table("match_run")
    op.drop_table("study")
