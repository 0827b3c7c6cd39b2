"""The contract of candidate review: who may do what, and what a decision can say.

Coordinators decide who is invited; researchers see funnels and counts only; a study team
sees only its study's referrals, the volunteers who said yes, by name (and nothing else of the
panel); admins may do everything, on every study. A decision is kept for good, with who made
it, when, and the study and profile versions it was made on.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.study_fields import Region


class Role(StrEnum):
    COORDINATOR = "coordinator"
    RESEARCHER = "researcher"
    ADMIN = "admin"
    #: Per study: the volunteers who said yes, by name (``schemas.referral``), and nothing else.
    STUDY_TEAM = "study_team"

    @property
    def sees_candidates(self) -> bool:
        """Pseudonymous candidate lists, candidates and their criteria."""
        return self in (Role.COORDINATOR, Role.ADMIN)

    @property
    def sees_overviews(self) -> bool:
        """The studies' overviews: counts and funnels."""
        return self is not Role.STUDY_TEAM

    @property
    def sees_names(self) -> bool:
        """The referrals of a study: who said yes, with name and contact details."""
        return self in (Role.STUDY_TEAM, Role.ADMIN)


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


#: Who made an automatic approval (``contact.auto_approve_eligible`` in the study file).
AUTOMATIC_APPROVER = "automatic approval (study setting)"

#: Why a candidate is rejected: one of these, plus free text when needed.
REJECT_REASONS: dict[str, str] = {
    "criterion-not-met": "A criterion is not met on screening",
    "contraindication": "Contraindication found",
    "other-study": "Taking part in another study",
    "not-reachable": "Could not be reached for screening",
    "declined": "Declined when asked",
    "other": "Other (see the note)",
}

#: The longest note a decision may carry (the browser's ``maxlength`` says the same).
NOTE_MAX_LENGTH = 2000

#: Passwords shorter than this are refused.
MIN_PASSWORD_LENGTH = 12
#: Longer e-mails and passwords are refused unread (the generic answer): a megabyte of
#: password must not buy a megabyte of hashing.
MAX_EMAIL_LENGTH = 254
MAX_PASSWORD_LENGTH = 1024
#: Failed logins are counted over this sliding window (``store.review_users``): this many
#: for one account from one client address, from one client address for any account, and
#: from every address together. Past the last, only addresses that logged someone in within
#: TRUSTED_ADDRESS_DAYS may still log in: an outsider cannot lock coordinators out.
LOGIN_WINDOW_MINUTES = 15
FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
FAILURES_PER_ADDRESS = 20
FAILURES_EVERYWHERE = 200
TRUSTED_ADDRESS_DAYS = 30
#: Login attempts are kept this long (older ones are pruned at each successful login).
LOGIN_ATTEMPTS_KEPT_DAYS = 90
#: A session ends after this long without a request, and this long after its login whatever
#: the activity.
SESSION_IDLE_MINUTES = 60
SESSION_MAX_HOURS = 12


class InvitationFilter(StrEnum):
    """Where a candidate's invitation stands, as the list filters it."""

    NONE = "none"
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: Approved, but held back at the last contact run (the candidate page says why).
    HELD = "held"


#: A volunteer's pseudonymous id (``store.pseudonyms``).
VOLUNTEER_ID = r"^[0-9A-Z]{1,16}$"


class CandidateQuery(BaseModel):
    """A filtered, sorted page of a candidate list, as the review app's address states it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Literal["eligible", "needs_screening"] | None = None
    state: ReviewState | None = None
    region: Region | None = None
    sex: Literal["female", "male", "other"] | None = None
    age_min: int | None = Field(None, ge=0, le=130)
    age_max: int | None = Field(None, ge=0, le=130)
    #: Where the candidate's invitation stands (``InvitationFilter``).
    invitation: InvitationFilter | None = None
    #: Needs screening on this criterion (its id).
    screen: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")] | None = None
    sort: Literal["volunteer_id", "age", "region", "status", "state"] = "status"
    descending: bool = False
    #: The page's number, as shown; without a neighbour below, also where the page is.
    page: int = Field(1, ge=1)
    #: The page right after (Next) or before (Previous) this candidate, in this order.
    after: Annotated[str, Field(pattern=VOLUNTEER_ID)] | None = None
    before: Annotated[str, Field(pattern=VOLUNTEER_ID)] | None = None
    #: The app's signature of this page number next to that candidate (``review``'s pager).
    check: Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_means_unset(cls, values: Any) -> Any:
        """A form's empty select ("any region") sends ``region=``: no filter."""
        if isinstance(values, dict):
            return {k: v for k, v in values.items() if v != ""}
        return values


#: Candidates on one page of the list.
PAGE_SIZE = 50
