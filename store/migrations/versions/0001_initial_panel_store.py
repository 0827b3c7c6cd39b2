"""The initial panel store: identities, contacts, versioned profiles, audit, quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archived_file",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("redacted_records", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_archived_file")),
    )
    op.create_table(
        "erasure",
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archive_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email_hash", name=op.f("pk_erasure")),
    )
    op.create_table(
        "ingest_run",
        sa.Column("ingest_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("file_name", sa.String(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("stored", sa.Integer(), nullable=True),
        sa.Column("quarantined", sa.Integer(), nullable=True),
        sa.Column("known", sa.Integer(), nullable=True),
        sa.Column("batch_valid", sa.Boolean(), nullable=True),
        sa.Column("validation_result_path", sa.String(), nullable=True),
        sa.Column("data_docs_path", sa.String(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("ingest_id", name=op.f("pk_ingest_run")),
    )
    with op.batch_alter_table("ingest_run", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_run_file_sha256"), ["file_sha256"], unique=False
        )

    op.create_table(
        "volunteer",
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current_submission_id", sa.String(length=36), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("volunteer_id", name=op.f("pk_volunteer")),
        sa.UniqueConstraint("email_hash", name=op.f("uq_volunteer_email_hash")),
        sa.UniqueConstraint(
            "current_submission_id", name=op.f("uq_volunteer_current_submission_id")
        ),
    )
    op.create_table(
        "contact",
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column("first_name", sa.String(), nullable=False),
        sa.Column("last_name", sa.String(), nullable=False),
        sa.Column("email", sa.String(), nullable=False),
        sa.Column("phone", sa.String(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.volunteer_id"],
            name=op.f("fk_contact_volunteer_id_volunteer"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("volunteer_id", name=op.f("pk_contact")),
    )
    op.create_table(
        "profile",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("postcode", sa.String(length=4), nullable=False),
        sa.Column("height_cm", sa.Integer(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("diagnoses", sa.Text(), nullable=True),
        sa.Column("medicines", sa.Text(), nullable=True),
        sa.Column("pregnant", sa.String(length=8), nullable=True),
        sa.Column("smoker", sa.Boolean(), nullable=True),
        sa.Column("rls_urge", sa.Boolean(), nullable=True),
        sa.Column("rls_at_rest", sa.Boolean(), nullable=True),
        sa.Column("rls_relieved_by_movement", sa.Boolean(), nullable=True),
        sa.Column("rls_evening", sa.Boolean(), nullable=True),
        sa.Column("rls_nights_per_week", sa.Integer(), nullable=True),
        sa.Column("sleep_quality", sa.Integer(), nullable=True),
        sa.Column("consent_contact", sa.Boolean(), nullable=False),
        sa.Column("contact_channel", sa.String(length=8), nullable=True),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingest_run.ingest_id"], name=op.f("fk_profile_ingest_id_ingest_run")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer.volunteer_id"],
            name=op.f("fk_profile_volunteer_id_volunteer"),
            initially="DEFERRED",
            deferrable=True,
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_profile")),
    )
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_profile_volunteer_id_submitted_at"),
            ["volunteer_id", "submitted_at"],
            unique=False,
        )

    # volunteer and profile point at each other: this foreign key waits for both tables.
    with op.batch_alter_table("volunteer") as batch_op:
        batch_op.create_foreign_key(
            op.f("fk_volunteer_current_submission_id_profile"),
            "profile",
            ["current_submission_id"],
            ["submission_id"],
            deferrable=True,
            initially="DEFERRED",
        )

    op.create_table(
        "quarantined_record",
        sa.Column("quarantine_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Text(), nullable=True),
        sa.Column("email_hash", sa.String(length=64), nullable=True),
        sa.Column("record_sha256", sa.String(length=64), nullable=False),
        sa.Column("cells", sa.JSON(), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ingest_id"],
            ["ingest_run.ingest_id"],
            name=op.f("fk_quarantined_record_ingest_id_ingest_run"),
        ),
        sa.PrimaryKeyConstraint("quarantine_id", name=op.f("pk_quarantined_record")),
        sa.UniqueConstraint("record_sha256", name=op.f("uq_quarantined_record_record_sha256")),
    )
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quarantined_record_email_hash"), ["email_hash"], unique=False
        )

    op.create_table(
        "withdrawal",
        sa.Column("withdrawal_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email_hash", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingest_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("volunteer_id", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["ingest_id"], ["ingest_run.ingest_id"], name=op.f("fk_withdrawal_ingest_id_ingest_run")
        ),
        sa.PrimaryKeyConstraint("withdrawal_id", name=op.f("pk_withdrawal")),
        sa.UniqueConstraint(
            "email_hash",
            "action",
            "requested_at",
            name=op.f("uq_withdrawal_email_hash_action_requested_at"),
        ),
    )
    with op.batch_alter_table("withdrawal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_withdrawal_email_hash"), ["email_hash"], unique=False)

    op.create_table(
        "submission_note",
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["profile.submission_id"],
            name=op.f("fk_submission_note_submission_id_profile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_submission_note")),
    )


def downgrade() -> None:
    op.drop_table("submission_note")
    with op.batch_alter_table("withdrawal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_withdrawal_email_hash"))

    op.drop_table("withdrawal")
    with op.batch_alter_table("quarantined_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_record_email_hash"))

    op.drop_table("quarantined_record")
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_volunteer_id_submitted_at"))

    with op.batch_alter_table("volunteer") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_volunteer_current_submission_id_profile"), type_="foreignkey"
        )
    op.drop_table("profile")
    op.drop_table("contact")
    op.drop_table("volunteer")
    with op.batch_alter_table("ingest_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_run_file_sha256"))

    op.drop_table("ingest_run")
    op.drop_table("erasure")
    op.drop_table("archived_file")
