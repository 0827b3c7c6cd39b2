"""Outreach you can operate, and erase: invitations count their claims (a retried invitation
keeps counting, so a sender that lost its claim never records an outcome on a later one) and
record where a local folder wrote their copy; failed invitations queued again are logged
with who asked; an erasure may clear the submission of invitations and decisions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


#: The invitation's columns before this revision (and after it, but for the new ones).
_KEPT = (
    "invitation_id, study_id, volunteer_id, message_id, channel, status, study_version, "
    "submission_id, as_of, decision_id, approved_by, queued_at, queued_by, attempts, "
    "next_attempt_at, claimed_at, sent_at, last_error, cancel_reason"
)


@contextmanager
def _invitations_set_aside() -> Iterator[None]:
    """On SQLite, changing whether a column may be NULL copies its table, and the decision
    table cannot be dropped while invitations point at it (foreign keys are on and cannot be
    turned off inside the migration's transaction): the invitations wait aside meanwhile."""
    if op.get_bind().dialect.name != "sqlite":
        yield
        return
    op.execute(f"CREATE TEMPORARY TABLE invitation_aside AS SELECT {_KEPT} FROM invitation")
    op.execute("DELETE FROM invitation")
    yield
    op.execute(f"INSERT INTO invitation ({_KEPT}) SELECT {_KEPT} FROM invitation_aside")
    op.execute("DROP TABLE invitation_aside")


def upgrade() -> None:
    with _invitations_set_aside():
        with op.batch_alter_table("decision", schema=None) as batch_op:
            batch_op.alter_column(
                "submission_id", existing_type=sa.String(length=36), nullable=True
            )
        with op.batch_alter_table("invitation", schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("claims", sa.Integer(), server_default="0", nullable=False)
            )
            batch_op.add_column(sa.Column("copy_path", sa.Text(), nullable=True))
            batch_op.alter_column(
                "submission_id", existing_type=sa.String(length=36), nullable=True
            )
    # Every claim so far was an attempt: claims go on from there.
    op.execute("UPDATE invitation SET claims = attempts")
    op.create_table(
        "invitation_retry",
        sa.Column("retry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.invitation_id"],
            name=op.f("fk_invitation_retry_invitation_id_invitation"),
        ),
        sa.PrimaryKeyConstraint("retry_id", name=op.f("pk_invitation_retry")),
    )
    with op.batch_alter_table("invitation_retry", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invitation_retry_invitation_id"), ["invitation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invitation_retry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_retry_invitation_id"))
    op.drop_table("invitation_retry")
    # Erased volunteers' rows have no submission any more: an empty one stands in for it.
    op.execute("UPDATE decision SET submission_id = '' WHERE submission_id IS NULL")
    op.execute("UPDATE invitation SET submission_id = '' WHERE submission_id IS NULL")
    with _invitations_set_aside():
        with op.batch_alter_table("decision", schema=None) as batch_op:
            batch_op.alter_column(
                "submission_id", existing_type=sa.String(length=36), nullable=False
            )
        with op.batch_alter_table("invitation", schema=None) as batch_op:
            batch_op.alter_column(
                "submission_id", existing_type=sa.String(length=36), nullable=False
            )
            batch_op.drop_column("copy_path")
            batch_op.drop_column("claims")
