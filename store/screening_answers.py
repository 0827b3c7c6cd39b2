"""Screening questions on the answer page: which a volunteer is asked, their answers, and
where the answers leave their yes (``schemas.referral.Screening``).

**Which questions.** Those of the criteria that were unknown, and decided the outcome, when
the volunteer was invited. The invitation keeps what justified it: the study version, the
profile version (submission) and the day. So the study is evaluated again by the engine
exactly as outreach evaluated it before inviting: that version of the definition, over that
profile version (and, for a criterion that looks back, the versions before it) as of that
day. Not the candidate list's row: the nightly match rewrites it when the profile or the
study changes, and the questions are those of the invitation being answered, the same each
time the page is shown. The criteria to screen are the engine's (``StudyMatch.screening``:
the unknown tests under unknown groups, and an ``if_met: screen`` criterion that is met,
itself); those with a ``question:`` are asked, in the order written. One without a question
cannot be asked and stays unknown for the study team (``panel study check`` warns of it); a
group's question is never asked, its parts' are.

**The answers** are rows of ``screening_answer``, one per question each time it is answered
(the latest counts): answers to this study only, never written into the profile, erased with
the person (``store.outreach_erasure``). They are evaluated by ``matching.answered``: each
answered criterion takes the truth its option ``means``, the rest as found.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from threading import Lock
from weakref import WeakKeyDictionary

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Row, func, insert, or_, select

from matching import outcomes
from matching.answered import MEANS, with_answers
from matching.engine import looks_back, match_study
from matching.history import HISTORY_SCHEMA
from matching.panel import PROFILE_SCHEMA, prepare_panel
from schemas.referral import Screening
from schemas.study import AnswerOption, ScreeningQuestion, StudyDefinition
from store.arrow_read import read_arrow
from store.errors import StoreError
from store.studies import definition_at
from store.tables import Invitation, Profile, ScreeningAnswer, Volunteer

#: Where the study's outcome leaves a yes once its questions are answered.
_SCREENING = {
    int(outcomes.MET): Screening.MET,
    int(outcomes.UNKNOWN): Screening.UNKNOWN,
    int(outcomes.NOT_MET): Screening.NOT_MET,
}


class InvitationNotEvaluable(StoreError):
    """An invitation whose study version or profile version is gone (never expected: an
    erasure, which forgets the profile, also ends the answer link)."""

    def __init__(self, invitation_id: int) -> None:
        super().__init__(f"invitation {invitation_id}: its study or profile version is gone")


@dataclass(frozen=True)
class Asked:
    """A question the page asks: the criterion's id and its question."""

    criterion_id: str
    question: ScreeningQuestion


@dataclass(frozen=True)
class InvitedScreening:
    """The study as it stood for the volunteer when they were invited."""

    study: StudyDefinition
    #: Every criterion's outcome for the volunteer (one-element arrays of the engine's).
    found: dict[str, np.ndarray]
    #: The criteria that were unknown and decided the outcome, in the order written.
    to_screen: tuple[str, ...]

    @property
    def questions(self) -> list[Asked]:
        """The questions to ask: those of the criteria to screen that have one."""
        by_id = {criterion.id: criterion for criterion in self.study.criteria()}
        return [
            Asked(criterion_id, question)
            for criterion_id in self.to_screen
            if (question := by_id[criterion_id].question) is not None
        ]

    def screening(self, answers: Mapping[str, AnswerOption]) -> Screening:
        """Where the yes stands with these answers (criterion id -> the option chosen)."""
        given = {
            criterion_id: np.array([MEANS[option.means]], np.int8)
            for criterion_id, option in answers.items()
        }
        overall = with_answers(self.study, self.found, given)
        return _SCREENING[int(overall[0])]


#: Evaluations kept, per store (its engine) and per (study, study version, profile version,
#: day): each is what those immutable rows say, so it never goes stale; the page asks for
#: it on every view of a yes and twice on the yes itself.
_EVALUATED: WeakKeyDictionary[Engine, OrderedDict[tuple[str, str, str, date], InvitedScreening]]
_EVALUATED = WeakKeyDictionary()
#: How many a store keeps (the latest used).
KEPT = 4096
#: The page's routes run in a thread pool.
_KEEPING = Lock()


def invited_screening(connection: Connection, invitation_id: int) -> InvitedScreening:
    """The study as it stood for the invitation's volunteer on the day they were invited."""
    invitation = connection.execute(
        select(
            Invitation.study_id,
            Invitation.study_version,
            Invitation.submission_id,
            Invitation.as_of,
            Invitation.volunteer_id,
        ).where(Invitation.invitation_id == invitation_id)
    ).one()
    if invitation.submission_id is None:
        raise InvitationNotEvaluable(invitation_id)
    key = (
        invitation.study_id,
        invitation.study_version,
        invitation.submission_id,
        invitation.as_of,
    )
    with _KEEPING:
        kept = _EVALUATED.setdefault(connection.engine, OrderedDict())
        if key in kept:
            kept.move_to_end(key)
            return kept[key]
    evaluated = _evaluate(connection, invitation_id, invitation)
    with _KEEPING:
        kept[key] = evaluated
        if len(kept) > KEPT:
            kept.popitem(last=False)
    return evaluated


def _evaluate(
    connection: Connection, invitation_id: int, invitation: Row[str, str, str | None, date, str]
) -> InvitedScreening:
    study = definition_at(connection, invitation.study_id, invitation.study_version)
    if study is None or invitation.submission_id is None:
        raise InvitationNotEvaluable(invitation_id)
    profile = read_arrow(
        connection,
        select(
            Profile.volunteer_id, *(getattr(Profile, name) for name in PROFILE_SCHEMA.names[1:])
        ).where(Profile.submission_id == invitation.submission_id),
        PROFILE_SCHEMA,
    ).to_pandas()
    if len(profile) != 1:
        raise InvitationNotEvaluable(invitation_id)
    versions = (
        _versions_until(connection, invitation.volunteer_id, invitation.submission_id)
        if looks_back([study])
        else None
    )
    match = match_study(study, prepare_panel(profile, invitation.as_of, versions))
    return InvitedScreening(
        study,
        {criterion_id: found[:1] for criterion_id, found in match.outcomes.items()},
        tuple(criterion_id for criterion_id, rows in match.screening.items() if rows[0]),
    )


def _versions_until(connection: Connection, volunteer_id: str, submission_id: str) -> pd.DataFrame:
    """The volunteer's profile versions up to the invited one, as matching read them then:
    none submitted before a withdrawal that came before it (what someone said before
    withdrawing is never used again). A withdrawal after it cannot tell which versions the
    match before it read; it leaves them all (the invitation was sent before it)."""
    submitted = (
        select(Profile.submitted_at).where(Profile.submission_id == submission_id).scalar_subquery()
    )
    statement = (
        select(*(getattr(Profile, name) for name in HISTORY_SCHEMA.names))
        .join(Volunteer, Volunteer.volunteer_id == Profile.volunteer_id)
        .where(
            Profile.volunteer_id == volunteer_id,
            Profile.submitted_at <= submitted,
            or_(
                Volunteer.withdrawn_at.is_(None),
                Volunteer.withdrawn_at < Profile.submitted_at,
                Volunteer.withdrawn_at > submitted,
            ),
        )
    )
    return read_arrow(connection, statement, HISTORY_SCHEMA).to_pandas()


@dataclass(frozen=True)
class GivenAnswer:
    """The latest answer to one question: the option as the page showed it, and its meaning."""

    option: str
    means: str


def latest_answers(connection: Connection, invitation_id: int) -> dict[str, GivenAnswer]:
    """Criterion id -> the latest answer given to its question on this invitation's page."""
    latest = (
        select(func.max(ScreeningAnswer.screening_answer_id))
        .where(ScreeningAnswer.invitation_id == invitation_id)
        .group_by(ScreeningAnswer.criterion_id)
    )
    rows = connection.execute(
        select(ScreeningAnswer.criterion_id, ScreeningAnswer.option, ScreeningAnswer.means).where(
            ScreeningAnswer.screening_answer_id.in_(latest)
        )
    ).all()
    return {row.criterion_id: GivenAnswer(row.option, row.means) for row in rows}


def record_answers(
    connection: Connection, invitation_id: int, answers: Mapping[str, AnswerOption], now: datetime
) -> None:
    """Record the answers given at ``now`` (criterion id -> the option chosen)."""
    if answers:
        connection.execute(
            insert(ScreeningAnswer),
            [
                {
                    "invitation_id": invitation_id,
                    "criterion_id": criterion_id,
                    "option": option.text,
                    "means": option.means,
                    "answered_at": now,
                }
                for criterion_id, option in answers.items()
            ],
        )
