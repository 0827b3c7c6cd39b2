"""What waits for review per study (store, both databases), and the counts a researcher sees:
1 to 4 as "<5", the rest rounded to 5, everywhere on their pages; coordinators and admins see
exact numbers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from review.studies import rounded, suppressed
from schemas.review import Role
from store import candidate_list
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.panel_store import PanelStore
from store.review_counts import Pending, pending
from store.tables import Candidate
from tests.helpers import RLS, STUDIES, add_user, everyone, publish
from tests.review_fixtures import log_in

OTHER = "sleep-healthy"


@pytest.fixture
def reviewed(matched: PanelStore) -> PanelStore:
    """The RLS trial matched, the sleep study published only; a coordinator, a researcher
    and an admin (the ``client`` of ``tests/review_fixtures.py`` serves this one)."""
    publish(matched, STUDIES / f"{OTHER}.yaml")
    add_user(matched, "coord@example.org", Role.COORDINATOR, RLS)
    add_user(matched, "research@example.org", Role.RESEARCHER, RLS, OTHER)
    add_user(matched, "admin@example.org", Role.ADMIN)
    return matched


def set_state(store: PanelStore, volunteers: list[str], **values: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            update(Candidate)
            .where(Candidate.study_id == RLS, Candidate.volunteer_id.in_(volunteers))
            .values(**values)
        )


def decide_a_few(store: PanelStore) -> None:
    """Two eligible approved, one deferred; one needing screening rejected, one deferred and
    one no longer eligible."""
    eligible = [r.volunteer_id for r in everyone(store, status="eligible")]
    screening = [r.volunteer_id for r in everyone(store, status="needs_screening")]
    set_state(store, eligible[:2], review_state="approved")
    set_state(store, eligible[2:3], review_state="deferred")
    set_state(store, screening[:1], review_state="rejected")
    set_state(store, screening[1:2], review_state="deferred")
    set_state(store, screening[2:3], status=NO_LONGER_ELIGIBLE)


def test_pending_counts_undecided_and_deferred_candidates_still_fitting(
    matched: PanelStore,
) -> None:
    eligible = len(everyone(matched, status="eligible"))
    screening = len(everyone(matched, status="needs_screening"))
    with matched.engine.connect() as connection:
        assert pending(connection) == {RLS: Pending(eligible, screening)}
    decide_a_few(matched)
    with matched.engine.connect() as connection:
        waiting = pending(connection)
    # Deferred ones still wait; decided and no longer fitting ones do not.
    assert waiting == {RLS: Pending(eligible - 2, screening - 2)}
    assert waiting[RLS].total == eligible + screening - 4


def test_a_study_without_candidates_waits_for_nothing(reviewed: PanelStore) -> None:
    with reviewed.engine.connect() as connection:
        assert OTHER not in pending(connection)


@pytest.mark.parametrize(
    ("n", "shown"),
    [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (7, "5"), (8, "10"), (12, "10"), (1234, "1,235")],
)
def test_small_counts_are_suppressed_and_the_rest_rounded(n: int, shown: str) -> None:
    assert suppressed(n) == shown


def cells(html: str, css_class: str) -> list[str]:
    """The text of every element of ``css_class``, tags dropped."""
    pattern = rf'<(td|div|p)\b[^>]*\bclass="[^"]*\b{css_class}\b[^"]*"[^>]*>(.*?)</\1>'
    found = re.findall(pattern, html, re.S)
    return [re.sub(r"<[^>]+>|\s+", " ", text).strip() for _, text in found]


def numbers(text: str) -> list[str]:
    """Every count in ``text``: "<5" or a number (with thousands separators)."""
    return re.findall(r"<5|\d[\d,]*", text.replace("&lt;", "<"))


def protected(shown: list[str]) -> bool:
    """Each count is "<5" or a multiple of 5 (0 among them)."""
    return all(n == "<5" or int(n.replace(",", "")) % 5 == 0 for n in shown)


def counts_table(html: str) -> list[str]:
    table = re.search(r'<table class="counts">(.*?)</table>', html, re.S)
    assert table is not None
    found = re.findall(r"<td[^>]*>(.*?)</td>", table[1], re.S)
    return [re.sub(r"<[^>]+>|\s+", "", cell).replace("&lt;", "<") for cell in found]


def expected_table(store: PanelStore, show: Callable[[int], str]) -> list[str]:
    with store.engine.connect() as connection:
        counts = candidate_list.state_counts(connection, RLS)
    states = ["undecided", "approved", "rejected", "deferred"]
    rows = []
    for status in ["eligible", "needs_screening", NO_LONGER_ELIGIBLE]:
        row = [counts.get((status, state), 0) for state in states]
        rows += [*row, sum(row)]
    return [show(n) for n in rows]


def test_a_researcher_sees_small_counts_suppressed_and_the_rest_rounded(
    client: TestClient, reviewed: PanelStore
) -> None:
    decide_a_few(reviewed)
    log_in(client, "research@example.org")
    overview = client.get(f"/studies/{RLS}").text
    assert counts_table(overview) == expected_table(reviewed, suppressed)
    assert "&lt;5" in overview and "rounded to the nearest 5" in overview
    totals = re.search(r"Eligible .*? may be contacted", overview, re.S)
    assert totals is not None
    shown = [n for text in cells(overview, "funnel-numbers") for n in numbers(text)]
    shown += numbers(totals[0])
    assert shown and protected(shown), shown
    # A bar's length tells no more than its number: each is a rounded count's share.
    start = rounded(max(int(n.replace(",", "")) for n in shown if n != "<5"))
    bars = re.findall(r'width="([\d.]+)" height="10" class="(?:inclusion|exclusion)"', overview)
    assert bars and all(round(float(width) * start / 100) % 5 == 0 for width in bars), bars
    waiting = cells(client.get("/").text, "pending")
    assert len(waiting) == 2, "both studies say what waits"
    assert protected([n for text in waiting for n in numbers(text)]), waiting


@pytest.mark.parametrize("email", ["coord@example.org", "admin@example.org"])
def test_coordinators_and_admins_see_exact_counts(
    client: TestClient, reviewed: PanelStore, email: str
) -> None:
    decide_a_few(reviewed)
    log_in(client, email)
    overview = client.get(f"/studies/{RLS}").text
    assert counts_table(overview) == expected_table(reviewed, lambda n: f"{n:,}")
    assert "rounded" not in overview
    with reviewed.engine.connect() as connection:
        waiting = pending(connection)[RLS]
    studies = client.get("/").text
    row = cells(studies, "pending")[0]
    assert numbers(row) == [str(waiting.total), str(waiting.eligible), str(waiting.needs_screening)]
