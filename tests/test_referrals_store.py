"""The study team's list of referrals (issue 22, steps 4 and 5): who said yes to a study, by
name, with their contact details, preferred form of contact, answer time and screening
answers; taking a referral; the steps recorded after it. An afmeld, a stop on the answer page
or an erasure after the yes takes the person off the list, done through the store's own
functions. SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from configuration.settings import Settings
from schemas.act import Act
from schemas.referral import NotEligibleReason, ReferralStep, Screening
from store import answers, referral_list, referrals
from store.answer_links import AnsweringInvitation, find_invitation
from store.answers import Answer, AnswerIsFinal
from store.errors import StoreError
from store.panel_store import PanelStore
from store.referral_list import ListedReferral, NoSuchReferral, StepRefused
from store.referral_states import counting_toward_target
from store.tables import AccessLog, Invitation, Referral, ReferralOutcome, ScreeningAnswer
from tests.helpers import (
    NOW,
    RLS,
    STUDIES,
    ingest,
    match_and_record,
    publish,
    rls_person,
    write_signups,
    write_withdrawals,
)
from tests.test_contact_run import approve, queue, send, volunteer
from tests.test_respond_app import linked

__all__ = ["linked"]  # a fixture

#: Who each invited volunteer is (p3 prefers SMS; p4 says yes but has questions to answer).
PEOPLE = {
    1: {"fornavn": "Anna", "efternavn": "Berg", "telefon": "+45 20 00 00 01"},
    2: {"fornavn": "Bo", "efternavn": "Dahl", "telefon": ""},
    3: {"fornavn": "Cecilie", "efternavn": "Eriksen", "kontaktform": "sms"},
    4: {"fornavn": "Dorte", "efternavn": "Fisker"},
}
YES_AT = NOW + timedelta(days=1)
TEAM = Act("team@example.org", NOW + timedelta(days=2))
#: After every yes: as a withdrawals export dates it.
AFTER_THE_YES = "01-12-2026 10:00:00"


@pytest.fixture
def invited(store: PanelStore, linked: Settings, tmp_path: Path) -> dict[int, AnsweringInvitation]:
    """p1 to p4 invited to the RLS trial by a sent message with an answer link: each one's
    invitation as the answer page finds it from the link."""
    people = [rls_person(n, **cells) for n, cells in PEOPLE.items()]
    ingest(store, write_signups(tmp_path / "signups.csv", people))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    approve(store, *PEOPLE)
    queue(store, linked)
    assert send(store, linked).sent == len(PEOPLE)
    found = {}
    with store.reading() as connection:
        for n in PEOPLE:
            message_id = connection.execute(
                select(Invitation.message_id).where(Invitation.volunteer_id == volunteer(store, n))
            ).scalar_one()
            invitation = find_invitation(connection, store.answer_links.token(message_id), YES_AT)
            assert invitation is not None
            found[n] = invitation
    return found


def say_yes(
    store: PanelStore,
    invitation: AnsweringInvitation,
    screening: Screening = Screening.NOT_NEEDED,
    at: timedelta = timedelta(),
) -> None:
    """A yes on the answer page, as it records one: the answer, then the referral."""
    with store.engine.begin() as connection:
        answers.record_answer(connection, invitation, Answer.YES, YES_AT + at)
        referrals.refer(connection, invitation, screening, YES_AT + at)


def answer_question(
    store: PanelStore, invitation: AnsweringInvitation, criterion: str, option: str, means: str
) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            insert(ScreeningAnswer).values(
                invitation_id=invitation.invitation_id, criterion_id=criterion, option=option,
                means=means, answered_at=YES_AT,
            )
        )  # fmt: skip


def listed(store: PanelStore, study_id: str = RLS) -> list[ListedReferral]:
    with store.reading() as connection:
        return referral_list.referral_list(connection, study_id)


def names(store: PanelStore) -> list[str]:
    return [r.first_name for r in listed(store)]


def withdraw_by_export(store: PanelStore, tmp_path: Path, action: str, *numbers: int) -> None:
    """An afmeld or slet of these volunteers in a withdrawals export, after their yes."""
    rows = [(f"p{n}@example.dk", AFTER_THE_YES, action) for n in numbers]
    ingest(store, write_withdrawals(tmp_path / f"{action}-{numbers}.csv", rows))


def take(store: PanelStore, invitation: AnsweringInvitation, act: Act = TEAM) -> bool:
    with store.engine.begin() as connection:
        return referral_list.take(connection, RLS, invitation.invitation_id, act)


def record(
    store: PanelStore,
    invitation: AnsweringInvitation,
    step: ReferralStep,
    reason: NotEligibleReason | None = None,
    note: str | None = None,
    study_id: str = RLS,
) -> None:
    with store.engine.begin() as connection:
        referral_list.record_step(
            connection, study_id, invitation.invitation_id, step, TEAM, reason=reason, note=note
        )


# --- the list ---------------------------------------------------------------------------------


def test_the_list_holds_who_said_yes_by_name_with_how_to_reach_them_and_their_answers(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    say_yes(store, invited[1])
    say_yes(store, invited[2], Screening.ASKED, at=timedelta(minutes=1))
    answer_question(store, invited[2], "dopaminergic-treatment", "Ja", "unknown")
    answer_question(store, invited[2], "takes-magnesium", "Nej", "met")
    answer_question(store, invited[2], "dopaminergic-treatment", "Ved ikke", "unknown")  # changed
    say_yes(store, invited[2], Screening.UNKNOWN, at=timedelta(minutes=5))
    say_yes(store, invited[3], at=timedelta(minutes=3))
    say_yes(store, invited[4], Screening.ASKED)  # questions not all answered: not yet

    found = listed(store)
    assert [r.first_name for r in found] == ["Anna", "Cecilie", "Bo"]  # as they reached the team
    anna, cecilie, bo = found
    assert (anna.last_name, anna.email, anna.phone) == ("Berg", "p1@example.dk", "+4520000001")
    assert anna.contact_form == "email" and cecilie.contact_form == "sms"
    assert bo.phone is None
    assert anna.answered_at == anna.referred_at == YES_AT
    assert bo.answered_at == YES_AT + timedelta(minutes=5)
    assert (bo.referred_at, bo.screening) == (YES_AT + timedelta(minutes=5), Screening.UNKNOWN)
    assert [(a.criterion_id, a.option) for a in bo.answers] == [
        ("dopaminergic-treatment", "Ved ikke"),
        ("takes-magnesium", "Nej"),
    ]
    assert anna.answers == [] and anna.steps == [] and anna.latest is None
    assert (anna.taken_at, anna.taken_by) == (None, None)
    assert listed(store, "sleep-healthy") == []


def test_a_no_before_the_team_took_it_leaves_no_referral(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    say_yes(store, invited[1])
    with store.engine.begin() as connection:
        answers.record_answer(connection, invited[1], Answer.NO, YES_AT + timedelta(hours=1))
        referrals.withdraw(connection, invited[1].invitation_id)
    assert listed(store) == []


@pytest.mark.parametrize("taken", [False, True])
def test_an_afmeld_after_the_yes_takes_them_off_the_list_taken_or_not(
    store: PanelStore, invited: dict[int, AnsweringInvitation], tmp_path: Path, taken: bool
) -> None:
    say_yes(store, invited[1])
    say_yes(store, invited[2])
    if taken:
        assert take(store, invited[1])
    withdraw_by_export(store, tmp_path, "afmeld", 1)
    assert names(store) == ["Bo"]
    with store.engine.begin() as connection, pytest.raises(NoSuchReferral):
        referral_list.take(connection, RLS, invited[1].invitation_id, TEAM)
    # The referral is kept, pseudonymous, for the counts; it no longer counts toward the target.
    with store.reading() as connection:
        kept = connection.execute(select(Referral.invitation_id)).scalars().all()
        assert sorted(kept) == sorted([invited[1].invitation_id, invited[2].invitation_id])
        assert counting_toward_target(connection) == {RLS: 1}


def test_a_stop_on_the_answer_page_after_the_team_took_it_takes_them_off_the_list(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    say_yes(store, invited[1])
    assert take(store, invited[1])
    with store.engine.begin() as connection:
        answers.record_answer(connection, invited[1], Answer.STOP, YES_AT + timedelta(hours=1))
        referrals.withdraw(connection, invited[1].invitation_id)  # taken: kept
        assert referrals.taken(connection, invited[1].invitation_id)
    assert listed(store) == []


def test_an_erasure_after_the_yes_takes_them_off_the_list_and_their_notes_go(
    store: PanelStore, invited: dict[int, AnsweringInvitation], tmp_path: Path
) -> None:
    say_yes(store, invited[1])
    say_yes(store, invited[2])
    answer_question(store, invited[1], "takes-magnesium", "Nej", "met")
    record(store, invited[1], ReferralStep.REACHED, note="Ringes op igen fredag")
    withdraw_by_export(store, tmp_path, "slet", 1)
    assert names(store) == ["Bo"]
    with store.reading() as connection:
        steps = connection.execute(select(ReferralOutcome.step, ReferralOutcome.note)).all()
        screening_answers = connection.execute(select(ScreeningAnswer.option)).all()
    assert [tuple(s) for s in steps] == [("reached", None)] and screening_answers == []


# --- taking and recording ------------------------------------------------------------------


def test_taking_makes_the_answer_final_and_the_first_taker_stays(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    say_yes(store, invited[1])
    assert take(store, invited[1])
    assert not take(store, invited[1], Act("someone-else@example.org", NOW + timedelta(days=3)))
    with store.engine.begin() as connection:
        assert referrals.taken(connection, invited[1].invitation_id)
        referrals.withdraw(connection, invited[1].invitation_id)  # a no now changes nothing
    (anna,) = listed(store)
    assert (anna.taken_at, anna.taken_by) == (TEAM.at, TEAM.who)


def test_a_take_and_a_change_of_answer_happen_one_after_the_other(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    """A no being given holds the take until it is in (nothing left to take); a take being
    made holds the answer page until it is in (the answer is final)."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer at a time in anyway")
    say_yes(store, invited[1])
    say_yes(store, invited[2], at=timedelta(minutes=1))
    later = YES_AT + timedelta(hours=1)

    def in_the_meantime(act: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
        happened: list[object] = []

        def run() -> None:
            try:
                happened.append(act())
            except StoreError as error:
                happened.append(type(error))

        thread = threading.Thread(target=run)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "it did not wait"
        return thread, happened

    with store.engine.connect() as answering:
        answers.give_answer(answering, invited[1], Answer.NO, later)
        thread, happened = in_the_meantime(lambda: take(store, invited[1]))
        answering.commit()
    thread.join(10)
    assert happened == [NoSuchReferral]

    with store.engine.connect() as team:
        assert referral_list.take(team, RLS, invited[2].invitation_id, TEAM)

        def change_of_mind() -> object:
            with store.engine.begin() as connection:
                return answers.give_answer(connection, invited[2], Answer.NO, later)

        thread, happened = in_the_meantime(change_of_mind)
        team.commit()
    thread.join(10)
    assert happened == [AnswerIsFinal]
    assert names(store) == ["Bo"]
    with store.reading() as connection:
        assert answers.current_answer(connection, invited[2].invitation_id) is Answer.YES


def test_steps_are_kept_in_order_with_who_and_when_and_the_latest_that_is_not_a_note_counts(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    say_yes(store, invited[1])
    say_yes(store, invited[2], at=timedelta(minutes=1))
    record(store, invited[1], ReferralStep.REACHED)  # takes it, too
    record(store, invited[1], ReferralStep.NOTE, note="Vil helst ringes op om aftenen")
    record(store, invited[2], ReferralStep.REACHED)
    record(store, invited[2], ReferralStep.NOT_ELIGIBLE, NotEligibleReason.PRACTICAL, "Bor langt")

    anna, bo = listed(store)
    assert [s.step for s in anna.steps] == [ReferralStep.REACHED, ReferralStep.NOTE]
    assert anna.latest is not None and anna.latest.step is ReferralStep.REACHED
    assert (anna.taken_by, anna.steps[0].recorded_by, anna.steps[0].recorded_at) == (
        TEAM.who,
        TEAM.who,
        TEAM.at,
    )
    assert anna.steps[1].note == "Vil helst ringes op om aftenen"
    assert bo.latest is not None
    assert (bo.latest.step, bo.latest.reason, bo.latest.note) == (
        ReferralStep.NOT_ELIGIBLE,
        NotEligibleReason.PRACTICAL,
        "Bor langt",
    )
    with store.reading() as connection:
        assert counting_toward_target(connection) == {RLS: 1}  # Bo's referral is closed
    record(store, invited[2], ReferralStep.ENROLLED)  # a correction: the latest counts
    with store.reading() as connection:
        assert counting_toward_target(connection) == {RLS: 2}


@pytest.mark.parametrize(
    ("step", "reason", "note", "why"),
    [
        (ReferralStep.NOT_ELIGIBLE, None, None, "needs a reason"),
        (ReferralStep.REACHED, NotEligibleReason.OTHER, None, "only not eligible"),
        (ReferralStep.NOTE, None, "   ", "needs its text"),
        (ReferralStep.NOTE, None, "x" * 2001, "at most 2000"),
    ],
)
def test_a_step_that_cannot_be_recorded_as_given_is_refused_and_nothing_is_kept(
    store: PanelStore,
    invited: dict[int, AnsweringInvitation],
    step: ReferralStep,
    reason: NotEligibleReason | None,
    note: str | None,
    why: str,
) -> None:
    say_yes(store, invited[1])
    with pytest.raises(StepRefused, match=why):
        record(store, invited[1], step, reason, note)
    (anna,) = listed(store)
    assert anna.steps == [] and anna.taken_at is None


def test_a_referral_not_on_the_studys_list_cannot_be_taken_or_recorded(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    say_yes(store, invited[1])
    say_yes(store, invited[4], Screening.ASKED)
    say_yes(store, invited[3], Screening.NOT_MET)
    with pytest.raises(NoSuchReferral):
        record(store, invited[1], ReferralStep.REACHED, study_id="sleep-healthy")
    for n in (2, 3, 4):  # no yes; questions not answered; ruled out by the answers
        with pytest.raises(NoSuchReferral):
            take(store, invited[n])
    with store.reading() as connection:
        assert connection.execute(select(ReferralOutcome.outcome_id)).all() == []
        taken = connection.execute(select(Referral.taken_at).where(Referral.taken_at.is_not(None)))
        assert taken.all() == []


def test_whoever_is_shown_the_list_is_in_the_access_log_one_line_per_volunteer(
    store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    with store.engine.begin() as connection:
        referral_list.log_shown(connection, TEAM, RLS, "referral list", listed(store))
    say_yes(store, invited[1])
    say_yes(store, invited[3], at=timedelta(minutes=1))
    with store.engine.begin() as connection:
        referral_list.log_shown(connection, TEAM, RLS, "referral list", listed(store))
        logged = connection.execute(
            select(AccessLog.actor, AccessLog.study_id, AccessLog.what, AccessLog.volunteer_id)
            .order_by(AccessLog.access_id)
        ).all()  # fmt: skip
    seen = [(TEAM.who, RLS, "referral list", volunteer(store, n)) for n in (1, 3)]
    assert [tuple(row) for row in logged] == [(TEAM.who, RLS, "referral list", None), *seen]
