"""Coordinators' review state in a table of its own, ``candidate_review``, one row per
candidate: deciding no longer rewrites the candidate rows that lists count and page through.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candidate_review",
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column(
            "review_state", sa.String(length=12), server_default="undecided", nullable=False
        ),
        sa.Column("review_version", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("study_id", "volunteer_id", name=op.f("pk_candidate_review")),
    )
    op.execute(
        "INSERT INTO candidate_review (study_id, volunteer_id, review_state, review_version) "
        "SELECT study_id, volunteer_id, review_state, review_version FROM candidate"
    )
    # SQLite rebuilds the candidate table to drop columns: nothing may refer to it meanwhile,
    # so candidate_review gets its foreign key afterwards.
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_study_id_status_review_state"))
        batch_op.drop_column("review_version")
        batch_op.drop_column("review_state")
    with op.batch_alter_table("candidate_review", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_candidate_review_study_id_candidate"),
            "candidate",
            ["study_id", "volunteer_id"],
            ["study_id", "volunteer_id"],
        )
        batch_op.create_index(
            batch_op.f("ix_candidate_review_study_id_review_state_volunteer_id"),
            ["study_id", "review_state", "volunteer_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("candidate", schema=None) as batch_op:
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
    op.execute(
        "UPDATE candidate SET "
        "review_state = COALESCE((SELECT r.review_state FROM candidate_review r WHERE "
        "r.study_id = candidate.study_id AND r.volunteer_id = candidate.volunteer_id), "
        "'undecided'), "
        "review_version = COALESCE((SELECT r.review_version FROM candidate_review r WHERE "
        "r.study_id = candidate.study_id AND r.volunteer_id = candidate.volunteer_id), 0)"
    )
    op.drop_table("candidate_review")
