"""Volunteers' answers to their invitations, from the answer page (``respond/``).

Each answer is a row of ``invitation_answer``; the latest is the answer, the earlier ones say
how it changed. The rows are the log of answers: invitation, answer, time, nothing else.

``give_answer`` also applies an answer to the invitation's referral (``store.referrals``): a
yes refers at once when nothing was unknown at the invitation, else its screening questions
are asked (``store.screening_answers``) and ``answer_questions`` moves it on; a no or a stop
withdraws it. A yes or a no can be changed until the study team has taken the referral; from
then on it is final (``AnswerIsFinal``), but a stop is always taken: it is an ``afmeld``.

"Kontakt mig ikke igen" (stop) is also an ``afmeld``: recorded and applied by
``store.withdrawals.store_withdrawals``, the one way withdrawals are stored, in the same
transaction, under a run of the audit log (``store.audit``) whose actor is the volunteer's
pseudonymous id and whose message says why. No health detail is written anywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import pandas as pd
from sqlalchemy import Connection, insert, select, update

from schemas.act import Act
from schemas.exports import ExportKind
from schemas.referral import Screening
from schemas.study import AnswerOption
from store import referrals
from store.answer_links import AnsweringInvitation
from store.audit import IngestCounts, finish_ingest, start_ingest
from store.errors import StoreError
from store.screening_answers import InvitedScreening, invited_screening, record_answers
from store.tables import Invitation, InvitationAnswer, Referral, Volunteer
from store.withdrawals import UNSUBSCRIBE, store_withdrawals

#: The audit log's name for a withdrawal given on the answer page (its "file").
ANSWER_PAGE = "answer page"
#: Why, as the audit log says it.
STOP_REASON = "the volunteer answered 'Kontakt mig ikke igen' on the answer page"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    STOP = "stop"


class AnswerIsFinal(StoreError):
    """The study team has taken the invitation's referral: its answer (and the answers to its
    questions) can no longer be changed on the answer page."""

    def __init__(self, invitation_id: int) -> None:
        super().__init__(f"invitation {invitation_id}: the study team has taken its answer")


@dataclass(frozen=True)
class Standing:
    """Where an invitation's answer stands, as the answer page shows it."""

    answer: Answer | None
    #: Where its yes stands with the screening questions (None without a referral).
    screening: Screening | None
    #: The study team has taken the referral: the answer is final.
    final: bool
    #: The volunteer has opened the answer page before.
    opened: bool


def standing(connection: Connection, invitation_id: int) -> Standing:
    """The invitation's answer and referral (an id of no invitation stands nowhere, after
    the same two queries)."""
    row = connection.execute(
        select(Invitation.answer_opened_at, Referral.screening, Referral.taken_at)
        .outerjoin(Referral, Referral.invitation_id == Invitation.invitation_id)
        .where(Invitation.invitation_id == invitation_id)
    ).first()
    answer = current_answer(connection, invitation_id)
    if row is None:
        return Standing(answer, None, final=False, opened=False)
    screening = Screening(row.screening) if row.screening is not None else None
    return Standing(answer, screening, row.taken_at is not None, row.answer_opened_at is not None)


def mark_opened(connection: Connection, invitation_id: int, now: datetime) -> None:
    """Record that the volunteer opened the answer page, the first time only."""
    connection.execute(
        update(Invitation)
        .where(Invitation.invitation_id == invitation_id, Invitation.answer_opened_at.is_(None))
        .values(answer_opened_at=now)
    )


def current_answer(connection: Connection, invitation_id: int) -> Answer | None:
    """The invitation's answer (its latest), or None if it has none."""
    found = connection.execute(
        select(InvitationAnswer.answer)
        .where(InvitationAnswer.invitation_id == invitation_id)
        .order_by(InvitationAnswer.answered_at.desc(), InvitationAnswer.answer_id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return Answer(found) if found is not None else None


def answer_history(connection: Connection, invitation_id: int) -> list[tuple[Answer, datetime]]:
    """Every answer given to the invitation, oldest first."""
    rows = connection.execute(
        select(InvitationAnswer.answer, InvitationAnswer.answered_at)
        .where(InvitationAnswer.invitation_id == invitation_id)
        .order_by(InvitationAnswer.answered_at, InvitationAnswer.answer_id)
    ).all()
    return [(Answer(answer), at) for answer, at in rows]


def record_answer(
    connection: Connection, invitation: AnsweringInvitation, answer: Answer, now: datetime
) -> None:
    """Record ``answer`` to ``invitation`` at ``now``; a stop withdraws the volunteer from
    every study at once, as an ``afmeld`` does."""
    connection.execute(
        insert(InvitationAnswer).values(
            invitation_id=invitation.invitation_id, answer=answer.value, answered_at=now
        )
    )
    if answer is Answer.STOP:
        _withdraw(connection, invitation.volunteer_id, now)


def _withdraw(connection: Connection, volunteer_id: str, now: datetime) -> None:
    email_hash = connection.execute(
        select(Volunteer.email_hash).where(Volunteer.volunteer_id == volunteer_id)
    ).scalar_one_or_none()
    if email_hash is None:  # erased meanwhile: nobody left to withdraw
        return
    act = Act(f"volunteer {volunteer_id}", now)
    marker = hashlib.sha256(f"{ANSWER_PAGE} {volunteer_id} {now.isoformat()}".encode())
    run = start_ingest(connection, ANSWER_PAGE, marker.hexdigest(), act)
    batch = pd.DataFrame({"action": [UNSUBSCRIBE], "requested_at": [pd.Timestamp(now)]})
    stored = store_withdrawals(connection, batch, [email_hash], run, now)
    finish_ingest(
        connection, run, status="accepted", finished_at=now, kind=ExportKind.WITHDRAWALS.value,
        counts=IngestCounts(rows=1, stored=stored.stored, quarantined=0, known=stored.known),
        message=STOP_REASON,
    )  # fmt: skip


def give_answer(
    connection: Connection, invitation: AnsweringInvitation, answer: Answer, now: datetime
) -> Screening | None:
    """Record ``answer`` and apply it to the invitation's referral; return where its yes
    stands with the screening questions (None after a no or a stop).

    A yes refers at once (``Screening.NOT_NEEDED``) when no criterion was unknown at the
    invitation; else its questions are to be answered (``ASKED``), or, when none of the
    unknown criteria has a question, it refers still unknown: the study team screens. A yes
    given again changes nothing. A no or a stop withdraws the yes. Raises ``AnswerIsFinal``
    (recording nothing) for a yes or a no once the study team has taken the referral; a stop
    is recorded all the same, and withdraws the volunteer."""
    invitation_id = invitation.invitation_id
    _one_at_a_time(connection, invitation_id)
    if answer is not Answer.STOP and referrals.taken(connection, invitation_id):
        raise AnswerIsFinal(invitation_id)
    record_answer(connection, invitation, answer, now)
    if answer is not Answer.YES:
        referrals.withdraw(connection, invitation_id)
        return None
    already = referrals.screening_of(connection, invitation_id)
    if already is not None:
        return already
    invited = invited_screening(connection, invitation_id)
    if not invited.to_screen:
        screening = Screening.NOT_NEEDED
    elif invited.questions:
        screening = Screening.ASKED
    else:
        screening = Screening.UNKNOWN
    referrals.refer(connection, invitation, screening, now)
    return screening


def answer_questions(
    connection: Connection,
    invitation: AnsweringInvitation,
    invited: InvitedScreening,
    given: Mapping[str, AnswerOption],
    now: datetime,
) -> Screening:
    """Record the answers ``given`` to ``invited``'s questions (criterion id -> the option
    chosen) and move the yes's screening to where they leave it; return it. Raises
    ``AnswerIsFinal`` once the study team has taken the referral."""
    invitation_id = invitation.invitation_id
    _one_at_a_time(connection, invitation_id)
    if referrals.taken(connection, invitation_id):
        raise AnswerIsFinal(invitation_id)
    record_answers(connection, invitation_id, given, now)
    screening = invited.screening(given)
    referrals.screen(connection, invitation_id, screening, now)
    return screening


def _one_at_a_time(connection: Connection, invitation_id: int) -> None:
    """Answers to one invitation in turn (a double click sends two): on PostgreSQL its row
    is locked to the end of the transaction; SQLite has one writer at a time anyway."""
    connection.execute(
        select(Invitation.invitation_id)
        .where(Invitation.invitation_id == invitation_id)
        .with_for_update()
    )
