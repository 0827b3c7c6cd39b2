"""The contract of candidate review: who may do what, and what a decision can say.

Coordinators decide who is invited; researchers see funnels and counts only; admins may do
everything, on every study. A decision is kept for good, with who made it, when, and the
study and profile versions it was made on.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    RESEARCHER = "researcher"
    ADMIN = "admin"

    @property
    def sees_candidates(self) -> bool:
        return self is not Role.RESEARCHER


class ReviewState(StrEnum):
    """Where a candidate stands with the coordinators (the match says whether they fit)."""

    UNDECIDED = "undecided"
    APPROVED = "approved"
    REJECTED = "rejected"
    DEFERRED = "deferred"


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    DEFER = "defer"
    #: A note changes nothing but the history.
    NOTE = "note"

    @property
    def state(self) -> ReviewState | None:
        return {
            Action.APPROVE: ReviewState.APPROVED,
            Action.REJECT: ReviewState.REJECTED,
            Action.DEFER: ReviewState.DEFERRED,
        }.get(self)


#: Why a candidate is rejected: one of these, plus free text when needed.
REJECT_REASONS: dict[str, str] = {
    "criterion-not-met": "A criterion is not met on screening",
    "contraindication": "Contraindication found",
    "other-study": "Taking part in another study",
    "not-reachable": "Could not be reached for screening",
    "declined": "Declined when asked",
    "other": "Other (see the note)",
}

#: Passwords shorter than this are refused.
MIN_PASSWORD_LENGTH = 12
#: Failed logins in a row that lock an account, and for how long.
LOCKOUT_AFTER = 5
LOCKOUT_MINUTES = 15
#: A session ends after this long without a request.
SESSION_IDLE_MINUTES = 60
