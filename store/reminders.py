"""Reminders: the one reminder of an invitation left unanswered (``outreach.reminders``).

A reminder is a row of ``invitation_reminder``, keyed by its invitation, so there is at most
one per invitation, ever. It is queued under the store's queueing lock, as invitations are,
then delivered as they are (``store.delivery_claims``): claimed with a compare-and-set,
checked again, delivered, marked sent, each its own short transaction. The row is the log of
who was reminded and why: the invitation (study, pseudonymous volunteer, when it was sent,
that it had no answer), who queued the reminder and when, and its delivery.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Connection, and_, exists, insert, or_, select

from schemas.study import StudyStatus
from store import delivery_claims
from store.database import begin_as_writer
from store.invitations import CANCELLED, FAILED, QUEUED, SENT, new_message_id
from store.referral_states import counting_toward_target
from store.tables import (
    CURRENT_PROFILE,
    Contact,
    Invitation,
    InvitationAnswer,
    InvitationReminder,
    Profile,
    Study,
    Volunteer,
)

#: The volunteer withdrew since their current profile (a new signup after an ``afmeld``
#: makes them reachable again), as the outbox reads it.
_WITHDRAWN = and_(
    Volunteer.withdrawn_at.is_not(None),
    or_(Profile.submitted_at.is_(None), Volunteer.withdrawn_at >= Profile.submitted_at),
)


def _answered() -> ColumnElement[bool]:
    return exists().where(InvitationAnswer.invitation_id == Invitation.invitation_id)


@dataclass(frozen=True)
class Unanswered:
    """A sent invitation whose answer link still works, with no answer and no reminder yet,
    and what the rules for a reminder need to know (no contact details, no health data)."""

    invitation_id: int
    study_id: str
    volunteer_id: str
    channel: str
    sent_at: datetime
    recruiting: bool
    #: The study has its recruitment target (``store.referral_states``).
    full: bool
    withdrawn: bool
    consent: bool
    has_address: bool


def unanswered(
    connection: Connection, now: datetime, days: int, study_ids: Collection[str] | None = None
) -> list[Unanswered]:
    """The invitations sent ``days`` days ago or more that may be reminded of: sent with an
    answer link that works at ``now``, not answered, not reminded of yet, the volunteer not
    erased; of the studies ``study_ids`` (None: all), by invitation id."""
    statement = (
        select(
            Invitation.invitation_id,
            Invitation.study_id,
            Invitation.volunteer_id,
            Invitation.channel,
            Invitation.sent_at,
            Study.status,
            Study.recruitment_target,
            _WITHDRAWN,
            Profile.consent_contact,
            Contact.phone.is_not(None),
        )
        .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
        .join(Study, Study.study_id == Invitation.study_id)
        .outerjoin(Profile, CURRENT_PROFILE)
        .outerjoin(Contact, Contact.volunteer_id == Invitation.volunteer_id)
        .where(
            Invitation.status == SENT,
            Invitation.sent_at <= now - timedelta(days=days),
            Invitation.answer_token_hash.is_not(None),
            Invitation.answer_expires_at > now,
            Volunteer.erased_at.is_(None),
            ~_answered(),
            ~exists().where(InvitationReminder.invitation_id == Invitation.invitation_id),
        )
        .order_by(Invitation.invitation_id)
    )
    if study_ids is not None:
        statement = statement.where(Invitation.study_id.in_(list(study_ids)))
    rows = connection.execute(statement).all()
    counted = counting_toward_target(connection)
    # sent_at is set on every sent invitation (the query asks for it to be old enough).
    return [
        Unanswered(
            invitation_id=row[0],
            study_id=row[1],
            volunteer_id=row[2],
            channel=row[3],
            sent_at=row[4] or now,
            recruiting=row[5] == StudyStatus.RECRUITING.value,
            full=counted.get(row[1], 0) >= row[6],
            withdrawn=bool(row[7]),
            consent=bool(row[8]),
            has_address=row[3] != "sms" or bool(row[9]),
        )
        for row in rows
    ]


def queue(
    connection: Connection,
    reminders: Iterable[Unanswered],
    actor: str,
    now: datetime,
    message_domain: str,
) -> int:
    """Write the reminders to the outbox in one statement, each with a Message-ID of its own,
    on its invitation's channel. The caller holds the queueing lock."""
    rows = [
        {
            "invitation_id": reminder.invitation_id,
            "message_id": new_message_id(message_domain),
            "channel": reminder.channel,
            "status": QUEUED,
            "queued_at": now,
            "queued_by": actor,
            "attempts": 0,
            "claims": 0,
            "next_attempt_at": now,
        }
        for reminder in reminders
    ]
    if rows:
        connection.execute(insert(InvitationReminder), rows)
    return len(rows)


@dataclass(frozen=True)
class ClaimedReminder:
    invitation_id: int
    study_id: str
    volunteer_id: str
    #: The reminder's own Message-ID.
    message_id: str
    #: The invitation's: its answer link's token derives from it.
    invitation_message_id: str
    #: The study version the invitation was sent for: the reminder says what it said.
    study_version: str
    channel: str
    attempts: int
    claim: int
    copy_path: str | None


def claim_next(
    connection: Connection, now: datetime, lease_seconds: float, skip: Collection[int] = ()
) -> ClaimedReminder | None:
    """Take the next due reminder for this sender, as ``store.outbox.claim_next`` takes an
    invitation; the caller commits the claim before delivering."""
    begin_as_writer(connection)
    candidates = (
        select(
            InvitationReminder.invitation_id,
            InvitationReminder.status,
            InvitationReminder.claims,
            InvitationReminder.attempts,
            Invitation.study_id,
            Invitation.volunteer_id,
            InvitationReminder.message_id,
            Invitation.message_id.label("invitation_message_id"),
            Invitation.study_version,
            InvitationReminder.channel,
            InvitationReminder.copy_path,
        )
        .join(Invitation, Invitation.invitation_id == InvitationReminder.invitation_id)
        .where(delivery_claims.due(InvitationReminder, now, lease_seconds))
        .order_by(InvitationReminder.next_attempt_at, InvitationReminder.invitation_id)
    )
    taken = delivery_claims.take_first(connection, InvitationReminder, candidates, now, skip)
    if taken is None:
        return None
    row, attempts, claim = taken
    fields = row._asdict()
    del fields["status"], fields["claims"]
    return ClaimedReminder(**fields | {"attempts": attempts, "claim": claim})


def reason_to_stop(connection: Connection, claimed: ClaimedReminder, now: datetime) -> str | None:
    """Why the reminder may no longer be sent, checked just before sending; None if it may.
    Everything its queueing checked that can have changed, but the contact policy (a queued
    reminder counts in it already)."""
    row = connection.execute(
        select(
            Volunteer.erased_at,
            _WITHDRAWN,
            Profile.consent_contact,
            _answered(),
            Invitation.answer_token_hash,
            Invitation.answer_expires_at,
            Study.status,
            Study.recruitment_target,
        )
        .select_from(Invitation)
        .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
        .join(Study, Study.study_id == Invitation.study_id)
        .outerjoin(Profile, CURRENT_PROFILE)
        .where(Invitation.invitation_id == claimed.invitation_id)
    ).one()
    erased, withdrawn, consent, answered, token_hash, expires, status, target = row
    if erased is not None:
        return "erased since it was queued"
    if withdrawn:
        return "withdrawn since it was queued"
    if not consent:
        return "no consent to contact"
    if answered:
        return "answered since it was queued"
    if token_hash is None or expires is None or expires <= now:
        return "answer link expired"
    if status != StudyStatus.RECRUITING.value:
        return f"study is {status}"
    if counting_toward_target(connection).get(claimed.study_id, 0) >= target:
        return "study has its recruitment target"
    return None


def answer_token_hash(connection: Connection, invitation_id: int) -> str | None:
    """The hash of the answer link the invitation carried (None: none, or erased)."""
    return connection.scalar(
        select(Invitation.answer_token_hash).where(Invitation.invitation_id == invitation_id)
    )


def _finish(connection: Connection, claimed: ClaimedReminder, **values: object) -> bool:
    return delivery_claims.finish(
        connection, InvitationReminder, claimed.invitation_id, claimed.claim, **values
    )


def mark_sent(connection: Connection, claimed: ClaimedReminder, now: datetime) -> bool:
    return _finish(connection, claimed, status=SENT, sent_at=now, last_error=None)


def cancel(connection: Connection, claimed: ClaimedReminder, reason: str) -> bool:
    return _finish(connection, claimed, status=CANCELLED, cancel_reason=reason)


def retry_later(connection: Connection, claimed: ClaimedReminder, error: str, at: datetime) -> bool:
    return _finish(connection, claimed, status=QUEUED, last_error=error, next_attempt_at=at)


def give_up(connection: Connection, claimed: ClaimedReminder, error: str) -> bool:
    return _finish(connection, claimed, status=FAILED, last_error=error)


def record_copy(connection: Connection, claimed: ClaimedReminder, path: str) -> bool:
    """Record where a local folder is about to write this reminder's copy (before it does)."""
    return _finish(connection, claimed, copy_path=path)


def message_ids(connection: Connection) -> dict[str, str]:
    """Status of every reminder by its Message-ID (for reports and tests)."""
    rows = connection.execute(select(InvitationReminder.message_id, InvitationReminder.status))
    return {message_id: status for message_id, status in rows}
