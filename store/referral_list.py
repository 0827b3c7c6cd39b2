"""The study team's side of referrals: the list of volunteers who said yes to a study, by name,
taking a referral, and recording what happened next.

The list holds a study's referrals that reached the study team (``referred_at`` set) and whose
volunteer can still be reached (``store.referral_states.still_reachable``): an ``afmeld``, a
"Kontakt mig ikke igen" or an erasure after the yes takes the person off the list, taken or
not. Each row carries the name, e-mail, phone and preferred contact form, when they said yes,
their answers to the screening questions and the steps recorded so far.

Taking a referral makes the volunteer's answer final (the answer page no longer changes it);
recording a step takes it too, if nobody had. A step is kept with who recorded it and when;
the latest that is not a note is where the referral stands (``store.referral_states``).

Whoever is shown the list is written to the access log, one line per volunteer shown
(``log_shown``), by the review app and the export alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ColumnElement, Connection, and_, func, insert, select, update

from schemas.act import Act
from schemas.referral import NotEligibleReason, ReferralStep, Screening
from schemas.review import NOTE_MAX_LENGTH
from store.answers import Answer
from store.decisions import log_access
from store.errors import StoreError
from store.referral_states import still_reachable
from store.tables import (
    CURRENT_PROFILE,
    Contact,
    Invitation,
    InvitationAnswer,
    Profile,
    Referral,
    ReferralOutcome,
    ScreeningAnswer,
    Volunteer,
)


class NoSuchReferral(StoreError):
    """The referral is not on this study's list (another study's, withdrawn, erased, never
    referred): nothing was recorded."""


class StepProblem(StrEnum):
    """Why a step cannot be recorded as given."""

    NEEDS_REASON = "not eligible needs a reason from the list"
    REASON_NOT_HERE = "only not eligible takes a reason"
    NEEDS_NOTE = "a note needs its text"
    NOTE_TOO_LONG = f"a note is at most {NOTE_MAX_LENGTH} characters"


class StepRefused(StoreError):
    """A step that cannot be recorded as given; ``problem`` says why (never what was typed)."""

    def __init__(self, problem: StepProblem) -> None:
        self.problem = problem
        super().__init__(problem.value)


@dataclass(frozen=True)
class ScreeningReply:
    """A volunteer's latest answer to one screening question of the study."""

    criterion_id: str
    #: The option chosen, as the answer page showed it.
    option: str


@dataclass(frozen=True)
class RecordedStep:
    step: ReferralStep
    reason: NotEligibleReason | None
    note: str | None
    recorded_by: str
    recorded_at: datetime


@dataclass(frozen=True)
class ListedReferral:
    """One volunteer who said yes, as the study team sees them."""

    invitation_id: int
    #: Pseudonymous: for the access log only, never shown to the study team.
    volunteer_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    #: email or sms: the form of contact the volunteer prefers now (their latest submission),
    #: else the one they were invited by.
    contact_form: str
    #: When they said yes (their latest yes).
    answered_at: datetime | None
    referred_at: datetime
    screening: Screening
    taken_at: datetime | None
    taken_by: str | None
    answers: list[ScreeningReply] = field(default_factory=list)
    #: Oldest first, notes included.
    steps: list[RecordedStep] = field(default_factory=list)

    @property
    def latest(self) -> RecordedStep | None:
        """Where the referral stands: its latest step that is not a note."""
        return next((s for s in reversed(self.steps) if s.step is not ReferralStep.NOTE), None)


def _listed(study_id: str) -> list[ColumnElement[bool]]:
    """The referrals of ``study_id`` on its list (the conditions, for a ``where``)."""
    return [Referral.study_id == study_id, Referral.referred_at.is_not(None), still_reachable()]


def referral_list(connection: Connection, study_id: str) -> list[ListedReferral]:
    """The study's referrals the study team may see, in the order they reached it."""
    yes_at = (
        select(InvitationAnswer.invitation_id, func.max(InvitationAnswer.answered_at).label("at"))
        .where(InvitationAnswer.answer == Answer.YES.value)
        .group_by(InvitationAnswer.invitation_id)
        .subquery()
    )
    rows = connection.execute(
        select(
            Referral.invitation_id,
            Referral.volunteer_id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.phone,
            func.coalesce(Profile.contact_channel, Invitation.channel),
            yes_at.c.at,
            Referral.referred_at,
            Referral.screening,
            Referral.taken_at,
            Referral.taken_by,
        )
        .join(Volunteer, Volunteer.volunteer_id == Referral.volunteer_id)
        .join(Contact, Contact.volunteer_id == Referral.volunteer_id)
        .join(Invitation, Invitation.invitation_id == Referral.invitation_id)
        .outerjoin(Profile, CURRENT_PROFILE)
        .outerjoin(yes_at, yes_at.c.invitation_id == Referral.invitation_id)
        .where(*_listed(study_id))
        .order_by(Referral.referred_at, Referral.invitation_id)
    ).all()
    ids = [row[0] for row in rows]
    answers = _screening_replies(connection, ids)
    steps = _steps(connection, ids)
    return [
        ListedReferral(
            invitation_id=row[0],
            volunteer_id=row[1],
            first_name=row[2],
            last_name=row[3],
            email=row[4],
            phone=row[5],
            contact_form=row[6],
            answered_at=row[7],
            referred_at=row[8],
            screening=Screening(row[9]),
            taken_at=row[10],
            taken_by=row[11],
            answers=answers.get(row[0], []),
            steps=steps.get(row[0], []),
        )
        for row in rows
    ]


def _screening_replies(
    connection: Connection, invitation_ids: list[int]
) -> dict[int, list[ScreeningReply]]:
    """Each invitation's latest answer to each question, in the order first asked."""
    if not invitation_ids:
        return {}
    latest = (
        select(func.max(ScreeningAnswer.screening_answer_id))
        .where(ScreeningAnswer.invitation_id.in_(invitation_ids))
        .group_by(ScreeningAnswer.invitation_id, ScreeningAnswer.criterion_id)
    )
    first = (
        select(
            ScreeningAnswer.invitation_id,
            ScreeningAnswer.criterion_id,
            func.min(ScreeningAnswer.screening_answer_id).label("first"),
        )
        .where(ScreeningAnswer.invitation_id.in_(invitation_ids))
        .group_by(ScreeningAnswer.invitation_id, ScreeningAnswer.criterion_id)
        .subquery()
    )
    rows = connection.execute(
        select(ScreeningAnswer.invitation_id, ScreeningAnswer.criterion_id, ScreeningAnswer.option)
        .join(
            first,
            and_(
                first.c.invitation_id == ScreeningAnswer.invitation_id,
                first.c.criterion_id == ScreeningAnswer.criterion_id,
            ),
        )
        .where(ScreeningAnswer.screening_answer_id.in_(latest))
        .order_by(first.c.first)
    )
    found: dict[int, list[ScreeningReply]] = defaultdict(list)
    for invitation_id, criterion_id, option in rows:
        found[invitation_id].append(ScreeningReply(criterion_id, option))
    return found


def _steps(connection: Connection, invitation_ids: list[int]) -> dict[int, list[RecordedStep]]:
    if not invitation_ids:
        return {}
    rows = connection.execute(
        select(
            ReferralOutcome.invitation_id,
            ReferralOutcome.step,
            ReferralOutcome.reason,
            ReferralOutcome.note,
            ReferralOutcome.recorded_by,
            ReferralOutcome.recorded_at,
        )
        .where(ReferralOutcome.invitation_id.in_(invitation_ids))
        .order_by(ReferralOutcome.outcome_id)
    )
    found: dict[int, list[RecordedStep]] = defaultdict(list)
    for invitation_id, step, reason, note, by, at in rows:
        found[invitation_id].append(
            RecordedStep(
                ReferralStep(step), NotEligibleReason(reason) if reason else None, note, by, at
            )
        )
    return found


def log_shown(
    connection: Connection, act: Act, study_id: str, what: str, shown: list[ListedReferral]
) -> None:
    """Who was shown whom: one line per volunteer shown (pseudonymous id), or one line without
    a volunteer when the list was empty, so that every look is in the access log."""
    ids: list[str | None] = [r.volunteer_id for r in shown]
    for volunteer_id in ids or [None]:
        log_access(connection, act, study_id, what, volunteer_id)


def take(connection: Connection, study_id: str, invitation_id: int, act: Act) -> bool:
    """The study team takes the referral: from now on the volunteer's answer is final. False
    if it was taken already (who took it first stays).

    The invitation's row is locked first, as the answer page locks it for an answer
    (``store.answers``): a volunteer changing their answer and the team taking it happen one
    after the other, so either the change lands before (and a no leaves nothing to take) or
    the answer page finds it taken and final, never a no recorded beside a taken yes."""
    connection.execute(
        select(Invitation.invitation_id)
        .where(Invitation.invitation_id == invitation_id)
        .with_for_update()
    )
    _check_listed(connection, study_id, invitation_id)
    return bool(
        connection.execute(
            update(Referral)
            .where(Referral.invitation_id == invitation_id, Referral.taken_at.is_(None))
            .values(taken_at=act.at, taken_by=act.who)
        ).rowcount
    )


def record_step(
    connection: Connection,
    study_id: str,
    invitation_id: int,
    step: ReferralStep,
    act: Act,
    *,
    reason: NotEligibleReason | None = None,
    note: str | None = None,
) -> None:
    """Record what happened next (taking the referral, if nobody had). Not eligible needs a
    reason from the list, and only it takes one; a note step needs its text; any step may
    carry a note."""
    note = (note or "").strip() or None
    if step is ReferralStep.NOT_ELIGIBLE and reason is None:
        raise StepRefused(StepProblem.NEEDS_REASON)
    if step is not ReferralStep.NOT_ELIGIBLE and reason is not None:
        raise StepRefused(StepProblem.REASON_NOT_HERE)
    if step is ReferralStep.NOTE and note is None:
        raise StepRefused(StepProblem.NEEDS_NOTE)
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise StepRefused(StepProblem.NOTE_TOO_LONG)
    take(connection, study_id, invitation_id, act)
    connection.execute(
        insert(ReferralOutcome).values(
            invitation_id=invitation_id,
            step=step.value,
            reason=reason.value if reason else None,
            note=note,
            recorded_by=act.who,
            recorded_at=act.at,
        )
    )


def _check_listed(connection: Connection, study_id: str, invitation_id: int) -> None:
    found = connection.execute(
        select(Referral.invitation_id)
        .join(Volunteer, Volunteer.volunteer_id == Referral.volunteer_id)
        .where(Referral.invitation_id == invitation_id, *_listed(study_id))
    ).first()
    if found is None:
        raise NoSuchReferral(f"referral {invitation_id} is not on the list of {study_id!r}")
