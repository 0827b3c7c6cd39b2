"""The answer page (issue 22, step 2): a volunteer follows the link in their invitation, sees
what the invitation said (never the study's title, criteria or anything on health) and answers
yes, no or stop; stop is an afmeld, at once, in every study, in the audit log. Every token
that leads nowhere gets the same neutral page; forms carry a token of their page; requests
are rate-limited per address; the review app's security headers. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from typer.testing import CliRunner

from configuration.settings import Settings, load_settings
from http_security.headers import SECURITY_HEADERS
from panelmatch.cli import app
from respond.app import create_app
from respond.errors import TooManyRequests
from respond.limits import RateLimit
from store import answers
from store.answers import STOP_REASON, Answer
from store.match_runs import contactable_profiles
from store.panel_store import PanelStore
from store.tables import IngestRun, Invitation, InvitationAnswer, Withdrawal
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.helpers import RLS, definition
from tests.test_contact_run import approve, panel_of, queue, send, volunteer
from tests.test_outreach_erasure import erase

PUBLIC_URL = "https://svar.sundhedspanelet.example"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
def linked(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PANEL_PUBLIC_URL", PUBLIC_URL)
    return load_settings()


@pytest.fixture
def tokens(store: PanelStore, linked: Settings, tmp_path: Path) -> dict[int, str]:
    """p1 to p3 invited to the RLS trial by a sent message with a link: each one's token."""
    panel_of(store, tmp_path, [1, 2, 3])
    approve(store, 1, 2, 3)
    queue(store, linked)
    assert send(store, linked).sent == 3
    with store.reading() as connection:
        by_volunteer = dict(
            connection.execute(select(Invitation.volunteer_id, Invitation.message_id)).all()
        )
    return {n: store.answer_links.token(by_volunteer[volunteer(store, n)]) for n in (1, 2, 3)}


def app_client(store: PanelStore, limit: RateLimit | None = None) -> TestClient:
    app = create_app(
        store,
        pseudonym_key=bytes.fromhex(TEST_PSEUDONYM_KEY),
        rate_limit=limit or RateLimit(burst=1000, per_minute=1000),
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def client(store: PanelStore) -> TestClient:
    return app_client(store)


def form_token(page: Response) -> str:
    """The page's form token (every form of a page carries the same one)."""
    (found,) = set(FORM_TOKEN.findall(page.text))
    return found


def answer_with(client: TestClient, token: str, answer: str) -> Response:
    page = client.get(f"/svar/{token}")
    return client.post(f"/svar/{token}", data={"answer": answer, "form_token": form_token(page)})


def history(store: PanelStore, number: int) -> list[Answer]:
    with store.reading() as connection:
        invitation_id = connection.execute(
            select(Invitation.invitation_id).where(
                Invitation.volunteer_id == volunteer(store, number)
            )
        ).scalar_one()
        return [answer for answer, _ in answers.answer_history(connection, invitation_id)]


def contactable_ids(store: PanelStore) -> set[str]:
    with store.reading() as connection:
        return set(contactable_profiles(connection)["volunteer_id"])


# --- the page ----------------------------------------------------------------------------------


def test_the_page_shows_what_the_invitation_said_and_nothing_on_health(
    store: PanelStore, tokens: dict[int, str], client: TestClient
) -> None:
    page = client.get(f"/svar/{tokens[1]}")
    assert page.status_code == 200
    assert 'lang="da"' in page.text
    text = page.text
    for shown in (
        "Aarhus Universitetshospital",
        "Et forsøg med et kosttilskud",
        "Fire besøg på Aarhus Universitetshospital over 12 uger",
        "Ja, jeg vil gerne høre mere",
        "Nej tak",
        "Kontakt mig ikke igen",
    ):
        assert shown in text
    study = definition(store, RLS)
    assert study is not None
    assert study.title not in text
    for hidden in ("G25.8", "Restless", "restless", "magnesium", "Magnesium", RLS, "IRLSSG"):
        assert hidden not in text
    assert "<script" not in text and "http" not in text.replace(PUBLIC_URL, "")


def test_no_coordinator_route_is_reachable(tokens: dict[int, str], client: TestClient) -> None:
    neutral = client.get("/svar/" + "A" * 43)
    for address in ("/", "/login", "/studies", f"/studies/{RLS}", "/healthz", "/docs"):
        response = client.get(address)
        assert (response.status_code, response.content) == (404, neutral.content)


# --- answers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["yes", "no", "stop"])
def test_each_answer_is_recorded(
    store: PanelStore, tokens: dict[int, str], client: TestClient, answer: str
) -> None:
    thanks = answer_with(client, tokens[1], answer)
    assert thanks.status_code == 200 and "Tak for dit svar" in thanks.text
    assert history(store, 1) == [Answer(answer)]
    assert history(store, 2) == []


def test_stop_withdraws_the_volunteer_at_once_in_every_study_and_is_audited(
    store: PanelStore, tokens: dict[int, str], client: TestClient
) -> None:
    p1, p2 = volunteer(store, 1), volunteer(store, 2)
    assert {p1, p2} <= contactable_ids(store)
    answer_with(client, tokens[1], "stop")
    assert p1 not in contactable_ids(store) and p2 in contactable_ids(store)
    with store.reading() as connection:
        (run,) = connection.execute(
            select(IngestRun.actor, IngestRun.message, IngestRun.status, IngestRun.ingest_id).where(
                IngestRun.file_name == answers.ANSWER_PAGE
            )
        ).all()
        withdrawal = connection.execute(
            select(Withdrawal.action, Withdrawal.volunteer_id).where(
                Withdrawal.ingest_id == run.ingest_id
            )
        ).one()
    assert (run.actor, run.message, run.status) == (f"volunteer {p1}", STOP_REASON, "accepted")
    assert tuple(withdrawal) == ("unsubscribe", p1)
    # Once stopped, the page says so and offers nothing to change.
    page = client.get(f"/svar/{tokens[1]}")
    assert "Vi kontakter dig ikke igen" in page.text and "form_token" not in page.text


def test_an_answer_can_be_changed(
    store: PanelStore, tokens: dict[int, str], client: TestClient
) -> None:
    answer_with(client, tokens[2], "yes")
    page = client.get(f"/svar/{tokens[2]}")
    assert "Du har svaret: <strong>Ja, jeg vil gerne høre mere</strong>" in page.text
    answer_with(client, tokens[2], "no")
    assert history(store, 2) == [Answer.YES, Answer.NO]
    with store.reading() as connection:
        invitation_id = connection.execute(
            select(Invitation.invitation_id).where(Invitation.volunteer_id == volunteer(store, 2))
        ).scalar_one()
        assert answers.current_answer(connection, invitation_id) is Answer.NO
    assert volunteer(store, 2) in contactable_ids(store)


def test_a_choice_that_is_none_of_the_three_records_nothing(
    store: PanelStore, tokens: dict[int, str], client: TestClient
) -> None:
    page = client.get(f"/svar/{tokens[1]}")
    refused = client.post(
        f"/svar/{tokens[1]}", data={"answer": "maybe", "form_token": form_token(page)}
    )
    assert refused.status_code == 400 and history(store, 1) == []


# --- tokens that lead nowhere -----------------------------------------------------------------


def test_every_token_that_leads_nowhere_gets_the_same_neutral_page(
    store: PanelStore, tokens: dict[int, str], client: TestClient, tmp_path: Path
) -> None:
    mangled = tokens[1][:-1] + ("A" if tokens[1][-1] != "A" else "B")
    with store.writing() as connection:  # p2's link expired
        connection.execute(
            update(Invitation)
            .where(Invitation.volunteer_id == volunteer(store, 2))
            .values(answer_expires_at=datetime(2026, 1, 1, tzinfo=UTC))
        )
    erase(store, tmp_path, 3)
    pages = [
        client.get(f"/svar/{token}")
        for token in ("A" * 43, mangled, tokens[1][:20], "%2E%2E", "x" * 500, tokens[2], tokens[3])
    ]
    assert {page.status_code for page in pages} == {404}
    assert len({page.content for page in pages}) == 1
    assert "Linket virker ikke" in pages[0].text
    # A form sent to one (with its page's form token) finds nothing either, and records nothing.
    sent = client.post(
        f"/svar/{tokens[2]}",
        data={"answer": "yes", "form_token": client.app.state.form_tokens.for_page(tokens[2])},  # type: ignore[attr-defined]
    )
    assert (sent.status_code, sent.content) == (404, pages[0].content)
    assert history(store, 2) == []


def test_erasure_deletes_the_answers(
    store: PanelStore, tokens: dict[int, str], client: TestClient, tmp_path: Path
) -> None:
    answer_with(client, tokens[1], "yes")
    answer_with(client, tokens[1], "no")
    answer_with(client, tokens[2], "yes")
    erase(store, tmp_path, 1)
    with store.reading() as connection:
        left = connection.execute(select(InvitationAnswer.invitation_id)).scalars().all()
    assert len(left) == 1 and history(store, 2) == [Answer.YES]


# --- security ---------------------------------------------------------------------------------


def test_a_form_without_its_pages_token_is_refused(
    store: PanelStore, tokens: dict[int, str], client: TestClient
) -> None:
    other = form_token(client.get(f"/svar/{tokens[2]}"))
    for data in (
        {"answer": "yes"},
        {"answer": "yes", "form_token": ""},
        {"answer": "yes", "form_token": "x" * 43},
        {"answer": "stop", "form_token": other},  # another page's
    ):
        refused = client.post(f"/svar/{tokens[1]}", data=data)
        assert refused.status_code == 403 and "ikke gemt" in refused.text
    assert history(store, 1) == []
    assert volunteer(store, 1) in contactable_ids(store)


def test_requests_are_limited_per_client_address(store: PanelStore, tokens: dict[int, str]) -> None:
    client = app_client(store, RateLimit(burst=3, per_minute=1))
    assert [client.get(f"/svar/{tokens[1]}").status_code for _ in range(3)] == [200] * 3
    refused = client.get(f"/svar/{tokens[1]}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get("/svar/" + "A" * 43).status_code == 429


def test_a_rate_limit_refills_with_time() -> None:
    clock = [0.0]
    limit = RateLimit(burst=2, per_minute=60, clock=lambda: clock[0])
    limit.take("a")
    limit.take("a")
    with pytest.raises(Exception, match="too many requests"):
        limit.take("a")
    limit.take("b")  # each address its own
    clock[0] += 1.0
    limit.take("a")


def test_every_response_carries_the_panels_security_headers(
    tokens: dict[int, str], client: TestClient
) -> None:
    page = client.get(f"/svar/{tokens[1]}")
    neutral = client.get("/svar/" + "A" * 43)
    refused = client.post(f"/svar/{tokens[1]}", data={"answer": "yes"})
    for response in (page, neutral, refused):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        assert response.headers["Cache-Control"] == "no-store"
        assert "set-cookie" not in response.headers


# --- the command ------------------------------------------------------------------------------


@pytest.mark.slow
def test_panel_respond_serves_the_page_and_a_taken_port_is_one_line(
    store: PanelStore, tokens: dict[int, str]
) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("serving is the same on both databases")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "panelmatch.cli", "respond", "--port", str(port)]
    server = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/svar/{tokens[1]}") as page:
                    assert page.status == 200 and "Nej tak" in page.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline, "the answer page did not start"
                time.sleep(0.2)
        taken = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert taken.returncode == 1 and "cannot listen on 127.0.0.1" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        server.terminate()
        # uvicorn shuts down, then re-raises the signal it caught (a single process).
        assert server.wait(30) in (0, -signal.SIGTERM)


def test_panel_status_shows_a_stop_among_the_latest_runs(
    store: PanelStore, tokens: dict[int, str], client: TestClient
) -> None:
    answer_with(client, tokens[1], "stop")
    shown = CliRunner().invoke(app, ["status"])
    assert shown.exit_code == 0, shown.output
    assert answers.ANSWER_PAGE in shown.output


@given(
    gaps=st.lists(st.floats(min_value=0, max_value=5, allow_nan=False), max_size=60),
    burst=st.integers(min_value=1, max_value=10),
    per_minute=st.integers(min_value=1, max_value=120),
)
def test_an_address_never_gets_more_than_its_burst_and_rate(
    gaps: list[float], burst: int, per_minute: int
) -> None:
    clock = [0.0]
    limit = RateLimit(burst=burst, per_minute=per_minute, clock=lambda: clock[0])
    allowed = []
    for gap in gaps:
        clock[0] += gap
        try:
            limit.take("a")
        except TooManyRequests:
            continue
        allowed.append(clock[0])
    # In any stretch of time, at most the burst plus what the rate refilled meanwhile.
    for i, start in enumerate(allowed):
        for j in range(i, len(allowed)):
            assert j - i + 1 <= burst + (allowed[j] - start) * per_minute / 60 + 1e-9
    # And a request after a full refill is always let in.
    clock[0] += burst * 60 / per_minute + 0.001
    limit.take("a")
