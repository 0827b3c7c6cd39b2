"""Delivering the outbox: claim an invitation, check it still holds, then record the outcome.

Each step is its own short transaction, so the only window in which a message can go out
twice is between the mail server accepting it and the single commit that marks it sent: a
sender that dies there leaves the invitation ``sending``, and once its lease has expired the
next run sends it again with the same Message-ID (which receiving systems may use to drop
the duplicate). Nothing else is ever sent twice, and nothing queued is ever lost.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, select

from schemas.review import ReviewState
from schemas.study import StudyStatus
from store import delivery_claims
from store.answer_links import SentLink
from store.database import begin_as_writer
from store.invitations import CANCELLED, FAILED, QUEUED, SENT
from store.tables import (
    CURRENT_PROFILE,
    Candidate,
    Contact,
    Invitation,
    Profile,
    Study,
    Volunteer,
    of_candidate,
)


@dataclass(frozen=True)
class Claimed:
    invitation_id: int
    study_id: str
    volunteer_id: str
    message_id: str
    channel: str
    #: This attempt's number since the invitation was queued (1 for the first).
    attempts: int
    #: This claim's number: only this sender may record an outcome while it holds.
    claim: int
    study_version: str
    #: None only once the volunteer is erased (and then it is never sent).
    submission_id: str | None
    as_of: date
    decision_id: int | None
    #: Where a local folder wrote a copy of it before, if one did.
    copy_path: str | None


_CLAIMED_COLUMNS = (
    Invitation.invitation_id,
    Invitation.study_id,
    Invitation.volunteer_id,
    Invitation.message_id,
    Invitation.channel,
    Invitation.attempts,
    Invitation.claims,
    Invitation.study_version,
    Invitation.submission_id,
    Invitation.as_of,
    Invitation.decision_id,
    Invitation.copy_path,
    Invitation.status,
)


def claim_next(
    connection: Connection, now: datetime, lease_seconds: float, skip: Collection[int] = ()
) -> Claimed | None:
    """Take the next due invitation (queued and due, or abandoned by a dead sender) for this
    sender; None when there is none. The caller commits the claim before delivering."""
    begin_as_writer(connection)
    candidates = (
        select(*_CLAIMED_COLUMNS)
        .where(delivery_claims.due(Invitation, now, lease_seconds))
        .order_by(Invitation.next_attempt_at, Invitation.invitation_id)
    )
    taken = delivery_claims.take_first(connection, Invitation, candidates, now, skip)
    if taken is None:
        return None
    row, attempts, claim = taken
    fields = row._asdict()
    del fields["status"], fields["claims"]
    return Claimed(**fields | {"attempts": attempts, "claim": claim})


def reason_to_stop(connection: Connection, claimed: Claimed, today: date) -> str | None:
    """Why the invitation may no longer be sent, checked just before sending; None if it may.

    Everything the queueing checked that can change: erasure, withdrawal, consent, the
    profile, the study, the approval, and the day (an age is a day's)."""
    row = connection.execute(
        select(
            Volunteer.erased_at,
            Volunteer.withdrawn_at,
            Volunteer.current_submission_id,
            Profile.submitted_at,
            Profile.consent_contact,
            Study.status,
            Study.current_version,
            Candidate.review_state,
        )
        .select_from(Volunteer)
        .outerjoin(Profile, CURRENT_PROFILE)
        .join(Study, Study.study_id == claimed.study_id)
        .outerjoin(Candidate, of_candidate(Candidate, claimed.study_id, Volunteer.volunteer_id))
        .where(Volunteer.volunteer_id == claimed.volunteer_id)
    ).one()
    erased, withdrawn, submission, submitted, consent, status, version, review = row
    if erased is not None:
        return "erased since it was queued"
    if withdrawn is not None and (submitted is None or withdrawn >= submitted):
        return "withdrawn since it was queued"
    if submission != claimed.submission_id:
        return "profile changed since it was queued (evaluated again at the next run)"
    if not consent:
        return "no consent to contact"
    if status != StudyStatus.RECRUITING.value:
        return f"study is {status}"
    if version != claimed.study_version:
        return "study changed since it was queued (evaluated again at the next run)"
    approved = review == ReviewState.APPROVED.value
    auto_allowed = review == ReviewState.UNDECIDED.value and claimed.decision_id is None
    if not (approved or auto_allowed):
        return f"no longer approved ({review or 'not on the candidate list'})"
    if claimed.as_of != today:
        return f"evaluated on {claimed.as_of}, not today (evaluated again at the next run)"
    return None


@dataclass(frozen=True)
class Recipient:
    first_name: str
    email: str
    phone: str | None


def recipient(connection: Connection, volunteer_id: str) -> Recipient | None:
    """Who to write to: the only read of contact details in panelmatch."""
    row = connection.execute(
        select(Contact.first_name, Contact.email, Contact.phone).where(
            Contact.volunteer_id == volunteer_id
        )
    ).first()
    return None if row is None else Recipient(*row)


def _finish(connection: Connection, claimed: Claimed, **values: object) -> bool:
    """Record this attempt's outcome, unless another sender has taken the invitation over
    (its claim ran out): False then, and nothing is recorded."""
    return delivery_claims.finish(
        connection, Invitation, claimed.invitation_id, claimed.claim, **values
    )


def mark_sent(
    connection: Connection, claimed: Claimed, now: datetime, answer_link: SentLink | None = None
) -> bool:
    """Record the invitation sent, with what the store keeps of the answer link it carried."""
    link = {} if answer_link is None else answer_link.values()
    return _finish(connection, claimed, status=SENT, sent_at=now, last_error=None, **link)


def cancel(connection: Connection, claimed: Claimed, reason: str) -> bool:
    return _finish(connection, claimed, status=CANCELLED, cancel_reason=reason)


def retry_later(connection: Connection, claimed: Claimed, error: str, at: datetime) -> bool:
    return _finish(connection, claimed, status=QUEUED, last_error=error, next_attempt_at=at)


def give_up(connection: Connection, claimed: Claimed, error: str) -> bool:
    return _finish(connection, claimed, status=FAILED, last_error=error)


def message_ids(connection: Connection, study_id: str | None = None) -> dict[str, str]:
    """Status of every invitation by Message-ID (for reports and tests)."""
    statement = select(Invitation.message_id, Invitation.status)
    if study_id is not None:
        statement = statement.where(Invitation.study_id == study_id)
    return {message_id: status for message_id, status in connection.execute(statement)}


def record_copy(connection: Connection, claimed: Claimed, path: str) -> bool:
    """Record where a local folder is about to write this invitation's copy (before it does)."""
    return _finish(connection, claimed, copy_path=path)


def unrecorded_copies_of_erased(connection: Connection) -> list[tuple[str, str]]:
    """(Message-ID, channel) of the invitations of volunteers erased since that recorded no
    copy's path: sent over SMTP, or written to a local folder before paths were recorded."""
    rows = connection.execute(
        select(Invitation.message_id, Invitation.channel)
        .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
        .where(Volunteer.erased_at.is_not(None), Invitation.copy_path.is_(None))
    )
    return [(row.message_id, row.channel) for row in rows]
