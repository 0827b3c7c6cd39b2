"""The invitation outbox: what outreach reads to decide, and writes to invite and deliver.

Queueing runs under one lock for the whole store (PostgreSQL: an advisory lock; SQLite: its
single writer), so two contact runs at once never invite past a study's budget or the
contact policy, and the unique (study, volunteer) row means nobody is queued twice. Delivery
claims one invitation at a time with a compare-and-set on its status, so two senders never
send the same one; a claim older than the lease is taken over (its sender died).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    Connection,
    and_,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    union_all,
    update,
)

from schemas.review import AUTOMATIC_APPROVER, Action, ReviewState
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.database import begin_as_writer
from store.studies import list_changed
from store.tables import (
    CURRENT_PROFILE,
    Candidate,
    Contact,
    Decision,
    Invitation,
    InvitationReminder,
    InvitationRetry,
    Profile,
    UTCDateTime,
    Volunteer,
)

QUEUED, SENDING, SENT, FAILED, CANCELLED = "queued", "sending", "sent", "failed", "cancelled"
#: Invitations that count as contact: against the policy, the budget, and "never twice".
COUNTED = (QUEUED, SENDING, SENT)
#: Who approved an invitation of a study that approves its eligible candidates itself.
AUTO_APPROVED = AUTOMATIC_APPROVER

_QUEUE_LOCK = 0x70616E656C  # "panel": one advisory lock for every queueing transaction


def lock_for_queueing(connection: Connection) -> None:
    """Hold the store's queueing lock until this transaction ends (call it first)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _QUEUE_LOCK})
    else:
        begin_as_writer(connection)


@dataclass(frozen=True)
class CandidateFacts:
    """A candidate as outreach sees them now (no health answers, no contact details)."""

    volunteer_id: str
    status: str
    review_state: str
    #: The current profile (None once erased), what it says about contact, and the facts.
    submission_id: str | None
    consent: bool
    channel: str
    has_phone: bool
    erased: bool
    withdrawn: bool
    #: Why outreach held them back last time (None: not held back).
    hold_reason: str | None


def candidate_facts(connection: Connection, study_id: str) -> list[CandidateFacts]:
    rows = connection.execute(
        select(
            Candidate.volunteer_id,
            Candidate.status,
            Candidate.review_state,
            Volunteer.current_submission_id,
            Profile.consent_contact,
            Profile.contact_channel,
            Contact.phone.is_not(None),
            Volunteer.erased_at.is_not(None),
            and_(
                Volunteer.withdrawn_at.is_not(None),
                or_(Profile.submitted_at.is_(None), Volunteer.withdrawn_at >= Profile.submitted_at),
            ),
            Candidate.hold_reason,
        )
        .join(Volunteer, Volunteer.volunteer_id == Candidate.volunteer_id)
        .outerjoin(Profile, CURRENT_PROFILE)
        .outerjoin(Contact, Contact.volunteer_id == Candidate.volunteer_id)
        .where(Candidate.study_id == study_id)
        .order_by(Candidate.volunteer_id)
    )
    return [
        CandidateFacts(
            volunteer_id=row[0],
            status=row[1],
            review_state=row[2],
            submission_id=row[3],
            consent=bool(row[4]),
            channel=row[5] or "email",
            has_phone=bool(row[6]),
            erased=bool(row[7]),
            withdrawn=bool(row[8]),
            hold_reason=row[9],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class Approval:
    decision_id: int
    decided_by: str
    study_version: str
    #: None once the volunteer is erased.
    submission_id: str | None


def approvals(connection: Connection, study_id: str) -> dict[str, Approval]:
    """Each approved candidate's approving decision (their latest approval)."""
    latest = (
        select(func.max(Decision.decision_id))
        .join(
            Candidate,
            and_(
                Candidate.study_id == Decision.study_id,
                Candidate.volunteer_id == Decision.volunteer_id,
            ),
        )
        .where(
            Decision.study_id == study_id,
            Decision.action == Action.APPROVE.value,
            Candidate.review_state == ReviewState.APPROVED.value,
        )
        .group_by(Decision.volunteer_id)
    )
    rows = connection.execute(
        select(
            Decision.volunteer_id,
            Decision.decision_id,
            Decision.decided_by,
            Decision.study_version,
            Decision.submission_id,
        ).where(Decision.decision_id.in_(latest))
    )
    return {row[0]: Approval(*row[1:]) for row in rows}


def study_invitations(connection: Connection, study_id: str) -> dict[str, str]:
    """Every volunteer with an invitation row for the study: its status."""
    rows = connection.execute(
        select(Invitation.volunteer_id, Invitation.status).where(Invitation.study_id == study_id)
    )
    return {volunteer_id: status for volunteer_id, status in rows}


def contact_history(connection: Connection) -> dict[str, list[datetime]]:
    """When each volunteer was contacted (sent, or queued to be), in any study, earliest
    first: invitations, and the reminders of invitations left unanswered (``store.reminders``),
    which count in the contact policy as invitations do."""
    history: dict[str, list[datetime]] = {}
    moment = func.coalesce(Invitation.sent_at, Invitation.queued_at)
    reminded = func.coalesce(InvitationReminder.sent_at, InvitationReminder.queued_at)
    invited = select(Invitation.volunteer_id, moment.label("at")).where(
        Invitation.status.in_(COUNTED)
    )
    reminders = (
        select(Invitation.volunteer_id, reminded.label("at"))
        .join(Invitation, Invitation.invitation_id == InvitationReminder.invitation_id)
        .where(InvitationReminder.status.in_(COUNTED))
    )
    contacts = union_all(invited, reminders).subquery()
    rows = connection.execute(
        select(contacts.c.volunteer_id, type_coerce(contacts.c.at, UTCDateTime()))
    )
    for volunteer_id, at in rows:
        history.setdefault(volunteer_id, []).append(at)
    for moments in history.values():
        moments.sort()
    return history


def invitations_counted(connection: Connection, study_id: str) -> int:
    return int(
        connection.scalar(
            select(func.count()).where(
                Invitation.study_id == study_id, Invitation.status.in_(COUNTED)
            )
        )
        or 0
    )


def failed_invitations(connection: Connection, study_id: str) -> dict[str, int]:
    """The study's failed invitations: invitation id by volunteer."""
    rows = connection.execute(
        select(Invitation.volunteer_id, Invitation.invitation_id).where(
            Invitation.study_id == study_id, Invitation.status == FAILED
        )
    )
    return {volunteer_id: invitation_id for volunteer_id, invitation_id in rows}


def record_retries(
    connection: Connection, outcomes: dict[int, str], actor: str, now: datetime
) -> None:
    """Who asked for these failed invitations to be tried again, and what came of each
    (by invitation id: "queued", or the rule that held it back)."""
    if outcomes:
        connection.execute(
            insert(InvitationRetry),
            [
                {"invitation_id": i, "requested_by": actor, "requested_at": now, "outcome": said}
                for i, said in outcomes.items()
            ],
        )


def new_message_id(message_domain: str) -> str:
    """A random Message-ID, fixed when a message is queued and kept for its resends."""
    return f"<{secrets.token_hex(16)}@{message_domain}>"


@dataclass(frozen=True)
class NewInvitation:
    study_id: str
    volunteer_id: str
    channel: str
    study_version: str
    submission_id: str
    decision_id: int | None
    approved_by: str
    #: The status of the study and volunteer's invitation that is queued again (cancelled,
    #: or failed and retried); None for a new one.
    requeued_from: str | None = None


def queue(
    connection: Connection,
    invitations: Iterable[NewInvitation],
    as_of: date,
    actor: str,
    now: datetime,
    message_domain: str,
) -> int:
    """Write the invitations to the outbox in one statement; one whose study and volunteer
    have a cancelled (or retried failed) invitation queues that again, keeping its Message-ID
    and counting its claims on. The caller holds the queueing lock."""
    fresh, again = [], []
    for new in invitations:
        values = {
            "study_id": new.study_id,
            "volunteer_id": new.volunteer_id,
            "channel": new.channel,
            "status": QUEUED,
            "study_version": new.study_version,
            "submission_id": new.submission_id,
            "as_of": as_of,
            "decision_id": new.decision_id,
            "approved_by": new.approved_by,
            "queued_at": now,
            "queued_by": actor,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_at": None,
            "last_error": None,
            "cancel_reason": None,
        }
        if new.requeued_from is not None:
            again.append((new.requeued_from, values))
        else:
            fresh.append(values | {"message_id": new_message_id(message_domain)})
    if fresh:
        connection.execute(insert(Invitation), fresh)
    for status, values in again:  # rare: cancelled ones that fit again, and retries
        requeued = connection.execute(
            update(Invitation)
            .where(
                Invitation.study_id == values["study_id"],
                Invitation.volunteer_id == values["volunteer_id"],
                Invitation.status == status,
            )
            .values(values)
        )
        if requeued.rowcount != 1:  # the queueing lock makes this impossible
            raise RuntimeError(f"invitation of {values['volunteer_id']} is no longer {status}")
    return len(fresh) + len(again)


def hold_candidates(
    connection: Connection,
    study_id: str,
    reasons: dict[str, str],
    no_longer_fit: set[str],
    now: datetime,
) -> None:
    """Say on approved candidates' rows why they were not invited; those whose profile no
    longer fits are marked no_longer_eligible (the next match may list them again)."""
    for volunteer_id, reason in reasons.items():
        values: dict[str, object] = {"hold_reason": reason, "updated_at": now}
        if volunteer_id in no_longer_fit:
            values["status"] = NO_LONGER_ELIGIBLE
        connection.execute(
            update(Candidate)
            .where(Candidate.study_id == study_id, Candidate.volunteer_id == volunteer_id)
            .values(values)
        )
    if no_longer_fit & reasons.keys():
        list_changed(connection, [study_id])


def clear_holds(connection: Connection, study_id: str, volunteer_ids: Iterable[str]) -> None:
    for volunteer_id in volunteer_ids:
        connection.execute(
            update(Candidate)
            .where(
                Candidate.study_id == study_id,
                Candidate.volunteer_id == volunteer_id,
                Candidate.hold_reason.is_not(None),
            )
            .values(hold_reason=None)
        )


@dataclass(frozen=True)
class Outreach:
    """What outreach did about one candidate, for coordinators (no contact details)."""

    hold_reason: str | None
    status: str | None
    queued_at: datetime | None
    sent_at: datetime | None
    #: Why it was cancelled, or the last delivery error.
    detail: str | None


def outreach_of(connection: Connection, study_id: str, volunteer_id: str) -> Outreach:
    hold = connection.scalar(
        select(Candidate.hold_reason).where(
            Candidate.study_id == study_id, Candidate.volunteer_id == volunteer_id
        )
    )
    row = connection.execute(
        select(
            Invitation.status,
            Invitation.queued_at,
            Invitation.sent_at,
            func.coalesce(Invitation.cancel_reason, Invitation.last_error),
        ).where(Invitation.study_id == study_id, Invitation.volunteer_id == volunteer_id)
    ).first()
    return Outreach(hold, *(row or (None, None, None, None)))
