"""Waves against a real store (SQLite and PostgreSQL): every contact run reads the answers
afresh, so the next run's wave follows them: invitations awaiting an answer hold it back, no
answers and expired links make it bigger, a yes that fills the study stops it, and a quota
that is full stops invitations to its group."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from pathlib import Path

from sqlalchemy import select

from configuration.settings import Settings
from outreach.contact_rules import ContactPlan, HeldBack
from outreach.contact_run import queue_invitations
from schemas.referral import Screening
from store import answers, referrals
from store.answer_links import AnsweringInvitation, find_invitation
from store.answers import Answer
from store.panel_store import PanelStore
from store.tables import Invitation
from tests.helpers import AS_OF, NOW, RLS, ingest, rls_person, write_signups
from tests.test_contact_run import approve, panel_of, rls_variant, send, volunteer
from tests.test_respond_app import linked

__all__ = ["linked"]  # a fixture

ANSWERED_AT = NOW + timedelta(days=2)
#: The RLS trial needing a single participant, with a budget of 10 invitations.
ONE_NEEDED = (("recruitment_target: 120", "recruitment_target: 1"), ("invitation_budget: 3", "invitation_budget: 10"))  # fmt: skip


def run(
    store: PanelStore, settings: Settings, after: timedelta = timedelta(), dry_run: bool = False
) -> ContactPlan:
    """The RLS trial's contact run (queueing) ``after`` the tests' NOW."""
    (plan,) = queue_invitations(
        store, settings.outreach, [RLS], AS_OF, "test-run", NOW + after, dry_run=dry_run
    )
    return plan


def counts(plan: ContactPlan) -> dict[str, int]:
    return {rule: n for rule, n in plan.counts().items() if n}


def answering(store: PanelStore, number: int) -> AnsweringInvitation:
    """Volunteer ``number``'s invitation as the answer page finds it from their link."""
    with store.reading() as connection:
        message_id = connection.execute(
            select(Invitation.message_id).where(Invitation.volunteer_id == volunteer(store, number))
        ).scalar_one()
        found = find_invitation(connection, store.answer_links.token(message_id), ANSWERED_AT)
    assert found is not None
    return found


def answer(store: PanelStore, number: int, said: Answer) -> None:
    """An answer as the answer page records it: a yes becomes a referral."""
    invitation = answering(store, number)
    with store.engine.begin() as connection:
        answers.record_answer(connection, invitation, said, ANSWERED_AT)
        if said is Answer.YES:
            referrals.refer(connection, invitation, Screening.NOT_NEEDED, ANSWERED_AT)


def invited(store: PanelStore) -> set[str]:
    with store.engine.connect() as connection:
        return set(connection.scalars(select(Invitation.volunteer_id)))


def test_the_next_wave_follows_the_answers(
    store: PanelStore, linked: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 13))
    rls_variant(store, tmp_path, *ONE_NEEDED)
    approve(store, *range(1, 13))

    # No answers yet: the prior's 15 % needs ceil(1 / 0.15) = 7 invitations for one yes.
    first = run(store, linked)
    assert counts(first) == {"invite": 7, HeldBack.WAVE_FULL.value: 5}
    assert first.wave is not None and first.wave.size == 7
    assert send(store, linked).sent == 7

    # Seven links out and unanswered: they are the wave; nothing more goes out.
    waiting = run(store, linked, dry_run=True)
    assert counts(waiting) == {HeldBack.ALREADY_INVITED.value: 7, HeldBack.WAVE_FULL.value: 5}
    assert waiting.wave is not None and waiting.wave.awaiting == 7

    # Five say no: the rate falls to 3 / 25, so ceil(25 / 3) = 9 are needed, 2 still wait:
    # 7 more, cut to the 3 left of the budget of 10.
    numbers = {volunteer(store, n): n for n in range(1, 13)}
    first_wave = sorted(numbers[v] for v in first.invite)
    for number in first_wave[:5]:
        answer(store, number, Answer.NO)
    after_noes = run(store, linked, dry_run=True)
    assert after_noes.wave is not None
    assert (after_noes.wave.rate, after_noes.wave.awaiting) == (Fraction(3, 25), 2)
    assert counts(after_noes) == {
        "invite": 3,
        HeldBack.ALREADY_INVITED.value: 7,
        HeldBack.BUDGET_SPENT.value: 2,
    }

    # Three weeks without an answer, those two have had their chance too (and once their
    # links expire, still); a day before, they were still awaited.
    for days, awaiting, rate in (
        (20, 2, Fraction(3, 25)),
        (21, 0, Fraction(3, 27)),
        (61, 0, Fraction(3, 27)),
    ):
        later = run(store, linked, after=timedelta(days=days), dry_run=True)
        assert later.wave is not None and (later.wave.awaiting, later.wave.rate) == (awaiting, rate)

    # One yes fills the study: nobody else is invited, and the plan says why.
    answer(store, first_wave[5], Answer.YES)
    full = run(store, linked)
    assert counts(full) == {HeldBack.ALREADY_INVITED.value: 7, HeldBack.STUDY_FULL.value: 5}
    assert full.wave is not None and full.wave.full
    assert len(invited(store)) == 7


def test_a_full_quota_sends_no_more_invitations_to_its_group(
    store: PanelStore, linked: Settings, tmp_path: Path
) -> None:
    women = [rls_person(n, koen="Kvinde", gravid="Nej") for n in range(1, 7)]
    men = [rls_person(n) for n in range(7, 13)]
    ingest(store, write_signups(tmp_path / "signups.csv", [*women, *men]))
    rls_variant(
        store,
        tmp_path,
        ("recruitment_target: 120", "recruitment_target: 3"),
        ("exclusion:", "quotas:\n  - {by: sex, value: female, at_most: 1}\nexclusion:"),
    )
    approve(store, 1, 7, 8)
    run(store, linked)
    assert send(store, linked).sent == 3
    answer(store, 1, Answer.YES)  # the one woman the quota allows

    approve(store, *range(2, 7), *range(9, 13))
    plan = run(store, linked)
    ids = {n: volunteer(store, n) for n in range(1, 13)}
    assert sorted(plan.held_back[HeldBack.QUOTA_FULL]) == sorted(ids[n] for n in range(2, 7))
    assert sorted(plan.invite) == sorted(ids[n] for n in range(9, 13))
