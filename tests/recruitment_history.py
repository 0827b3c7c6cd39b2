"""A small, realistic recruitment history of the RLS trial, made with the store's own functions:
twelve volunteers on the list, ten approved and invited, and what each did next. The answers
and referrals are made with the functions under ``store.answers.give_answer`` (which decides
the screening from the study's questions; here it is given, to have every kind).

    p1  yes after 2 hours, nothing to ask; reached, then enrolled
    p2  yes after 1 day, the questions answered met; reached, screened, not eligible
    p3  yes after 3 days, a question still unknown; reached, and a note
    p4  no after 5 hours
    p5  stop after 10 days
    p6  yes after 1 day, then no the next day (the referral goes)
    p7  yes after 4 days, the questions ruled them out
    p8  yes after 6 hours, still answering the questions
    p9  opened the page, no answer
    p10 nothing
    p11, p12 on the list, not approved
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from configuration.settings import Settings
from schemas.act import Act
from schemas.referral import NotEligibleReason, ReferralStep, Screening
from store import referral_list, referrals
from store.answer_links import AnsweringInvitation
from store.answers import Answer, mark_opened, record_answer
from store.panel_store import PanelStore
from store.tables import Invitation
from tests.helpers import NOW, RLS
from tests.test_contact_run import approve, panel_of, queue, send, volunteer

MINUTE, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
#: Each volunteer's answers: after how long since the invitation was sent, what.
ANSWERS: dict[int, list[tuple[timedelta, Answer]]] = {
    1: [(2 * HOUR, Answer.YES)],
    2: [(DAY, Answer.YES)],
    3: [(3 * DAY, Answer.YES)],
    4: [(5 * HOUR, Answer.NO)],
    5: [(10 * DAY, Answer.STOP)],
    6: [(DAY, Answer.YES), (2 * DAY, Answer.NO)],
    7: [(4 * DAY, Answer.YES)],
    8: [(6 * HOUR, Answer.YES)],
}
#: Where each yes stands with the screening questions, in order.
SCREENING = {
    1: [Screening.NOT_NEEDED],
    2: [Screening.ASKED, Screening.MET],
    3: [Screening.ASKED, Screening.UNKNOWN],
    6: [Screening.NOT_NEEDED],
    7: [Screening.ASKED, Screening.NOT_MET],
    8: [Screening.ASKED],
}
#: The study team's steps, in order (with a reason for not eligible).
STEPS = {
    1: [ReferralStep.REACHED, ReferralStep.ENROLLED],
    2: [ReferralStep.REACHED, ReferralStep.SCREENED, ReferralStep.NOT_ELIGIBLE],
    3: [ReferralStep.REACHED, ReferralStep.NOTE],
}
OPENED_ONLY = 9


def invitation_of(store: PanelStore, number: int) -> AnsweringInvitation:
    with store.reading() as connection:
        row = connection.execute(
            select(
                Invitation.invitation_id,
                Invitation.study_id,
                Invitation.volunteer_id,
                Invitation.status,
                Invitation.sent_at,
            ).where(Invitation.volunteer_id == volunteer(store, number))
        ).one()
    return AnsweringInvitation(row[0], row[1], row[2], row[3], row[4] + 60 * DAY)


def make_history(store: PanelStore, settings: Settings, tmp_path: Path) -> None:
    panel_of(store, tmp_path, range(1, 13))
    approve(store, *range(1, 11))
    queue(store, settings)
    assert send(store, settings).sent == 10  # all at NOW
    for number, answers in ANSWERS.items():
        invitation = invitation_of(store, number)
        screenings = iter(SCREENING.get(number, []))
        for after, answer in answers:
            at = NOW + after
            with store.writing() as connection:
                mark_opened(connection, invitation.invitation_id, at - 5 * MINUTE)
                record_answer(connection, invitation, answer, at)
                if answer is Answer.YES:
                    referrals.refer(connection, invitation, next(screenings), at)
                else:
                    referrals.withdraw(connection, invitation.invitation_id)
        for later, screening in enumerate(screenings, start=1):
            with store.writing() as connection:
                referrals.screen(
                    connection, invitation.invitation_id, screening, NOW + after + later * HOUR
                )
        for later, step in enumerate(STEPS.get(number, []), start=1):
            record_step(store, invitation.invitation_id, step, NOW + 20 * DAY + later * DAY)
    with store.writing() as connection:
        mark_opened(connection, invitation_of(store, OPENED_ONLY).invitation_id, NOW + 3 * HOUR)


def record_step(store: PanelStore, invitation_id: int, step: ReferralStep, at: datetime) -> None:
    """The study team records ``step`` (taking the referral first, if nobody had)."""
    reason = NotEligibleReason.PRACTICAL if step is ReferralStep.NOT_ELIGIBLE else None
    note = "ringer igen" if step is ReferralStep.NOTE else None
    with store.writing() as connection:
        referral_list.record_step(
            connection, RLS, invitation_id, step, Act("team@example.org", at),
            reason=reason, note=note,
        )  # fmt: skip
