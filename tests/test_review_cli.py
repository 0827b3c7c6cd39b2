"""`panel users ...` and `panel candidates decide`: setting up reviewers and deciding from
scripts."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelmatch import console
from panelmatch.cli import app
from review import passwords
from store import decisions, review_users
from store.panel_store import PanelStore
from tests.helpers import (
    RLS,
    STUDIES,
    everyone,
    ingest,
    match_and_record,
    publish,
    rls_person,
    write_signups,
)

PASSWORD = "a long enough passphrase"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.out, "width", 200)
    monkeypatch.setattr(console.err, "width", 200)


def panel(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_users_are_added_granted_and_listed(matched: PanelStore) -> None:
    code, said, problem = panel(
        "users", "add", "Anna@Example.dk", "--role", "coordinator", "--study", RLS,
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, problem
    assert "added anna@example.dk as coordinator, granted rls-magnesium" in said
    assert panel("users", "add", "r@example.dk", "--role", "researcher", "--password-stdin",
                 stdin=PASSWORD + "\n")[0] == 0  # fmt: skip
    assert panel("users", "grant", "r@example.dk", "--study", RLS)[0] == 0
    listed = panel("users", "list")[1]
    assert "anna@example.dk  coordinator  rls-magnesium" in listed
    assert "r@example.dk  researcher  rls-magnesium" in listed
    with matched.engine.connect() as connection:
        found = review_users.user_by_email(connection, "anna@example.dk")
    assert found is not None and found[1].startswith("$argon2id$") and PASSWORD not in found[1]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--role", "coordinator"], "short\n", "at least 12 characters"),
        (
            ["--role", "coordinator", "--study", "nope"],
            PASSWORD + "\n",
            "no published study 'nope'",
        ),
        (["--role", "boss"], PASSWORD + "\n", "boss"),
    ],
)
def test_bad_users_are_refused_with_one_line(
    matched: PanelStore, args: list[str], stdin: str, message: str
) -> None:
    code, _, problem = panel("users", "add", "x@example.dk", *args, "--password-stdin", stdin=stdin)
    assert code != 0 and message in problem
    with matched.engine.connect() as connection:
        assert review_users.user_by_email(connection, "x@example.dk") is None


def test_a_second_user_with_the_same_address_is_refused(matched: PanelStore) -> None:
    for expected in (0, 1):
        code, _, problem = panel("users", "add", "a@example.dk", "--role", "admin",
                                 "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        assert code == expected
    assert "exists already" in problem


def test_users_are_disabled_enabled_revoked_and_unlocked_by_the_actor(
    matched: PanelStore,
) -> None:
    panel("users", "add", "a@example.dk", "--role", "coordinator", "--study", RLS,
          "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    with matched.engine.begin() as connection:
        found = review_users.user_by_email(connection, "a@example.dk")
        assert found is not None
        user_id = found[0].user_id
        token = review_users.start_session(connection, user_id, datetime.now(UTC))
    assert panel("users", "disable", "A@example.dk")[:2] == (0, "a@example.dk disabled\n")
    assert panel("users", "disable", "a@example.dk")[1] == "a@example.dk was disabled already\n"
    listed = panel("users", "list")[1]
    assert re.search(
        r"a@example.dk  coordinator  rls-magnesium  DISABLED \S+ \S+ by test-steward", listed
    )
    with matched.engine.connect() as connection:
        assert review_users.find_session(connection, token) is None
    assert panel("users", "enable", "a@example.dk")[:2] == (0, "a@example.dk enabled\n")
    assert "DISABLED" not in panel("users", "list")[1]
    code, said, _ = panel("users", "revoke", "a@example.dk", "--study", RLS)
    assert code == 0 and said == "a@example.dk may now see no study\n"
    code, _, problem = panel("users", "revoke", "a@example.dk", "--study", RLS)
    assert code == 1 and problem == f"error: a@example.dk has no grant of '{RLS}' to revoke\n"
    assert panel("users", "revoke", "a@example.dk")[0] == 1
    assert panel("users", "unlock", "a@example.dk")[0] == 0
    code, _, problem = panel("users", "disable", "nobody@example.dk")
    assert code == 1 and problem.count("\n") == 1 and "no user nobody@example.dk" in problem
    with matched.engine.connect() as connection:
        changes = review_users.changes(connection, user_id)
    assert [(c.what, c.actor) for c in changes] == [
        ("added", "test-steward"),
        ("granted", "test-steward"),
        ("disabled", "test-steward"),
        ("enabled", "test-steward"),
        ("revoked", "test-steward"),
        ("unlocked", "test-steward"),
    ]


def test_a_new_password_ends_the_users_sessions(matched: PanelStore) -> None:
    panel("users", "add", "a@example.dk", "--role", "admin", "--password-stdin",
          stdin=PASSWORD + "\n")  # fmt: skip
    with matched.engine.begin() as connection:
        found = review_users.user_by_email(connection, "a@example.dk")
        assert found is not None
        token = review_users.start_session(connection, found[0].user_id, datetime.now(UTC))
    code, said, _ = panel("users", "password", "a@example.dk", "--password-stdin",
                          stdin="another long passphrase\n")  # fmt: skip
    assert code == 0 and "their sessions have ended" in said
    with matched.engine.connect() as connection:
        assert review_users.find_session(connection, token) is None
        found = review_users.user_by_email(connection, "a@example.dk")
    assert found is not None and passwords.verify(found[1], "another long passphrase")


def test_decide_by_id_and_for_all_eligible(matched: PanelStore) -> None:
    eligible = everyone(matched, status="eligible")
    first, second = eligible[0].volunteer_id, eligible[1].volunteer_id
    code, said, problem = panel("candidates", "decide", RLS, first, "reject", "--reason",
                                "moved abroad", "--actor", "anna")  # fmt: skip
    assert code == 0 and "reject: 1" in said, problem
    code, said, _ = panel("candidates", "decide", RLS, "--all-eligible", "approve")
    assert code == 0 and f"approve: {len(eligible) - 1}; skipped 1 already rejected" in said
    with matched.engine.connect() as connection:
        (rejected,) = decisions.history(connection, RLS, first)
        assert decisions.history(connection, RLS, second)[0].action == "approve"
    assert (rejected.reason, rejected.note, rejected.decided_by) == (
        "other",
        "moved abroad",
        "anna",
    )


def test_approving_who_needs_screening_takes_a_flag_of_its_own(matched: PanelStore) -> None:
    one = everyone(matched, status="needs_screening")[0].volunteer_id
    code, _, problem = panel("candidates", "decide", RLS, one, "approve")
    assert code == 1 and "needs screening on" in problem
    code, said, problem = panel("candidates", "decide", RLS, one, "approve", "--needing-screening")
    assert code == 0 and "approve: 1" in said, problem
    assert [r.review_state for r in everyone(matched) if r.volunteer_id == one] == ["approved"]


def test_deciding_wrongly_changes_nothing(store: PanelStore, tmp_path: Path) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [rls_person(1), rls_person(2)]))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    ids = [r.volunteer_id for r in everyone(store)]
    newer = rls_person(3, email="p2@example.dk", indsendt="01-06-2026 10:00:00")
    ingest(store, write_signups(tmp_path / "b.csv", [newer]))
    code, _, problem = panel("candidates", "decide", RLS, *ids, "approve")
    assert code == 1 and "nothing decided" in problem and "changed after the match" in problem
    assert {r.review_state for r in everyone(store)} == {"undecided"}
    for args, message in [
        (["nope", ids[0], "approve"], "no published study 'nope'"),
        ([RLS, ids[0]], "say what to do"),
        ([RLS, "--all-eligible", ids[0], "defer"], "not both"),
        ([RLS, ids[0], "reject"], "needs a reason"),
    ]:
        code, _, problem = panel("candidates", "decide", *args)
        assert code == 1 and message in problem, args


@pytest.mark.slow
def test_panel_review_serves_with_several_workers_and_stops_cleanly(store: PanelStore) -> None:
    """Two worker processes: the login page answers, SIGTERM to the server stops them all,
    and a port already taken is one clear line."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("serving is the same on both databases")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "panelmatch.cli", "review", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--workers", "2"], start_new_session=True, stdout=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as page:
                    assert page.status == 200 and b"csrf_token" in page.read()
                break
            except OSError:
                assert time.monotonic() < deadline, "the review app did not start"
                time.sleep(0.2)
        workers = subprocess.run(
            ["pgrep", "-f", "-P", str(server.pid), "spawn_main"],
            capture_output=True, text=True, check=False,
        ).stdout.split()  # fmt: skip
        assert len(workers) == 2, workers
        taken = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert taken.returncode == 1 and "cannot listen on 127.0.0.1" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        server.terminate()  # the parent only: it stops its workers
        assert server.wait(30) == 0
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker follows the parent
    while (left := _processes_in_group(server.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"left behind: {left}"


def _processes_in_group(group: int) -> list[str]:
    found = subprocess.run(
        ["ps", "-o", "args=", "-g", str(group)], capture_output=True, text=True, check=False
    )
    return found.stdout.splitlines()
