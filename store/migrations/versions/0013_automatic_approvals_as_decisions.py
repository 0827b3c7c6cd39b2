"""Automatic approvals are decisions like any other: every invitation a study approved by its
own rule (``auto_approve_eligible``) before this gets the approving decision it now would,
dated when it was queued, and its candidate, still undecided, reads approved.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: As ``schemas.review.AUTOMATIC_APPROVER`` and ``store.decisions.AUTOMATIC_RULE`` say them
#: today (a migration keeps the words it was written with).
AUTOMATIC = "automatic approval (study setting)"
RULE = "auto_approve_eligible: eligible candidates are invited without review"
WORDS = {"automatic": AUTOMATIC, "rule": RULE}


def upgrade() -> None:
    op.execute(
        sa.text(
            "INSERT INTO decision (study_id, volunteer_id, action, reason, note, decided_by, "
            "decided_at, study_version, submission_id) "
            "SELECT study_id, volunteer_id, 'approve', NULL, :rule, approved_by, queued_at, "
            "study_version, submission_id FROM invitation "
            "WHERE decision_id IS NULL AND approved_by = :automatic"
        ).bindparams(**WORDS)
    )
    op.execute(
        sa.text(
            "UPDATE invitation SET decision_id = (SELECT max(d.decision_id) FROM decision d "
            "WHERE d.study_id = invitation.study_id AND d.volunteer_id = invitation.volunteer_id "
            "AND d.decided_by = :automatic AND d.note = :rule) "
            "WHERE decision_id IS NULL AND approved_by = :automatic"
        ).bindparams(**WORDS)
    )
    op.execute(
        sa.text(
            "UPDATE candidate SET review_state = 'approved', "
            "review_version = review_version + 1 WHERE review_state = 'undecided' AND EXISTS "
            "(SELECT 1 FROM invitation i WHERE i.study_id = candidate.study_id "
            "AND i.volunteer_id = candidate.volunteer_id AND i.approved_by = :automatic)"
        ).bindparams(automatic=AUTOMATIC)
    )


def downgrade() -> None:
    """Back to automatic approvals that are no decision: the candidate reads undecided again
    unless a coordinator decided since."""
    op.execute(
        sa.text(
            "UPDATE candidate SET review_state = 'undecided', "
            "review_version = review_version + 1 WHERE review_state = 'approved' AND NOT EXISTS "
            "(SELECT 1 FROM decision d WHERE d.study_id = candidate.study_id "
            "AND d.volunteer_id = candidate.volunteer_id AND d.decided_by <> :automatic) "
            "AND EXISTS (SELECT 1 FROM decision d WHERE d.study_id = candidate.study_id "
            "AND d.volunteer_id = candidate.volunteer_id AND d.decided_by = :automatic)"
        ).bindparams(automatic=AUTOMATIC)
    )
    op.execute(
        sa.text(
            "UPDATE invitation SET decision_id = NULL WHERE approved_by = :automatic"
        ).bindparams(automatic=AUTOMATIC)
    )
    op.execute(
        sa.text("DELETE FROM decision WHERE decided_by = :automatic AND note = :rule").bindparams(
            **WORDS
        )
    )
