"""The review app in a real browser: logging in, filtering, deciding, exporting, denial.

The harness (server, Chromium, screenshots, axe-core) is ``tests/browser.py``.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

from store.panel_store import PanelStore
from tests.browser import BROWSER_TESTS, log_in, shot
from tests.helpers import RLS, everyone

pytestmark = BROWSER_TESTS


def test_log_in_filter_open_and_approve(page: Page, matched: PanelStore) -> None:
    page.goto("/")
    shot(page, "login")
    log_in(page, "coord@example.org")
    shot(page, "studies")
    page.click("text=Oral magnesium for restless legs syndrome")
    page.wait_for_selector("text=Attrition funnel")
    shot(page, "study")
    page.click("text=Work the candidate list")
    page.wait_for_selector("table.candidates")
    shot(page, "candidates")
    eligible = everyone(matched, status="eligible")
    page.select_option("select[name=status]", "eligible")
    page.wait_for_url("**status=eligible**")
    page.wait_for_function(
        f"document.querySelectorAll('table.candidates tbody tr').length === {len(eligible)}"
    )
    first = eligible[0].volunteer_id
    page.click(f"text={first}")
    page.wait_for_selector("h2:has-text('Criteria')")
    shot(page, "candidate")
    page.click("button[value=approve]")
    page.wait_for_selector("text=Saved: approved")
    assert "coord@example.org" in page.inner_text(".history")
    assert [r.review_state for r in everyone(matched) if r.volunteer_id == first] == ["approved"]


def test_bulk_approve_a_filtered_selection(page: Page, matched: PanelStore) -> None:
    log_in(page, "coord@example.org")
    page.goto(f"/studies/{RLS}/candidates?status=eligible")
    page.select_option("form.bulk select[name=action]", "approve")
    page.click("text=Review this decision")
    eligible = everyone(matched, status="eligible")
    page.click(f"text=Approve {len(eligible)} candidates")
    page.wait_for_selector(f"text=approved {len(eligible)}")
    shot(page, "bulk-approved")
    assert {r.review_state for r in everyone(matched, status="eligible")} == {"approved"}
    assert {r.review_state for r in everyone(matched, status="needs_screening")} == {"undecided"}


def test_export_the_list(page: Page, matched: PanelStore) -> None:
    log_in(page, "coord@example.org")
    page.goto(f"/studies/{RLS}/candidates")
    with page.expect_download() as download:
        page.click("text=CSV")
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    assert text.startswith("volunteer_id,status,review,to_screen")
    assert text.count("\n") == len(everyone(matched)) + 1


def test_a_study_not_granted_is_denied(page: Page, problems: list[str]) -> None:
    log_in(page, "other@example.org")
    assert RLS not in page.inner_text("main")
    response = page.goto(f"/studies/{RLS}/candidates")
    assert response is not None and response.status == 404
    assert "Not found" in page.inner_text("h1")
    problems.remove(next(p for p in problems if "404" in p))  # the denial itself, as expected
