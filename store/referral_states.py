"""Where each referral stands: its latest step (``schemas.referral.ReferralStep``, notes
aside), and which referrals count toward a study's recruitment target.

A referral counts while it is open (referred, no closing step yet) and the volunteer can
still be reached (neither withdrawn nor erased), and for good once enrolled: an enrolled
volunteer who later leaves the panel has still taken part.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, Select, and_, func, or_, select

from schemas.referral import ReferralStep
from store.tables import Referral, ReferralOutcome, Volunteer

_CLOSING = [step.value for step in ReferralStep if step.closes]


def latest_steps() -> Select[int, int]:
    """Per referral with a step recorded: its invitation id and its latest step's outcome id
    (notes change nothing, so they are not steps here)."""
    return (
        select(ReferralOutcome.invitation_id, func.max(ReferralOutcome.outcome_id).label("last"))
        .where(ReferralOutcome.step != ReferralStep.NOTE.value)
        .group_by(ReferralOutcome.invitation_id)
    )


def still_reachable() -> ColumnElement[bool]:
    """The referred volunteer has neither withdrawn since the referral (an ``afmeld`` or
    "Kontakt mig ikke igen") nor been erased: the study team may see and contact them."""
    return and_(
        Volunteer.erased_at.is_(None),
        or_(Volunteer.withdrawn_at.is_(None), Volunteer.withdrawn_at < Referral.referred_at),
    )


def counting_toward_target(connection: Connection) -> dict[str, int]:
    """Study id -> its referrals counting toward its recruitment target: enrolled, or
    referred and still open (studies with none are left out)."""
    counted = counting_referrals().subquery()
    per_study = select(counted.c.study_id, func.count()).group_by(counted.c.study_id)
    return {study_id: count for study_id, count in connection.execute(per_study)}


def counting_referrals() -> Select[str, str]:
    """Study id and volunteer id of each referral counting toward its study's target."""
    last = latest_steps().subquery()
    step = ReferralOutcome.step
    return (
        select(Referral.study_id, Referral.volunteer_id)
        .join(Volunteer, Volunteer.volunteer_id == Referral.volunteer_id)
        .outerjoin(last, last.c.invitation_id == Referral.invitation_id)
        .outerjoin(ReferralOutcome, ReferralOutcome.outcome_id == last.c.last)
        .where(
            Referral.referred_at.is_not(None),
            or_(
                step == ReferralStep.ENROLLED.value,
                and_(
                    or_(step.is_(None), step.not_in(_CLOSING)),
                    still_reachable(),
                ),
            ),
        )
    )
