"""The study team's page in the review app (issue 22, steps 4 and 5): the volunteers who said
yes, by name, to their study's team only; taking a referral and recording steps through
CSRF-protected forms; CSV and XLSX, formula-safe; every view and export in the access log,
one line per volunteer shown; coordinators, researchers and another study's team refused;
``panel referrals export`` and ``panel users`` with the study_team role. SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from panelmatch.cli import app as panel
from review.app import create_app
from schemas.review import Role
from store.answer_links import AnsweringInvitation
from store.panel_store import PanelStore
from store.tables import AccessLog, Referral
from tests.helpers import PASSWORD, RLS, STUDIES, add_user, publish
from tests.review_fixtures import csrf, log_in
from tests.test_contact_run import volunteer
from tests.test_referrals_store import (
    answer_question,
    invited,
    linked,
    listed,
    say_yes,
    withdraw_by_export,
)

__all__ = ["invited", "linked"]  # fixtures

OTHER = "sleep-healthy"
PAGE = f"/studies/{RLS}/referrals"


@pytest.fixture
def team_store(store: PanelStore, invited: dict[int, AnsweringInvitation]) -> PanelStore:
    """p1 and p3 said yes to the RLS trial (p2 did not answer); a study team of it and of
    the sleep study, its coordinator, researcher, and an admin."""
    publish(store, STUDIES / f"{OTHER}.yaml")
    say_yes(store, invited[1])
    say_yes(store, invited[3], at=timedelta(minutes=2))
    add_user(store, "team@example.org", Role.STUDY_TEAM, RLS)
    add_user(store, "sleepteam@example.org", Role.STUDY_TEAM, OTHER)
    add_user(store, "coord@example.org", Role.COORDINATOR, RLS)
    add_user(store, "research@example.org", Role.RESEARCHER, RLS)
    add_user(store, "admin@example.org", Role.ADMIN)
    return store


@pytest.fixture
def web(team_store: PanelStore) -> Iterator[TestClient]:
    with TestClient(create_app(team_store), base_url="https://testserver") as client:
        yield client


def logged(store: PanelStore, what: str | None = None) -> list[tuple[str, str, str | None]]:
    """The access log: (actor, what, volunteer) of each line, oldest first."""
    with store.reading() as connection:
        rows = connection.execute(
            select(AccessLog.actor, AccessLog.what, AccessLog.volunteer_id)
            .where(AccessLog.what == what if what else AccessLog.what.is_not(None))
            .order_by(AccessLog.access_id)
        ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def pseudonyms(store: PanelStore) -> list[str]:
    return [volunteer(store, n) for n in (1, 2, 3, 4)]


# --- who sees what ------------------------------------------------------------------------------


def test_the_study_team_sees_who_said_yes_by_name_and_each_view_is_logged_per_person(
    web: TestClient, team_store: PanelStore
) -> None:
    log_in(web, "team@example.org")
    page = web.get("/")  # the study team's home is its study's referrals
    assert page.status_code == 200 and str(page.url).endswith(PAGE)
    text = page.text
    for shown in ("Anna Berg", "p1@example.dk", "+4520000001", "Cecilie Eriksen", "SMS"):
        assert shown in text
    assert "Dahl" not in text and "Fisker" not in text  # no answer; not asked
    assert 'lang="da"' in text
    assert not any(pseudonym in text for pseudonym in pseudonyms(team_store))
    seen = [("team@example.org", "referral list", volunteer(team_store, n)) for n in (1, 3)]
    assert logged(team_store) == seen
    assert page.headers["Content-Security-Policy"] and page.headers["Cache-Control"] == "no-store"


def test_a_study_team_sees_nothing_else_of_the_panel(
    web: TestClient, team_store: PanelStore
) -> None:
    log_in(web, "team@example.org")
    anyone = volunteer(team_store, 1)
    for address in (
        f"/studies/{RLS}",
        f"/studies/{RLS}/candidates",
        f"/studies/{RLS}/candidates/{anyone}",
        f"/studies/{RLS}/candidates.csv",
        f"/studies/{OTHER}/referrals",
        f"/studies/{OTHER}",
    ):
        answer = web.get(address, follow_redirects=False)
        assert answer.status_code == 404, address
        assert anyone not in answer.text and "Anna" not in answer.text
    token = csrf(web, PAGE)
    decision = {"csrf_token": token, "action": "approve"}
    for address in (
        f"/studies/{RLS}/candidates/{anyone}/decision",
        f"/studies/{RLS}/candidates-bulk",
    ):
        assert web.post(address, data=decision).status_code == 404, address
    assert [r.taken_at for r in listed(team_store)] == [None, None]
    assert {what for _, what, _ in logged(team_store)} == {"denied", "referral list"}


@pytest.mark.parametrize(
    ("email", "status"),
    [
        ("coord@example.org", 403),
        ("research@example.org", 403),
        ("sleepteam@example.org", 404),
    ],
)
def test_coordinators_researchers_and_another_studys_team_are_refused_the_names(
    web: TestClient, team_store: PanelStore, email: str, status: int
) -> None:
    log_in(web, email)
    token = csrf(web, "/")  # the log-out form's: the session's own
    (anna, *_) = listed(team_store)
    for answer in (
        web.get(PAGE),
        web.get(f"{PAGE}.csv"),
        web.get(f"{PAGE}.xlsx"),
        web.post(f"{PAGE}/{anna.invitation_id}/take", data={"csrf_token": token}),
        web.post(
            f"{PAGE}/{anna.invitation_id}/step", data={"csrf_token": token, "step": "reached"}
        ),
    ):
        assert answer.status_code == status
        assert "Anna" not in answer.text and "p1@example.dk" not in answer.text
    if email != "sleepteam@example.org":
        assert web.get("/referrals").status_code == 403
    (still,) = [r for r in listed(team_store) if r.invitation_id == anna.invitation_id]
    assert still.taken_at is None and still.steps == []
    own = [] if status == 403 else [(email, "referral list", None)]  # its own, empty list
    assert [line for line in logged(team_store) if line[1] != "denied"] == own
    assert len(logged(team_store, "denied")) == 5


def test_an_admin_may_see_the_names_and_it_is_logged(
    web: TestClient, team_store: PanelStore
) -> None:
    log_in(web, "admin@example.org")
    assert "/referrals" in web.get("/referrals").text  # a list of studies, not a redirect
    page = web.get(PAGE)
    assert page.status_code == 200 and "Anna Berg" in page.text
    seen = [("admin@example.org", "referral list", volunteer(team_store, n)) for n in (1, 3)]
    assert logged(team_store) == seen
    assert web.get("/studies/no-such-study/referrals").status_code == 404


def test_a_study_team_of_two_studies_chooses_one_and_a_revoked_study_is_gone_at_once(
    web: TestClient, team_store: PanelStore
) -> None:
    runner = CliRunner()
    granted = runner.invoke(panel, ["users", "grant", "team@example.org", "--study", OTHER])
    assert granted.exit_code == 0, granted.output
    log_in(web, "team@example.org")
    home = web.get("/")
    assert str(home.url).endswith("/referrals")
    assert PAGE in home.text and f"/studies/{OTHER}/referrals" in home.text
    assert web.get(f"/studies/{OTHER}/referrals").status_code == 200
    revoked = runner.invoke(panel, ["users", "revoke", "team@example.org", "--study", RLS])
    assert revoked.exit_code == 0, revoked.output
    assert web.get(PAGE).status_code == 404
    assert str(web.get("/").url).endswith(f"/studies/{OTHER}/referrals")


def test_users_of_the_other_roles_still_see_the_overview_and_no_referral_link(
    web: TestClient,
) -> None:
    log_in(web, "coord@example.org")
    assert web.get(f"/studies/{RLS}").status_code == 200
    assert "/referrals" not in web.get("/").text


# --- taking and recording -----------------------------------------------------------------------


def test_taking_and_recording_steps_through_the_forms(
    web: TestClient, team_store: PanelStore
) -> None:
    log_in(web, "team@example.org")
    anna, _ = listed(team_store)
    token = csrf(web, PAGE)
    taken = web.post(f"{PAGE}/{anna.invitation_id}/take", data={"csrf_token": token})
    assert taken.status_code == 200 and "Henvisningen er taget." in taken.text
    assert "team@example.org" in taken.text

    step = f"{PAGE}/{anna.invitation_id}/step"
    refused = web.post(
        step, data={"csrf_token": token, "step": "not_eligible", "note": "Tjek med lægen"}
    )
    assert refused.status_code == 422
    assert "Ikke gemt: Vælg en årsag" in refused.text and "Tjek med lægen" in refused.text
    nonsense = web.post(step, data={"csrf_token": token, "step": "approved"})
    assert nonsense.status_code == 422 and "Vælg et trin fra listen." in nonsense.text
    saved = web.post(
        step,
        data={"csrf_token": token, "step": "not_eligible", "reason": "practical", "note": "Langt"},
    )
    assert saved.status_code == 200 and "Trinnet er gemt." in saved.text
    assert "Ikke egnet ved screening: Praktiske forhold" in saved.text

    anna, cecilie = listed(team_store)
    assert (anna.taken_by, cecilie.taken_at) == ("team@example.org", None)
    assert [(s.step.value, s.reason, s.note, s.recorded_by) for s in anna.steps] == [
        ("not_eligible", "practical", "Langt", "team@example.org")
    ]


def test_a_form_without_the_sessions_token_changes_nothing(
    web: TestClient, team_store: PanelStore
) -> None:
    log_in(web, "team@example.org")
    anna, _ = listed(team_store)
    for data in ({}, {"csrf_token": "forged"}):
        assert web.post(f"{PAGE}/{anna.invitation_id}/take", data=data).status_code == 403
        data_step = {**data, "step": "reached"}
        assert web.post(f"{PAGE}/{anna.invitation_id}/step", data=data_step).status_code == 403
    with team_store.reading() as connection:
        assert connection.execute(select(Referral.taken_at)).scalars().all() == [None, None]


def test_whoever_withdraws_or_is_erased_after_their_yes_leaves_the_page(
    web: TestClient, team_store: PanelStore, invited: dict[int, AnsweringInvitation], tmp_path: Path
) -> None:
    log_in(web, "team@example.org")
    token = csrf(web, PAGE)
    anna, _ = listed(team_store)
    withdraw_by_export(team_store, tmp_path, "afmeld", 1)
    withdraw_by_export(team_store, tmp_path, "slet", 3)
    page = web.get(PAGE)
    assert "Anna" not in page.text and "Cecilie" not in page.text
    assert "Ingen henvisninger endnu." in page.text
    stale = web.post(f"{PAGE}/{anna.invitation_id}/take", data={"csrf_token": token})
    assert stale.status_code == 404 and "Ingen sådan henvisning" in stale.text


# --- exports ----------------------------------------------------------------------------------


def formula_bait(store: PanelStore, invited: dict[int, AnsweringInvitation]) -> None:
    """An answer that a spreadsheet would run as a formula."""
    answer_question(store, invited[1], "takes-magnesium", '=HYPERLINK("x")', "met")


def test_the_export_is_the_same_list_formula_safe_and_logged_per_person(
    web: TestClient, team_store: PanelStore, invited: dict[int, AnsweringInvitation]
) -> None:
    formula_bait(team_store, invited)
    log_in(web, "team@example.org")
    answer = web.get(f"{PAGE}.csv")
    assert answer.status_code == 200
    assert answer.headers["Content-Disposition"] == f'attachment; filename="{RLS}-referrals.csv"'
    assert answer.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["first_name"], r["email"], r["contact_form"]) for r in rows] == [
        ("Anna", "p1@example.dk", "email"),
        ("Cecilie", "p3@example.dk", "sms"),
    ]
    assert rows[0]["answer: takes-magnesium"] == '\'=HYPERLINK("x")'
    assert rows[0]["phone"] == "'+4520000001"  # begins like a formula, too
    assert not any(p in answer.text for p in pseudonyms(team_store))

    workbook = web.get(f"{PAGE}.xlsx")
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    assert sheet is not None
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)  # no formula anywhere
    assert '\'=HYPERLINK("x")' in [c.value for c in cells]

    people = [volunteer(team_store, n) for n in (1, 3)]
    assert logged(team_store) == [
        *(("team@example.org", "referral export csv", p) for p in people),
        *(("team@example.org", "referral export xlsx", p) for p in people),
    ]


def test_panel_referrals_export_writes_a_private_file_and_the_access_log(
    team_store: PanelStore, invited: dict[int, AnsweringInvitation], tmp_path: Path
) -> None:
    formula_bait(team_store, invited)
    target = tmp_path / "referrals.xlsx"
    runner = CliRunner()
    done = runner.invoke(
        panel, ["referrals", "export", RLS, "--format", "xlsx", "--output", str(target)]
    )
    assert done.exit_code == 0, done.output
    assert f"2 referrals of {RLS} written to" in done.output
    assert "Anna" not in done.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    sheet = load_workbook(target).active
    assert sheet is not None
    names = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names == ["Anna", "Cecilie"]
    people = [volunteer(team_store, n) for n in (1, 3)]
    assert logged(team_store) == [("test-steward", "referral export xlsx", p) for p in people]

    as_csv = tmp_path / "referrals.csv"
    done = runner.invoke(
        panel, ["referrals", "export", RLS, "--output", str(as_csv), "--actor", "lise@example.org"]
    )
    assert done.exit_code == 0, done.output
    assert as_csv.read_text(encoding="utf-8-sig").count("\n") == 3
    assert logged(team_store, "referral export csv")[0][0] == "lise@example.org"


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        (["no-such-study", "--output", "{out}"], "no published study 'no-such-study'"),
        ([RLS, "--format", "pdf", "--output", "{out}"], "--format is csv or xlsx"),
        ([RLS], "say where to write it"),
        ([RLS, "--output", "{dir}"], "is a folder"),
        ([RLS, "--output", "{dir}/missing/x.csv"], "cannot write"),
    ],
)
def test_panel_referrals_export_says_what_is_wrong_in_one_line_and_logs_nothing(
    team_store: PanelStore, tmp_path: Path, arguments: list[str], said: str
) -> None:
    filled = [a.format(out=tmp_path / "x.csv", dir=tmp_path) for a in arguments]
    done = CliRunner().invoke(panel, ["referrals", "export", *filled])
    assert done.exit_code == 1
    assert said in done.output and "Traceback" not in done.output
    assert len(done.output.strip().splitlines()) == 1
    assert logged(team_store) == []


def test_panel_users_adds_a_study_team_with_its_study(team_store: PanelStore) -> None:
    runner = CliRunner()
    added = runner.invoke(
        panel,
        ["users", "add", "lise@example.org", "--role", "study_team", "--study", RLS,
         "--password-stdin"],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert f"added lise@example.org as study_team, granted {RLS}" in added.output
    listing = runner.invoke(panel, ["users", "list"])
    assert re.search(rf"lise@example.org\s+study_team\s+{RLS}", listing.output)
    granted = runner.invoke(panel, ["users", "grant", "lise@example.org", "--study", OTHER])
    assert granted.exit_code == 0 and OTHER in granted.output
