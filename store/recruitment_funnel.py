"""What happened to each study's candidates, from the list to enrolment: the recruitment funnel
the study overview, ``panel status`` and the cycle's artifact show (docs/recruitment.md).

    matched -> approved -> invited (sent) -> opened the answer page
      -> yes / no / stop / no answer -> passed the screening questions -> enrolled

Each step is counted from the record it lives in, as it is kept: matched and approved from the
candidate list (an erasure takes the person off it), the rest from the sent invitations and
their answers, referrals and steps (which stay, pseudonymous, after an erasure; the answers go
with the person, so an erased volunteer's no or stop counts as no answer, while a yes that
became a referral still counts, the referral standing for it). A volunteer's answer is their
latest; the time to answer is from the invitation's sending to their first answer.

Three grouped queries for every study at once (or one study): the candidate list by state,
the sent invitations with their latest answer, referral and latest step, and the first
answer's time of each answered invitation (one row each: percentiles are taken here, the same
way on SQLite and PostgreSQL). Counts only: no volunteer id leaves this module.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Subquery,
    and_,
    case,
    func,
    not_,
    or_,
    select,
)

from schemas.referral import ReferralStep, Screening
from schemas.review import ReviewState
from store.answers import Answer
from store.invitations import SENT
from store.referral_states import latest_steps, still_reachable
from store.tables import (
    Candidate,
    Invitation,
    InvitationAnswer,
    Referral,
    ReferralOutcome,
    Volunteer,
)


@dataclass(frozen=True)
class AnswerTimes:
    """How long the volunteers who answered took, from the invitation's sending to their first
    answer: the median and the 90th percentile (nearest rank) of ``answers`` such times."""

    answers: int
    median: timedelta
    p90: timedelta

    @staticmethod
    def of(waits: list[timedelta]) -> AnswerTimes | None:
        if not waits:
            return None
        ordered = sorted(waits)
        rank90 = math.ceil(0.9 * len(ordered)) - 1
        middle = statistics.median(w.total_seconds() for w in ordered)
        return AnswerTimes(len(ordered), timedelta(seconds=middle), ordered[rank90])


@dataclass(frozen=True)
class RecruitmentFunnel:
    """One study's recruitment, step by step (counts of volunteers)."""

    study_id: str
    #: On the candidate list, whatever their status now (eligible, needs screening, or no
    #: longer eligible).
    matched: int = 0
    #: Approved by a coordinator or by the study's own rule.
    approved: int = 0
    #: Invitations sent (queued, failed or cancelled ones are not).
    invited: int = 0
    #: Of those, the answer page opened (or answered: an answer is given on it).
    opened: int = 0
    yes: int = 0
    no: int = 0
    stop: int = 0
    #: Yeses that reached the study team: nothing to ask, or the screening questions answered
    #: met or still unknown (``Screening.refers``).
    passed: int = 0
    #: Yeses the screening questions ruled out (thanked, not referred).
    ruled_out: int = 0
    #: Yeses still answering the screening questions.
    answering: int = 0
    #: Referrals by their latest step: where the study team has them.
    enrolled: int = 0
    not_eligible: int = 0
    declined: int = 0
    #: Referrals neither enrolled nor closed whose volunteer has since withdrawn or been
    #: erased: off the study team's list (``store.referral_states.still_reachable``).
    left: int = 0
    times: AnswerTimes | None = None

    @property
    def answered(self) -> int:
        return self.yes + self.no + self.stop

    @property
    def no_answer(self) -> int:
        return self.invited - self.answered

    @property
    def answer_rate(self) -> float | None:
        """Answered of invited (0 to 1); None before anyone was invited."""
        return self.answered / self.invited if self.invited else None

    @property
    def with_study_team(self) -> int:
        """Referrals on the study team's list, neither enrolled nor closed yet."""
        return self.passed - self.enrolled - self.not_eligible - self.declined - self.left


def recruitment_funnels(
    connection: Connection, study_id: str | None = None
) -> dict[str, RecruitmentFunnel]:
    """Study id -> its recruitment funnel, for every study with a candidate or a sent
    invitation (or only ``study_id``), in the order of study ids."""
    found: dict[str, dict[str, Any]] = {}
    for study, matched, approved in connection.execute(_candidates(study_id)):
        found.setdefault(study, {}).update(matched=matched, approved=approved)
    for row in connection.execute(_invitations(study_id)).mappings():
        found.setdefault(row["study_id"], {}).update(
            (name, value) for name, value in row.items() if name != "study_id"
        )
    waits: dict[str, list[timedelta]] = {}
    for study, sent_at, first_answer in connection.execute(_first_answers(study_id)):
        if sent_at is not None:  # always, when sent
            waits.setdefault(study, []).append(max(first_answer - sent_at, timedelta()))
    return {
        study: RecruitmentFunnel(
            study,
            **{name: int(value or 0) for name, value in counts.items()},
            times=AnswerTimes.of(waits.get(study, [])),
        )
        for study, counts in sorted(found.items())
    }


def duration_words(span: timedelta) -> str:
    """A wait as people say it: "40 minutes", "5.5 hours", "3.2 days"."""
    hours = span.total_seconds() / 3600
    if hours < 1:
        return f"{round(hours * 60)} minutes"
    if hours < 48:
        return f"{hours:.1f} hours"
    return f"{hours / 24:.1f} days"


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _candidates(study_id: str | None) -> Select[Any]:
    # Study and review state only: read from the candidate list's index by state.
    query = select(
        Candidate.study_id,
        func.count(),
        _count_if(Candidate.review_state == ReviewState.APPROVED.value),
    ).group_by(Candidate.study_id)
    return query if study_id is None else query.where(Candidate.study_id == study_id)


def _sent(study_id: str | None) -> list[ColumnElement[bool]]:
    """The sent invitations (of one study, or of every study)."""
    sent = [Invitation.status == SENT]
    return sent if study_id is None else [*sent, Invitation.study_id == study_id]


def _latest_answers(study_id: str | None) -> Subquery:
    """Per answered invitation: its latest answer (the answer, as ``store.answers`` orders
    them); only the study's answers are ranked when it is one study."""
    ranked = select(
        InvitationAnswer.invitation_id,
        InvitationAnswer.answer,
        func.row_number()
        .over(
            partition_by=InvitationAnswer.invitation_id,
            order_by=(InvitationAnswer.answered_at.desc(), InvitationAnswer.answer_id.desc()),
        )
        .label("rank"),
    )
    if study_id is not None:
        ranked = ranked.join(
            Invitation, Invitation.invitation_id == InvitationAnswer.invitation_id
        ).where(Invitation.study_id == study_id)
    inner = ranked.subquery("ranked")
    latest = select(inner.c.invitation_id, inner.c.answer).where(inner.c.rank == 1)
    return latest.subquery("answer")


#: The steps that end a referral's time with the study team, each counted.
_ENDS = (ReferralStep.ENROLLED, ReferralStep.NOT_ELIGIBLE, ReferralStep.DECLINED)
_END_VALUES = [step.value for step in _ENDS]


def _invitations(study_id: str | None) -> Select[Any]:
    answer = _latest_answers(study_id).c.answer
    last_step = latest_steps().subquery("last_step")
    referred = Referral.referred_at.is_not(None)
    step = ReferralOutcome.step
    counts = [
        func.count().label("invited"),
        _count_if(
            or_(
                Invitation.answer_opened_at.is_not(None),
                answer.is_not(None),
                Referral.invitation_id.is_not(None),
            )
        ).label("opened"),
        # A referral stands for a yes whose answers went with an erased volunteer.
        _count_if(
            or_(
                answer == Answer.YES.value,
                and_(answer.is_(None), Referral.invitation_id.is_not(None)),
            )
        ).label("yes"),
        _count_if(answer == Answer.NO.value).label("no"),
        _count_if(answer == Answer.STOP.value).label("stop"),
        _count_if(referred).label("passed"),
        _count_if(Referral.screening == Screening.NOT_MET.value).label("ruled_out"),
        _count_if(Referral.screening == Screening.ASKED.value).label("answering"),
        *(_count_if(and_(referred, step == end.value)).label(end.value) for end in _ENDS),
        _count_if(
            and_(
                referred,
                or_(step.is_(None), step.not_in(_END_VALUES)),
                not_(still_reachable()),
            )
        ).label("left"),
    ]
    return (
        select(Invitation.study_id, *counts)
        .outerjoin(answer.table, answer.table.c.invitation_id == Invitation.invitation_id)
        .outerjoin(Referral, Referral.invitation_id == Invitation.invitation_id)
        .outerjoin(last_step, last_step.c.invitation_id == Invitation.invitation_id)
        .outerjoin(ReferralOutcome, ReferralOutcome.outcome_id == last_step.c.last)
        .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
        .where(*_sent(study_id))
        .group_by(Invitation.study_id)
    )


def _first_answers(study_id: str | None) -> Select[str, datetime | None, datetime]:
    """Per answered sent invitation: its study, when it was sent, and its first answer."""
    first = select(
        InvitationAnswer.invitation_id, func.min(InvitationAnswer.answered_at).label("at")
    ).group_by(InvitationAnswer.invitation_id)
    if study_id is not None:
        first = first.join(
            Invitation, Invitation.invitation_id == InvitationAnswer.invitation_id
        ).where(Invitation.study_id == study_id)
    answers = first.subquery("first_answer")
    return (
        select(Invitation.study_id, Invitation.sent_at, answers.c.at)
        .join(answers, answers.c.invitation_id == Invitation.invitation_id)
        .where(*_sent(study_id))
    )
