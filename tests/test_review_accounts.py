"""Accounts as a security reviewer expects: one answer to every refused login, limits per
client address and everywhere that no outsider can turn against a coordinator, disabled
users, revoked grants, sessions that end with a new password and after 12 hours, HSTS over
HTTPS, and every login attempt recorded."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import select

from review import passwords
from review.app import create_app
from review.auth import REFUSED
from schemas.act import Act
from schemas.review import (
    FAILURES_EVERYWHERE,
    FAILURES_PER_ACCOUNT_AND_ADDRESS,
    FAILURES_PER_ADDRESS,
    LOGIN_WINDOW_MINUTES,
    MAX_EMAIL_LENGTH,
    MAX_PASSWORD_LENGTH,
    SESSION_MAX_HOURS,
    Role,
)
from store import review_users
from store.panel_store import PanelStore
from store.review_users import Outcome
from store.tables import LoginAttempt
from tests.browser import BROWSER_TESTS, accessible, shot
from tests.helpers import PASSWORD, RLS, add_user

COORD = "coord@example.org"
ADMIN = "admin@example.org"


def client_at(store: PanelStore, address: str, *, https: bool = True) -> TestClient:
    """A browser at ``address``, on an app of its own (as each worker process is)."""
    scheme = "https" if https else "http"
    return TestClient(create_app(store), base_url=f"{scheme}://testserver", client=(address, 50000))


@pytest.fixture
def reviewed(matched: PanelStore) -> PanelStore:
    """Two coordinators of the RLS trial and an admin."""
    add_user(matched, COORD, Role.COORDINATOR, RLS)
    add_user(matched, "other@example.org", Role.COORDINATOR, RLS)
    add_user(matched, ADMIN, Role.ADMIN)
    return matched


@pytest.fixture
def office(reviewed: PanelStore) -> Iterator[TestClient]:
    with client_at(reviewed, "10.0.0.1") as client:
        yield client


def attempt(client: TestClient, email: str, password: str = PASSWORD) -> tuple[int, str]:
    """Log in through the form: the status and the page, without its fresh form token."""
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token[1], "next": "/"},
        follow_redirects=False,
    )
    return answer.status_code, re.sub(r'(name="csrf_token" value=)"[^"]+"', r"\1", answer.text)


def logged_in(client: TestClient) -> bool:
    return client.get("/", follow_redirects=False).status_code == 200


def attempts(store: PanelStore) -> list[tuple[str, str, str]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(LoginAttempt.email, LoginAttempt.client, LoginAttempt.outcome).order_by(
                LoginAttempt.attempt_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def seed_failures(store: PanelStore, count: int, client: str, at: datetime, email: str) -> None:
    with store.engine.begin() as connection:
        for _ in range(count):
            review_users.record_attempt(connection, email, client, Outcome.WRONG_PASSWORD, at)


def user_id(store: PanelStore, email: str) -> int:
    with store.engine.connect() as connection:
        found = review_users.user_by_email(connection, email)
    assert found is not None
    return found[0].user_id


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.verified += 1
        return super().verify(hash, password)


def test_every_refused_login_gets_the_same_answer_after_one_argon2(
    reviewed: PanelStore,
    office: TestClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(passwords, "_HASHER", hasher)
    with reviewed.engine.begin() as connection:
        review_users.disable(connection, user_id(reviewed, ADMIN), Act("t", datetime.now(UTC)))
    seed_failures(reviewed, FAILURES_PER_ACCOUNT_AND_ADDRESS, "10.0.0.1", datetime.now(UTC),
                  "other@example.org")  # fmt: skip
    refusals = {
        Outcome.UNKNOWN_EMAIL: ("nobody@example.org", PASSWORD),
        Outcome.WRONG_PASSWORD: (COORD, "wrong password!"),
        Outcome.DISABLED: (ADMIN, PASSWORD),
        Outcome.ACCOUNT_LIMIT: ("other@example.org", PASSWORD),
        Outcome.TOO_LONG: (COORD, "x" * (MAX_PASSWORD_LENGTH + 1)),
    }
    answers = set()
    for email, password in [*refusals.values(), ("x" * MAX_EMAIL_LENGTH + "@example.org", "y")]:
        before = hasher.verified
        answers.add(attempt(office, email, password))
        assert hasher.verified == before + 1, email[:20]
    assert len(answers) == 1
    ((status, page),) = answers
    assert status == 401 and REFUSED in page
    recorded = [outcome for _, _, outcome in attempts(reviewed)]
    assert recorded[-6:] == [*refusals, Outcome.TOO_LONG]
    assert not logged_in(office)


def test_refusals_differ_in_no_header_but_the_form_token(
    reviewed: PanelStore,
    office: TestClient,
) -> None:
    def headers(email: str, password: str) -> dict[str, str]:
        office.get("/login")
        token = office.cookies["panel_login_csrf"]
        answer = office.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        return {k: v for k, v in answer.headers.items() if k != "set-cookie"}

    assert headers("nobody@example.org", PASSWORD) == headers(COORD, "wrong password!")


def test_failures_throttle_an_account_from_that_address_only(reviewed: PanelStore) -> None:
    with client_at(reviewed, "203.0.113.9") as outsider, client_at(reviewed, "10.0.0.1") as coord:
        for _ in range(FAILURES_PER_ACCOUNT_AND_ADDRESS):
            attempt(outsider, COORD, "a guess, not it")
        assert attempt(outsider, COORD)[0] == 401 and not logged_in(outsider)
        attempt(coord, COORD)
        assert logged_in(coord)
    assert attempts(reviewed)[-2:] == [
        (COORD, "203.0.113.9", Outcome.ACCOUNT_LIMIT),
        (COORD, "10.0.0.1", Outcome.LOGGED_IN),
    ]


def test_workers_share_the_count(reviewed: PanelStore) -> None:
    """Two apps on one store, as ``panel review --workers 2`` runs two processes."""
    with client_at(reviewed, "203.0.113.9") as one, client_at(reviewed, "203.0.113.9") as two:
        for turn in range(FAILURES_PER_ACCOUNT_AND_ADDRESS):
            attempt((one, two)[turn % 2], COORD, "a guess, not it")
        attempt(two, COORD)
        attempt(one, COORD)
        assert not logged_in(one) and not logged_in(two)


def test_a_login_forgives_its_own_earlier_mistakes(
    reviewed: PanelStore,
    office: TestClient,
) -> None:
    for _ in range(2):
        for _ in range(FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
            attempt(office, COORD, "a typo, not it")
        attempt(office, COORD)
        assert logged_in(office)
        office.cookies.clear()


def test_an_address_with_many_failures_is_throttled_for_every_account(
    reviewed: PanelStore,
) -> None:
    now = datetime.now(UTC)
    for n in range(FAILURES_PER_ADDRESS):
        seed_failures(reviewed, 1, "203.0.113.9", now, f"guess{n}@example.org")
    with client_at(reviewed, "203.0.113.9") as there, client_at(reviewed, "10.0.0.1") as office:
        attempt(there, ADMIN)
        attempt(office, ADMIN)
        assert not logged_in(there) and logged_in(office)
    assert attempts(reviewed)[-2][2] == Outcome.ADDRESS_LIMIT


def test_the_limits_lift_after_their_window(reviewed: PanelStore, office: TestClient) -> None:
    earlier = datetime.now(UTC) - timedelta(minutes=LOGIN_WINDOW_MINUTES, seconds=5)
    seed_failures(reviewed, FAILURES_PER_ADDRESS, "10.0.0.1", earlier, COORD)
    attempt(office, COORD)
    assert logged_in(office)


def test_an_unlock_forgives_the_failures_so_far(reviewed: PanelStore, office: TestClient) -> None:
    seed_failures(reviewed, FAILURES_PER_ACCOUNT_AND_ADDRESS, "10.0.0.1", datetime.now(UTC), COORD)
    attempt(office, COORD)
    assert not logged_in(office)
    with reviewed.engine.begin() as connection:
        review_users.unlock(connection, user_id(reviewed, COORD), Act("admin", datetime.now(UTC)))
    attempt(office, COORD)
    assert logged_in(office)


def test_past_the_global_budget_only_known_addresses_log_in(reviewed: PanelStore) -> None:
    now = datetime.now(UTC)
    with client_at(reviewed, "10.0.0.1") as office:
        attempt(office, COORD)  # the office logged in before the attack
        with reviewed.engine.begin() as connection:
            for n in range(FAILURES_EVERYWHERE):
                review_users.record_attempt(
                    connection, COORD, f"198.51.{n // 250}.{n % 250}", Outcome.UNKNOWN_EMAIL, now
                )
        office.cookies.clear()
        with client_at(reviewed, "192.0.2.7") as elsewhere:
            attempt(elsewhere, COORD)
            assert not logged_in(elsewhere)
        attempt(office, COORD)
        assert logged_in(office)
    assert [outcome for *_, outcome in attempts(reviewed)[-2:]] == [
        Outcome.GLOBAL_LIMIT,
        Outcome.LOGGED_IN,
    ]


def test_a_disabled_user_is_logged_out_at_once_and_refused(
    reviewed: PanelStore,
    office: TestClient,
) -> None:
    attempt(office, COORD)
    assert logged_in(office)
    with reviewed.engine.begin() as connection:
        assert review_users.disable(
            connection, user_id(reviewed, COORD), Act("admin", datetime.now(UTC))
        )
    assert not logged_in(office)
    status, page = attempt(office, COORD)
    assert status == 401 and REFUSED in page
    with reviewed.engine.begin() as connection:
        assert review_users.enable(
            connection, user_id(reviewed, COORD), Act("admin", datetime.now(UTC))
        )
        changes = review_users.changes(connection, user_id(reviewed, COORD))
    assert [(c.what, c.actor) for c in changes][-2:] == [
        ("disabled", "admin"),
        ("enabled", "admin"),
    ]
    attempt(office, COORD)
    assert logged_in(office)


def test_a_revoked_grant_takes_effect_on_the_next_request(
    reviewed: PanelStore,
    office: TestClient,
) -> None:
    attempt(office, COORD)
    assert office.get(f"/studies/{RLS}").status_code == 200
    with reviewed.engine.begin() as connection:
        review_users.revoke(
            connection, user_id(reviewed, COORD), [RLS], Act("admin", datetime.now(UTC))
        )
    assert office.get(f"/studies/{RLS}").status_code == 404


def test_a_new_password_ends_every_session_of_the_user(reviewed: PanelStore) -> None:
    with client_at(reviewed, "10.0.0.1") as laptop, client_at(reviewed, "10.0.0.2") as phone:
        attempt(laptop, COORD)
        attempt(phone, COORD)
        with client_at(reviewed, "10.0.0.3") as someone_else:
            attempt(someone_else, ADMIN)
            with reviewed.engine.begin() as connection:
                review_users.change_password(
                    connection, user_id(reviewed, COORD), passwords.hash_password("a new one, long"),
                    Act("admin", datetime.now(UTC)),
                )  # fmt: skip
            assert not logged_in(laptop) and not logged_in(phone) and logged_in(someone_else)
        assert attempt(laptop, COORD)[0] == 401
        attempt(laptop, COORD, "a new one, long")
        assert logged_in(laptop)


def test_a_session_ends_after_its_lifetime_whatever_the_activity(
    reviewed: PanelStore,
    office: TestClient,
) -> None:
    now = datetime.now(UTC)
    with reviewed.engine.begin() as connection:
        token = review_users.start_session(
            connection, user_id(reviewed, COORD), now - timedelta(hours=SESSION_MAX_HOURS)
        )
        review_users.keep_alive(connection, token, now - timedelta(minutes=1))
        young = review_users.start_session(
            connection, user_id(reviewed, COORD), now - timedelta(hours=SESSION_MAX_HOURS - 1)
        )
        review_users.keep_alive(connection, young, now - timedelta(minutes=1))
    office.cookies.set("panel_session", young)
    assert logged_in(office)
    office.cookies.clear()
    office.cookies.set("panel_session", token)
    assert not logged_in(office)


def test_hsts_over_https_only(reviewed: PanelStore) -> None:
    with (
        client_at(reviewed, "10.0.0.1") as secure,
        client_at(reviewed, "10.0.0.1", https=False) as plain,
    ):
        assert secure.get("/login").headers["strict-transport-security"] == "max-age=31536000"
        assert "strict-transport-security" not in plain.get("/login").headers


def test_attempts_are_recorded_without_the_password(
    reviewed: PanelStore,
    office: TestClient,
) -> None:
    attempt(office, " Nobody@Example.org ", "the secret guess")
    attempt(office, COORD)
    assert attempts(reviewed) == [
        ("nobody@example.org", "10.0.0.1", Outcome.UNKNOWN_EMAIL),
        (COORD, "10.0.0.1", Outcome.LOGGED_IN),
    ]


def browser_test(test: Callable[..., None]) -> Callable[..., None]:
    for mark in BROWSER_TESTS:
        test = mark(test)
    return test


@browser_test
def test_a_refused_login_shows_the_generic_answer(any_page: Page, problems: list[str]) -> None:
    any_page.goto("/")
    any_page.fill("input[name=email]", COORD)
    any_page.fill("input[name=password]", "not the password")
    any_page.click("button[type=submit]")
    any_page.get_by_role("alert").wait_for()
    assert any_page.get_by_role("alert").inner_text() == REFUSED
    assert any_page.input_value("input[name=email]") == ""
    shot(any_page, "login-refused")
    accessible(any_page)
    # The browser reports the refusal's status as a console error: that one is expected.
    problems.remove(
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)"
    )
