"""What a study's next wave of invitations is sized from (``outreach.waves``): each of its
invitations with how far its answer got, who counts toward its target, and the facts its
quotas group candidates by. Pseudonymous ids and facts only; no answers' content, no health.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, exists, select

from schemas.referral import Screening
from store.referral_states import counting_referrals
from store.tables import Candidate, Invitation, InvitationAnswer, Referral


@dataclass(frozen=True)
class InvitationFacts:
    """One invitation of a study, as far as the waves need it."""

    volunteer_id: str
    status: str
    #: Its yes made a referral (referred to the study team).
    referred: bool
    #: The volunteer has answered it (any answer; the latest counts).
    answered: bool
    #: A yes whose screening questions are not all answered yet.
    answering_questions: bool
    #: Until when its answer link works (None: sent without one, or not sent yet).
    link_expires_at: datetime | None
    #: The link's hash is still kept (an erasure clears it: the link leads nowhere).
    link_alive: bool
    #: When it was sent (None: not yet).
    sent_at: datetime | None


@dataclass(frozen=True)
class GroupFacts:
    """What quotas group a candidate by, as of the match (None: not known, of no group)."""

    sex: str | None = None
    age: int | None = None
    region: str | None = None


def invitation_facts(connection: Connection, study_id: str) -> list[InvitationFacts]:
    """Every invitation of the study, in no particular order."""
    answered = exists().where(InvitationAnswer.invitation_id == Invitation.invitation_id)
    rows = connection.execute(
        select(
            Invitation.volunteer_id,
            Invitation.status,
            Referral.referred_at.is_not(None),
            answered,
            Referral.screening == Screening.ASKED.value,
            Invitation.answer_expires_at,
            Invitation.answer_token_hash.is_not(None),
            Invitation.sent_at,
        )
        .outerjoin(Referral, Referral.invitation_id == Invitation.invitation_id)
        .where(Invitation.study_id == study_id)
    )
    return [
        InvitationFacts(
            volunteer_id=volunteer_id,
            status=status,
            referred=bool(referred),
            answered=bool(was_answered),
            answering_questions=bool(asking),
            link_expires_at=expires_at,
            link_alive=bool(alive),
            sent_at=sent_at,
        )
        for volunteer_id, status, referred, was_answered, asking, expires_at, alive, sent_at in rows
    ]


def counting_volunteers(connection: Connection, study_id: str) -> list[str]:
    """The volunteers whose referral counts toward the study's target (enrolled, or
    referred and still open: ``store.referral_states``)."""
    counted = counting_referrals().subquery()
    return list(
        connection.scalars(select(counted.c.volunteer_id).where(counted.c.study_id == study_id))
    )


def group_facts(connection: Connection, study_id: str) -> dict[str, GroupFacts]:
    """Volunteer id -> sex, age and region on the study's candidate list, as of the match
    (an erased volunteer's row is gone: they are of no group)."""
    rows = connection.execute(
        select(Candidate.volunteer_id, Candidate.sex, Candidate.age, Candidate.region).where(
            Candidate.study_id == study_id
        )
    )
    return {v: GroupFacts(sex, age, region) for v, sex, age, region in rows}
