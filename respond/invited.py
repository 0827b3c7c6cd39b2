"""What the answer page shows for a token: what the invitation said, where its answer stands,
and the screening questions to ask (``store.screening_answers``), with the answers given so
far.

A token that leads nowhere is looked up as if it led somewhere (a study and an invitation of
no one's), so every such token costs the same queries whatever failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from outreach.sender import DEFAULT_TITLE
from schemas.referral import Screening
from store import answers, studies
from store.answer_links import AnsweringInvitation
from store.answers import Answer, Standing
from store.screening_answers import Asked, InvitedScreening, invited_screening, latest_answers

#: Looked up in place of a study and an invitation for a token that leads nowhere.
_NO_STUDY, _NO_INVITATION = "", -1


@dataclass(frozen=True)
class Invited:
    """What a volunteer's invitation said, and where their answer stands."""

    organiser: str
    title: str
    involves: str | None
    standing: Standing

    @property
    def answer(self) -> Answer | None:
        return self.standing.answer


def invited(connection: Connection, found: AnsweringInvitation | None) -> Invited | None:
    """What the page shows for the invitation ``find_invitation`` found (None: nothing)."""
    definition = studies.current_definition(connection, found.study_id if found else _NO_STUDY)
    standing = answers.standing(connection, found.invitation_id if found else _NO_INVITATION)
    if found is None or definition is None:
        return None
    contact = definition.contact
    title = contact.invitation_title or DEFAULT_TITLE
    return Invited(contact.organiser, title, contact.involves, standing)


@dataclass(frozen=True)
class Question:
    """A screening question as the page shows it: the form field of its criterion, and the
    option chosen before (its position), if any."""

    asked: Asked
    chosen: int | None

    @property
    def field(self) -> str:
        return f"svar-{self.asked.criterion_id}"


@dataclass(frozen=True)
class Questions:
    """The questions of a yes, and what they are asked of."""

    screening: InvitedScreening
    shown: list[Question]


def questions(
    connection: Connection, found: AnsweringInvitation, standing: Standing
) -> Questions | None:
    """The questions of the invitation's yes, with the answers given so far: None without a
    yes, or with one that had nothing to ask."""
    if standing.answer is not Answer.YES or standing.screening in (None, Screening.NOT_NEEDED):
        return None
    screening = invited_screening(connection, found.invitation_id)
    asked = screening.questions
    if not asked:
        return None
    given = latest_answers(connection, found.invitation_id)
    shown = []
    for each in asked:
        before = given.get(each.criterion_id)
        texts = [option.text for option in each.question.answers]
        chosen = texts.index(before.option) if before and before.option in texts else None
        shown.append(Question(each, chosen))
    return Questions(screening, shown)
