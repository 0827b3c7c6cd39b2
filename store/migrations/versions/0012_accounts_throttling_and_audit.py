"""Accounts as a security reviewer expects: login attempts kept (and throttled from them, per
client address instead of a lockout per account), users disabled, failures forgiven, and
every change to an account recorded.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_attempt",
        sa.Column("attempt_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("attempt_id", name=op.f("pk_login_attempt")),
    )
    op.create_index(
        op.f("ix_login_attempt_client_outcome_at"), "login_attempt", ["client", "outcome", "at"]
    )
    op.create_index(
        op.f("ix_login_attempt_email_outcome_at"), "login_attempt", ["email", "outcome", "at"]
    )
    op.create_index(op.f("ix_login_attempt_outcome_at"), "login_attempt", ["outcome", "at"])
    op.create_table(
        "account_change",
        sa.Column("change_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["review_user.user_id"],
            name=op.f("fk_account_change_user_id_review_user"),
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_account_change")),
    )
    op.create_index(op.f("ix_account_change_user_id"), "account_change", ["user_id"])
    op.add_column("review_user", sa.Column("disabled_at", sa.DateTime(timezone=True)))
    op.add_column("review_user", sa.Column("disabled_by", sa.String()))
    op.add_column("review_user", sa.Column("failures_forgiven_at", sa.DateTime(timezone=True)))
    # Plain ALTER TABLE on SQLite too (3.35 and newer), as in 0011: a batch operation would
    # copy the table, and dropping the old one fails on the tables that refer to it.
    op.execute("ALTER TABLE review_user DROP COLUMN failed_logins")
    op.execute("ALTER TABLE review_user DROP COLUMN locked_until")


def downgrade() -> None:
    op.add_column(
        "review_user",
        sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("review_user", sa.Column("locked_until", sa.DateTime(timezone=True)))
    op.execute("ALTER TABLE review_user DROP COLUMN failures_forgiven_at")
    op.execute("ALTER TABLE review_user DROP COLUMN disabled_by")
    op.execute("ALTER TABLE review_user DROP COLUMN disabled_at")
    op.drop_index(op.f("ix_account_change_user_id"), table_name="account_change")
    op.drop_table("account_change")
    op.drop_index(op.f("ix_login_attempt_outcome_at"), table_name="login_attempt")
    op.drop_index(op.f("ix_login_attempt_email_outcome_at"), table_name="login_attempt")
    op.drop_index(op.f("ix_login_attempt_client_outcome_at"), table_name="login_attempt")
    op.drop_table("login_attempt")
