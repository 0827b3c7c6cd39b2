"""Referrals as the answer page makes them: a yes becomes a referral (``schemas.referral``),
where it stands with the screening questions moves with the answers, and a no or stop before
the study team took it removes it.

The study team's side (its list, taking a referral, the steps it records) builds on these
rows; ``store.referral_states`` says where each stands.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, literal, select, update

from schemas.referral import Screening
from store.answer_links import AnsweringInvitation
from store.tables import Referral, UTCDateTime


def refer(
    connection: Connection, invitation: AnsweringInvitation, screening: Screening, now: datetime
) -> None:
    """Record the invitation's yes, standing ``screening`` (a yes given again keeps its row
    and only moves the screening on)."""
    if screening_of(connection, invitation.invitation_id) is None:
        connection.execute(
            insert(Referral).values(
                invitation_id=invitation.invitation_id,
                study_id=invitation.study_id,
                volunteer_id=invitation.volunteer_id,
                screening=screening.value,
                referred_at=now if screening.refers else None,
            )
        )
    else:
        screen(connection, invitation.invitation_id, screening, now)


def screen(connection: Connection, invitation_id: int, screening: Screening, now: datetime) -> None:
    """Move the referral's screening on; it reaches the study team when it refers (and keeps
    the time it first did)."""
    referred_at = (
        func.coalesce(Referral.referred_at, literal(now, UTCDateTime()))
        if screening.refers
        else None
    )
    connection.execute(
        update(Referral)
        .where(Referral.invitation_id == invitation_id)
        .values(screening=screening.value, referred_at=referred_at)
    )


def withdraw(connection: Connection, invitation_id: int) -> None:
    """The yes is taken back (a no or a stop) before the study team took it: no referral."""
    connection.execute(
        delete(Referral).where(Referral.invitation_id == invitation_id, Referral.taken_at.is_(None))
    )


def screening_of(connection: Connection, invitation_id: int) -> Screening | None:
    """Where the invitation's yes stands with the questions; None without a yes."""
    found = connection.execute(
        select(Referral.screening).where(Referral.invitation_id == invitation_id)
    ).scalar_one_or_none()
    return Screening(found) if found is not None else None


def taken(connection: Connection, invitation_id: int) -> bool:
    """Whether the study team has taken the invitation's referral: its answer is final."""
    return (
        connection.execute(
            select(Referral.taken_at).where(Referral.invitation_id == invitation_id)
        ).scalar_one_or_none()
        is not None
    )
