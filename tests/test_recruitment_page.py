"""The study overview's recruitment funnel in the review app: exact counts and the answer rate
for a coordinator; rounded and suppressed counts for a researcher, with no share they could
not work out from what they see; counts only, never a volunteer. SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from configuration.settings import Settings
from review.app import create_app
from review.recruitment_view import funnel_view
from review.studies import SMALLEST_SHOWN, Counts, rounded, suppressed
from schemas.review import Role
from store.panel_store import PanelStore
from store.recruitment_funnel import RecruitmentFunnel
from tests.helpers import RLS, add_user
from tests.recruitment_history import make_history
from tests.review_fixtures import log_in
from tests.test_outreach_erasure import erase

ROW = re.compile(
    r"<tr[^>]*>\s*<th scope=\"row\"[^>]*>(?:<span aria-hidden=\"true\">· </span>)?([^<]+)</th>"
    r"\s*<td[^>]*>([^<]*)</td>\s*<td[^>]*>([^<]*)</td>"
)


@pytest.fixture
def history(store: PanelStore, settings: Settings, tmp_path: Path) -> PanelStore:
    make_history(store, settings, tmp_path)
    add_user(store, "coord@example.org", Role.COORDINATOR, RLS)
    add_user(store, "research@example.org", Role.RESEARCHER, RLS)
    return store


@pytest.fixture
def app_client(history: PanelStore) -> Iterator[TestClient]:
    with TestClient(create_app(history), base_url="https://testserver") as client:
        yield client


def recruitment(client: TestClient) -> tuple[dict[str, tuple[str, str]], str]:
    """The recruitment section's steps (label -> count, share of) and its closing sentence."""
    page = client.get(f"/studies/{RLS}")
    assert page.status_code == 200
    section = page.text.split('id="recruitment-heading"', 1)[1].split("</section>", 1)[0]
    steps = {
        html.unescape(label): (html.unescape(shown), html.unescape(of))
        for label, shown, of in ROW.findall(section)
    }
    (times,) = re.findall(r'<p class="small">([^<]*)</p>', section)
    assert "example.dk" not in page.text and "ringer igen" not in page.text
    return steps, html.unescape(times)


def test_a_coordinator_sees_every_step_exactly_with_the_answer_rate(
    app_client: TestClient,
) -> None:
    steps, times = recruitment(log_in(app_client, "coord@example.org"))
    assert steps == {
        "Matched (on the candidate list)": ("12", ""),
        "Approved": ("10", "of 12 matched"),
        "Invited (sent)": ("10", "of 10 approved"),
        "Opened the answer page": ("9", "of 10 invited"),
        "Answered": ("8", "of 10 invited (80 %)"),
        "Yes": ("5", ""),
        "No": ("2", ""),
        "Stop (no more contact)": ("1", ""),
        "No answer": ("2", ""),
        "Passed the screening questions": ("3", "of 5 yes"),
        "Ruled out by the questions": ("1", ""),
        "Still answering the questions": ("1", ""),
        "Enrolled": ("1", "of 3 passed"),
        "Not eligible at screening": ("1", ""),
        "Declined": ("0", ""),
        "Withdrawn or erased since": ("0", ""),
        "With the study team": ("1", ""),
    }
    assert times == (
        "From the invitation to a first answer: median 24.0 hours; 90 % answered within "
        "10.0 days (8 answers)."
    )


def test_a_researcher_sees_rounded_counts_no_share_of_so_few_and_times_only_from_enough_answers(
    app_client: TestClient, history: PanelStore, tmp_path: Path
) -> None:
    researcher = log_in(app_client, "research@example.org")
    steps, times = recruitment(researcher)
    assert steps["Matched (on the candidate list)"] == ("10", "")
    assert steps["Approved"] == ("10", "of 10 matched")
    assert steps["Answered"] == ("10", "of 10 invited")  # 8 of 10: no "100 %"
    assert steps["Yes"] == ("5", "")
    assert steps["No"] == ("<5", "")
    assert steps["Enrolled"] == ("<5", "of <5 passed")
    assert steps["Declined"] == ("0", "")
    assert times == (
        "From the invitation to a first answer: median 24.0 hours; 90 % answered within "
        "10.0 days (10 answers)."
    )
    erase(history, tmp_path, 1, 2, 3, 4)  # their answers go: 4 timed answers are left
    _, times = recruitment(researcher)
    assert times == "Fewer than 5 answers: too few to say how long answering takes."


def test_a_researchers_answer_rate_is_that_of_the_rounded_counts_from_100_invited() -> None:
    researcher = Counts(suppressed, rounded, protected=True)
    many = RecruitmentFunnel(RLS, invited=403, yes=90, no=28, stop=4)  # 122 answered
    (answered,) = [
        s for s in funnel_view(many, researcher, SMALLEST_SHOWN).steps if s.label == "Answered"
    ]
    assert (answered.shown, answered.of) == ("120", "of 405 invited (≈ 30 %)")
    few = RecruitmentFunnel(RLS, invited=96, yes=30)
    (answered,) = [
        s for s in funnel_view(few, researcher, SMALLEST_SHOWN).steps if s.label == "Answered"
    ]
    assert (answered.shown, answered.of) == ("30", "of 95 invited")
