"""How long the review app takes to refuse a login, per reason: the answer must not tell an
unknown e-mail from a wrong password, a disabled account or one throttled by the limits.

    python -m benchmarks.login_timing [--rounds 60] [--postgres URL]

A fresh store (SQLite in a temporary folder, or a fresh database on the PostgreSQL server
at URL) with a coordinator, a disabled user and an account throttled at one address; the
app in process (Starlette's TestClient, the whole app and its store, no network). Each round
posts the login form once per case, in turn, each from a client address of its own (so
that the limits catch only the case meant to be throttled). Prints the median, p10 and p90
of each case and its ratio to the wrong password's median; for scale, the same for the
login page itself (GET, no argon2) and for a login that succeeds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

PASSWORD = "benchmark passphrase"
COORD, DISABLED, THROTTLED = "coord@example.org", "gone@example.org", "tried@example.org"
#: The address the throttled account's failures came from.
THROTTLED_AT = "203.0.113.1"
#: A megabyte of password: refused unhashed (``schemas.review.MAX_PASSWORD_LENGTH``); Starlette
#: refuses a form field of more than 1 MiB itself (400).
HUGE = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server to measure on")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'panel.db'}"
        if options.postgres:
            url, drop = fresh_postgres_database(options.postgres)
        else:
            drop = None
        os.environ.update(
            PANEL_DATA_DIR=str(Path(folder) / "data"),
            PANEL_DATABASE_URL=url,
            PANEL_PSEUDONYM_KEY="7e" * 32,
            PANEL_ACTOR="benchmark",
        )
        try:
            measure(options.rounds, make_url(url).get_backend_name())
        finally:
            if drop:
                drop()


def fresh_postgres_database(
    server: str, prefix: str = "login_timing"
) -> tuple[str, Callable[[], None]]:
    """A new database on ``server``, named ``prefix`` and a random suffix: its URL, and what
    drops it."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(server).set(database=name).render_as_string(hide_password=False), drop


def measure(rounds: int, database: str) -> None:
    from fastapi.testclient import TestClient

    from configuration.settings import load_settings
    from review.app import create_app
    from review.passwords import hash_password
    from schemas.act import Act
    from schemas.review import FAILURES_PER_ACCOUNT_AND_ADDRESS, Role
    from store import review_users
    from store.panel_store import PanelStore
    from store.review_users import Outcome
    from store.tables import LoginAttempt

    store = PanelStore.open(load_settings().store)
    now = datetime.now(UTC)
    with store.writing() as connection:
        for email in (COORD, DISABLED, THROTTLED):
            review_users.add_user(
                connection, email, Role.COORDINATOR, hash_password(PASSWORD), Act("benchmark", now)
            )
        gone = review_users.login_account(connection, DISABLED)
        assert gone is not None
        review_users.disable(connection, gone.user_id, Act("benchmark", now))
    app = create_app(store)
    cases: dict[str, tuple[str, str]] = {
        "wrong password": (COORD, "not the password"),
        "unknown e-mail": ("nobody@example.org", PASSWORD),
        "disabled account": (DISABLED, PASSWORD),
        "throttled (account at address)": (THROTTLED, PASSWORD),
        f"password of {HUGE:,} characters": (COORD, "x" * HUGE),
        "logged in (for scale)": (COORD, PASSWORD),
    }
    times: dict[str, list[float]] = {name: [] for name in [*cases, "login page (no argon2)"]}
    for round_number in range(rounds + 1):  # the first round warms up, unmeasured
        with store.writing() as connection:
            # Each round afresh: only the throttled account's failures, at its address.
            connection.execute(delete(LoginAttempt))
            for _ in range(FAILURES_PER_ACCOUNT_AND_ADDRESS):
                review_users.record_attempt(
                    connection, THROTTLED, THROTTLED_AT, Outcome.WRONG_PASSWORD, now
                )
        for number, (name, (email, password)) in enumerate(cases.items()):
            address = THROTTLED_AT if email == THROTTLED else f"10.0.{number}.{round_number % 250}"
            client = TestClient(app, base_url="https://testserver", client=(address, 50000))
            started = time.perf_counter()
            form = client.get("/login")
            page_took = time.perf_counter() - started
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            started = time.perf_counter()
            answer = client.post(
                "/login",
                data={"email": email, "password": password, "csrf_token": token[1]},
                follow_redirects=False,
            )
            took = time.perf_counter() - started
            assert answer.status_code == (303 if name.startswith("logged in") else 401), name
            if round_number:
                times[name].append(took)
                if number == 0:
                    times["login page (no argon2)"].append(page_took)
    base = statistics.median(times["wrong password"])
    print(f"login answer times, {database}, {rounds} rounds (ms; ratio of medians)")
    print(f"{'case':<42}{'median':>8}{'p10':>8}{'p90':>8}{'ratio':>8}")
    for name, taken in times.items():
        deciles = statistics.quantiles(taken, n=10)
        median = statistics.median(taken)
        print(
            f"{name:<42}{median * 1000:>8.1f}{deciles[0] * 1000:>8.1f}"
            f"{deciles[-1] * 1000:>8.1f}{median / base:>8.2f}"
        )
    store.close()


if __name__ == "__main__":
    main()
