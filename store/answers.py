"""Volunteers' answers to their invitations, from the answer page (``respond/``).

Each answer is a row of ``invitation_answer``; the latest is the answer, the earlier ones say
how it changed (an answer may be changed until the study team has taken it; there is no study
team yet, so always). The rows are the log of answers: invitation, answer, time, nothing else.

"Kontakt mig ikke igen" (stop) is also an ``afmeld``: recorded and applied by
``store.withdrawals.store_withdrawals``, the one way withdrawals are stored, in the same
transaction, under a run of the audit log (``store.audit``) whose actor is the volunteer's
pseudonymous id and whose message says why. No health detail is written anywhere.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

import pandas as pd
from sqlalchemy import Connection, insert, select

from schemas.act import Act
from schemas.exports import ExportKind
from store.answer_links import AnsweringInvitation
from store.audit import IngestCounts, finish_ingest, start_ingest
from store.tables import InvitationAnswer, Volunteer
from store.withdrawals import UNSUBSCRIBE, store_withdrawals

#: The audit log's name for a withdrawal given on the answer page (its "file").
ANSWER_PAGE = "answer page"
#: Why, as the audit log says it.
STOP_REASON = "the volunteer answered 'Kontakt mig ikke igen' on the answer page"


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    STOP = "stop"


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
