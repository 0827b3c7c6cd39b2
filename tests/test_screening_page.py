"""The screening questions on the answer page (issue 22, step 3) and a yes's referral: a yes
with nothing unknown at the invitation refers at once; otherwise the page asks exactly the
questions of the criteria that were unknown then, evaluates the answers with the study's own
criteria (met or still unknown refers, not met thanks without naming why), keeps them as
answers to this study only, and lets them change until the study team has taken the
referral. A no or a stop after a yes withdraws it. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update

from configuration.settings import Settings
from schemas.act import Act
from schemas.referral import Screening
from schemas.review import Action
from store import answers, decisions
from store.answer_links import find_invitation
from store.answers import Answer
from store.panel_store import PanelStore
from store.tables import (
    Candidate,
    Invitation,
    InvitationAnswer,
    Profile,
    Referral,
    ScreeningAnswer,
)
from tests.helpers import (
    NOW,
    RLS,
    STUDIES,
    ingest,
    match_and_record,
    publish,
    rls_person,
    write_signups,
)
from tests.test_contact_run import queue, send, volunteer
from tests.test_outreach_erasure import erase
from tests.test_respond_app import (
    answer_with,
    app_client,
    contactable_ids,
    form_token,
    history,
    linked,
)

__all__ = ["linked"]  # a fixture

#: The RLS trial's questions of the three exclusions unknown when diagnoses are unanswered.
KIDNEY = "Har en læge sagt, at du har kronisk nyresygdom eller nyresvigt?"
BLEEDING = "sygdom i blodets evne til at størkne"
HEART = "forstyrrelse af hjerterytmen"
#: Questions of criteria that were known: never asked.
NOT_ASKED = ("Tager du magnesium", "Er du gravid?", "pramipexol", "restless legs", "Får du en")
RULED_OUT = "Tak, du passer desværre ikke til dette projekt"
FINAL = "Projektet har allerede taget imod dit svar"
#: The position of each answer of the default options: Ja, Nej, Ved ikke.
JA, NEJ, VED_IKKE = "0", "1", "2"
RADIO = re.compile(r'<input type="radio" name="([^"]+)" id="[^"]+" value="(\d+)"')


@pytest.fixture
def invited(store: PanelStore, linked: Settings, tmp_path: Path) -> dict[int, str]:
    """The RLS trial's invitations, each one's token: p1 eligible with nothing unknown; p2
    with diagnoses unanswered (kidney disease, bleeding disorder, heart rhythm unknown); p3
    also without the urge to move the legs answered (restless legs unknown too)."""
    rows = [rls_person(1), rls_person(2, diagnoser=""), rls_person(3, diagnoser="", rls_trang="")]
    ingest(store, write_signups(tmp_path / "s.csv", rows))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    approve_unscreened(store, 1, 2, 3)
    queue(store, linked)
    assert send(store, linked).sent == 3
    with store.reading() as connection:
        by_volunteer = dict(
            connection.execute(select(Invitation.volunteer_id, Invitation.message_id)).all()
        )
    return {n: store.answer_links.token(by_volunteer[volunteer(store, n)]) for n in (1, 2, 3)}


def approve_unscreened(store: PanelStore, *numbers: int) -> None:
    """Approve, those who need screening as needing it (the RLS trial allows it)."""
    with store.writing() as connection:
        for number in numbers:
            volunteer_id = volunteer(store, number)
            version = connection.execute(
                select(Candidate.review_version).where(
                    Candidate.study_id == RLS, Candidate.volunteer_id == volunteer_id
                )
            ).scalar_one()
            decisions.decide(
                connection, RLS, volunteer_id, Action.APPROVE,
                act=Act("coordinator@example.dk", NOW), seen_version=version, unscreened=True,
            )  # fmt: skip


@pytest.fixture
def client(store: PanelStore) -> TestClient:
    return app_client(store)


def invitation_id(store: PanelStore, number: int) -> int:
    with store.reading() as connection:
        return connection.execute(
            select(Invitation.invitation_id).where(
                Invitation.volunteer_id == volunteer(store, number)
            )
        ).scalar_one()


def referral(store: PanelStore, number: int) -> tuple[str, bool] | None:
    """The volunteer's referral: its screening, and whether it reached the study team."""
    with store.reading() as connection:
        row = connection.execute(
            select(Referral.screening, Referral.referred_at).where(
                Referral.invitation_id == invitation_id(store, number)
            )
        ).first()
    return None if row is None else (row.screening, row.referred_at is not None)


def questions_on(page: Response) -> dict[str, list[str]]:
    """Each question's field on the page and its options' values."""
    found: dict[str, list[str]] = {}
    for field, value in RADIO.findall(page.text):
        found.setdefault(field, []).append(value)
    return found


def answer_questions(
    client: TestClient, token: str, answers: dict[str, str], token_of: str | None = None
) -> Response:
    page = client.get(f"/svar/{token_of or token}")
    return client.post(
        f"/svar/{token}/spoergsmaal", data={"form_token": form_token(page), **answers}
    )


def screening_rows(store: PanelStore, number: int) -> list[tuple[str, str, str]]:
    with store.reading() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(ScreeningAnswer.criterion_id, ScreeningAnswer.option, ScreeningAnswer.means)
                .where(ScreeningAnswer.invitation_id == invitation_id(store, number))
                .order_by(ScreeningAnswer.screening_answer_id)
            )
        ]


def take(store: PanelStore, number: int) -> None:
    """The study team takes the volunteer's referral."""
    with store.writing() as connection:
        connection.execute(
            update(Referral)
            .where(Referral.invitation_id == invitation_id(store, number))
            .values(taken_at=datetime(2026, 12, 1, tzinfo=UTC), taken_by="team@example.org")
        )


P2_ALL_NO = {"svar-kidney-disease": NEJ, "svar-bleeding-disorder": NEJ, "svar-heart-rhythm": NEJ}


# --- opening the page --------------------------------------------------------------------------


def test_opening_the_page_records_when_the_first_time_only(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    def opened() -> dict[str, datetime | None]:
        with store.reading() as connection:
            return dict(
                connection.execute(
                    select(Invitation.volunteer_id, Invitation.answer_opened_at)
                ).all()
            )

    assert set(opened().values()) == {None}
    client.get("/svar/" + "A" * 43)
    assert set(opened().values()) == {None}
    client.get(f"/svar/{invited[1]}")
    first = opened()[volunteer(store, 1)]
    assert first is not None
    client.get(f"/svar/{invited[1]}")
    assert opened()[volunteer(store, 1)] == first
    assert opened()[volunteer(store, 2)] is None


# --- a yes -------------------------------------------------------------------------------------


def test_a_yes_with_nothing_unknown_refers_at_once(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    thanks = answer_with(client, invited[1], "yes")
    assert thanks.status_code == 200 and "Projektet får besked" in thanks.text
    assert referral(store, 1) == (Screening.NOT_NEEDED, True)
    assert "spoergsmaal" not in client.get(f"/svar/{invited[1]}").text


def test_a_yes_asks_exactly_the_questions_of_the_criteria_unknown_at_the_invitation(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    page = answer_with(client, invited[2], "yes")
    assert page.status_code == 200
    for asked in (KIDNEY, BLEEDING, HEART):
        assert asked in page.text
    for never in NOT_ASKED:
        assert never not in page.text
    assert questions_on(page) == {
        "svar-kidney-disease": ["0", "1", "2"],
        "svar-bleeding-disorder": ["0", "1", "2"],
        "svar-heart-rhythm": ["0", "1", "2"],
    }
    assert page.text.count('<fieldset class="question') == 3 and "<legend>" in page.text
    assert all(word in page.text for word in ("Ja", "Nej", "Ved ikke"))
    # Asked, not referred until answered; the page shows the questions again until then.
    assert referral(store, 2) == (Screening.ASKED, False)
    assert questions_on(client.get(f"/svar/{invited[2]}")) == questions_on(page)
    # p3's restless legs were unknown too: its two tests' questions are asked as well.
    asked = questions_on(answer_with(client, invited[3], "yes"))
    assert list(asked) == [
        "svar-rls-diagnosed",
        "svar-irlssg-urge",
        "svar-kidney-disease",
        "svar-bleeding-disorder",
        "svar-heart-rhythm",
    ]


def test_the_questions_are_the_invitations_even_after_the_profile_changed(
    store: PanelStore, invited: dict[int, str], client: TestClient, tmp_path: Path
) -> None:
    later = rls_person(
        2,
        indsendelse_id="00000000-0000-4000-8000-000000000102",
        indsendt="20-11-2026 10:00:00",
        diagnoser="G25.8",
    )
    ingest(store, write_signups(tmp_path / "later.csv", [later]))
    match_and_record(store, RLS)  # the list now has p2 eligible, nothing to ask
    page = answer_with(client, invited[2], "yes")
    assert list(questions_on(page)) == list(P2_ALL_NO)


def test_answers_that_meet_every_unknown_criterion_refer_the_yes(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    with store.reading() as connection:
        profiles = connection.execute(select(Profile.submission_id, Profile.diagnoses)).all()
    answer_with(client, invited[2], "yes")
    thanks = answer_questions(client, invited[2], P2_ALL_NO)
    assert thanks.status_code == 200 and "Projektet får besked" in thanks.text
    assert referral(store, 2) == (Screening.MET, True)
    assert screening_rows(store, 2) == [
        ("kidney-disease", "Nej", "not_met"),
        ("bleeding-disorder", "Nej", "not_met"),
        ("heart-rhythm", "Nej", "not_met"),
    ]
    with store.reading() as connection:  # answers to this study only: the profile is as it was
        assert connection.execute(select(Profile.submission_id, Profile.diagnoses)).all() == (
            profiles
        )


def test_an_answer_that_rules_them_out_thanks_them_without_naming_why(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[2], "yes")
    thanks = answer_questions(client, invited[2], P2_ALL_NO | {"svar-kidney-disease": JA})
    assert thanks.status_code == 200 and RULED_OUT in thanks.text
    for named in ("nyre", "kidney", "Kidney", "N18", KIDNEY, "kriteri"):
        assert named not in thanks.text
    assert referral(store, 2) == (Screening.NOT_MET, False)
    page = client.get(f"/svar/{invited[2]}")
    assert RULED_OUT in page.text and "Nyre" not in page.text.replace(KIDNEY, "")


def test_a_dont_know_leaves_it_to_the_study_team(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[2], "yes")
    answer_questions(client, invited[2], P2_ALL_NO | {"svar-heart-rhythm": VED_IKKE})
    assert referral(store, 2) == (Screening.UNKNOWN, True)


def test_p3_meets_restless_legs_by_either_answer(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[3], "yes")
    no_to_both = P2_ALL_NO | {"svar-rls-diagnosed": NEJ, "svar-irlssg-urge": NEJ}
    answer_questions(client, invited[3], no_to_both)
    assert referral(store, 3) == (Screening.NOT_MET, False)
    answer_questions(client, invited[3], no_to_both | {"svar-irlssg-urge": JA})
    assert referral(store, 3) == (Screening.MET, True)


# --- what the form accepts ---------------------------------------------------------------------


def test_every_question_must_be_answered_with_one_of_its_options(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[2], "yes")
    for sent in (
        {"svar-kidney-disease": NEJ, "svar-heart-rhythm": NEJ},
        P2_ALL_NO | {"svar-bleeding-disorder": "3"},
        P2_ALL_NO | {"svar-bleeding-disorder": "²"},
        P2_ALL_NO | {"svar-bleeding-disorder": "Nej"},
    ):
        again = answer_questions(client, invited[2], sent)
        assert again.status_code == 400 and "Svar på alle spørgsmålene" in again.text
        assert 'id="svar-bleeding-disorder-missing"' in again.text
        # What was chosen stays chosen.
        assert re.search(r'id="svar-kidney-disease-1" value="1" required checked', again.text)
    assert screening_rows(store, 2) == [] and referral(store, 2) == (Screening.ASKED, False)


def test_the_questions_form_needs_its_own_pages_token(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[2], "yes")
    answer_with(client, invited[3], "yes")
    for token_of in (invited[3], invited[1]):  # another invitation's page
        refused = answer_questions(client, invited[2], P2_ALL_NO, token_of=token_of)
        assert refused.status_code == 403 and "ikke gemt" in refused.text
    refused = client.post(f"/svar/{invited[2]}/spoergsmaal", data=P2_ALL_NO)
    assert refused.status_code == 403
    assert screening_rows(store, 2) == [] and referral(store, 2) == (Screening.ASKED, False)


def test_questions_sent_without_a_yes_change_nothing(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    refused = answer_questions(client, invited[2], P2_ALL_NO)
    assert refused.status_code == 409 and "ingen spørgsmål" in refused.text
    answer_with(client, invited[2], "yes")
    answer_with(client, invited[2], "no")
    refused = answer_questions(client, invited[2], P2_ALL_NO)
    assert refused.status_code == 409
    assert screening_rows(store, 2) == [] and referral(store, 2) is None


# --- changing answers ----------------------------------------------------------------------------


def test_answers_can_be_changed_until_the_study_team_takes_the_referral(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[2], "yes")
    answer_questions(client, invited[2], P2_ALL_NO | {"svar-kidney-disease": JA})
    assert referral(store, 2) == (Screening.NOT_MET, False)
    page = client.get(f"/svar/{invited[2]}")
    assert re.search(r'id="svar-kidney-disease-0" value="0" required checked', page.text)
    answer_questions(client, invited[2], P2_ALL_NO)
    assert referral(store, 2) == (Screening.MET, True)
    assert [means for *_, means in screening_rows(store, 2)][:1] == ["met"]

    take(store, 2)
    page = client.get(f"/svar/{invited[2]}")
    assert "kan ikke længere ændres" in page.text
    assert "spoergsmaal" not in page.text and 'value="no"' not in page.text
    refused = answer_questions(client, invited[2], P2_ALL_NO | {"svar-kidney-disease": JA})
    assert refused.status_code == 409 and FINAL in refused.text
    for answer in ("no", "yes"):
        refused = client.post(
            f"/svar/{invited[2]}", data={"answer": answer, "form_token": form_token(page)}
        )
        assert refused.status_code == 409 and FINAL in refused.text
    assert referral(store, 2) == (Screening.MET, True)
    assert len(screening_rows(store, 2)) == 6 and history(store, 2) == [Answer.YES]
    # A stop is still taken: it is an afmeld. The taken referral stays, for the counts.
    answer_with(client, invited[2], "stop")
    assert history(store, 2) == [Answer.YES, Answer.STOP]
    assert volunteer(store, 2) not in contactable_ids(store)
    assert referral(store, 2) == (Screening.MET, True)


def test_a_no_or_a_stop_after_a_yes_withdraws_it(
    store: PanelStore, invited: dict[int, str], client: TestClient
) -> None:
    answer_with(client, invited[1], "yes")
    answer_with(client, invited[1], "no")
    assert referral(store, 1) is None
    answer_with(client, invited[1], "yes")
    assert referral(store, 1) == (Screening.NOT_NEEDED, True)
    answer_with(client, invited[1], "stop")
    assert referral(store, 1) is None and volunteer(store, 1) not in contactable_ids(store)

    answer_with(client, invited[2], "yes")
    answer_questions(client, invited[2], P2_ALL_NO)
    answer_with(client, invited[2], "yes")  # a yes again: changes nothing
    assert referral(store, 2) == (Screening.MET, True)
    answer_with(client, invited[2], "no")
    assert referral(store, 2) is None
    # A yes again asks again, with the earlier answers chosen.
    page = answer_with(client, invited[2], "yes")
    assert referral(store, 2) == (Screening.ASKED, False)
    assert re.search(r'id="svar-heart-rhythm-1" value="1" required checked', page.text)


# --- tokens ------------------------------------------------------------------------------------


def test_a_token_cannot_be_replayed_after_erasure(
    store: PanelStore, invited: dict[int, str], client: TestClient, tmp_path: Path
) -> None:
    page = answer_with(client, invited[2], "yes")
    kept = form_token(page)
    answer_questions(client, invited[2], P2_ALL_NO)
    theirs = invitation_id(store, 2)
    erase(store, tmp_path, 2)
    neutral = client.get("/svar/" + "A" * 43)
    replays = [
        client.get(f"/svar/{invited[2]}"),
        client.post(f"/svar/{invited[2]}", data={"answer": "no", "form_token": kept}),
        client.post(f"/svar/{invited[2]}/spoergsmaal", data={"form_token": kept, **P2_ALL_NO}),
    ]
    for replay in replays:
        assert (replay.status_code, replay.content) == (404, neutral.content)
    with store.reading() as connection:  # the erasure deleted the answers; none came since
        for answers in (InvitationAnswer, ScreeningAnswer):
            left = select(answers.invitation_id).where(answers.invitation_id == theirs)
            assert connection.execute(left).all() == []


BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(guess=st.text(alphabet=BASE64URL, min_size=43, max_size=43))
def test_a_token_cannot_be_guessed(invited: dict[int, str], client: TestClient, guess: str) -> None:
    assume(guess not in invited.values())
    neutral = client.get("/svar/" + "A" * 43)
    # Even a form carrying the guess's own form token (which only the panel can make).
    made = client.app.state.form_tokens.for_page(guess)  # type: ignore[attr-defined]
    for tried in (
        client.get(f"/svar/{guess}"),
        client.post(f"/svar/{guess}", data={"answer": "yes", "form_token": made}),
        client.post(f"/svar/{guess}/spoergsmaal", data={"form_token": made, **P2_ALL_NO}),
    ):
        assert (tried.status_code, tried.content) == (404, neutral.content)


def test_a_token_that_leads_nowhere_costs_the_queries_of_one_that_works(
    store: PanelStore, invited: dict[int, str], client: TestClient, tmp_path: Path
) -> None:
    """Whatever failed, the same statements as a working link's page (once opened: the first
    opening adds its one write, which a failing token never reaches)."""

    def statements(token: str) -> list[str]:
        seen: list[str] = []

        def record(*args: object) -> None:
            seen.append(str(args[2]))

        event.listen(store.engine, "before_cursor_execute", record)
        try:
            client.get(f"/svar/{token}")
        finally:
            event.remove(store.engine, "before_cursor_execute", record)
        return seen

    first = statements(invited[1])
    working = statements(invited[1])
    assert len(first) == len(working) + 1 and any("UPDATE" in s for s in first)
    with store.writing() as connection:  # p2's link expired
        connection.execute(
            update(Invitation)
            .where(Invitation.volunteer_id == volunteer(store, 2))
            .values(answer_expires_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    erase(store, tmp_path, 3)
    mangled = invited[1][:-1] + ("A" if invited[1][-1] != "A" else "B")
    for failing in ("A" * 43, mangled, "short", invited[2], invited[3]):
        assert statements(failing) == working, failing


def test_two_yeses_at_once_make_one_referral(store: PanelStore, invited: dict[int, str]) -> None:
    if store.engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the answer page's writes take turns")
    now = datetime.now(UTC)
    with store.reading() as connection:
        found = find_invitation(connection, invited[1], now)
    assert found is not None
    second: list[Screening | None] = []

    def yes_again() -> None:
        with store.writing() as connection:
            second.append(answers.give_answer(connection, found, Answer.YES, now))

    with store.writing() as connection:
        assert answers.give_answer(connection, found, Answer.YES, now) is Screening.NOT_NEEDED
        thread = threading.Thread(target=yes_again)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive()  # waiting for the first to finish
    thread.join(10)
    assert second == [Screening.NOT_NEEDED] and referral(store, 1) == (Screening.NOT_NEEDED, True)
    assert history(store, 1) == [Answer.YES, Answer.YES]
