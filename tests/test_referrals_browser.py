"""The study team's page in Debian's Chromium at a laptop's (1366 px) and a phone's (390 px)
width: the team takes a referral and records a step with the keyboard alone, every control is
reached in order with a visible focus, the page fits the window, axe-core finds no serious or
critical violation, nothing is blocked by the Content-Security-Policy and no request leaves
the machine (``tests/browser.py``); a coordinator is refused the page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from schemas.referral import NotEligibleReason, ReferralStep
from store.panel_store import PanelStore
from tests.browser import BROWSER_TESTS, WIDTHS, accessible, focus_walk, open_page, shot, start_app
from tests.helpers import PASSWORD, RLS
from tests.test_referrals_app import PAGE, team_store
from tests.test_referrals_store import invited, linked, listed

pytestmark = BROWSER_TESTS
__all__ = ["invited", "linked", "team_store"]  # fixtures


@pytest.fixture
def team_server(team_store: PanelStore) -> Iterator[str]:
    if team_store.engine.dialect.name != "sqlite":
        pytest.skip("the browser tests run on SQLite; the HTTP tests cover both databases")
    address, stop = start_app(team_store)
    yield address
    stop()


@pytest.fixture(params=list(WIDTHS))
def tab(
    request: pytest.FixtureRequest, browser: Browser, team_server: str, problems: list[str]
) -> Iterator[Page]:
    yield from open_page(browser, team_server, problems, WIDTHS[request.param])


def log_in(tab: Page, email: str) -> None:
    """With the keyboard: Tab to the e-mail, type, Tab, type the password, Enter."""
    tab.goto("/login")
    tab_to(tab, "el.name === 'email'")
    tab.keyboard.type(email)
    tab.keyboard.press("Tab")
    tab.keyboard.type(PASSWORD)
    with tab.expect_navigation():
        tab.keyboard.press("Enter")


def tab_to(tab: Page, condition: str, limit: int = 80) -> None:
    """Press Tab until the focused element ``el`` meets ``condition`` (JavaScript)."""
    for _ in range(limit):
        tab.keyboard.press("Tab")
        if tab.evaluate(f"() => {{ const el = document.activeElement; return !!({condition}); }}"):
            return
    raise AssertionError(f"Tab never reached {condition}")


def choose(tab: Page, value: str) -> None:
    """Move the focused select to ``value`` with the arrow keys."""
    for _ in range(10):
        if tab.evaluate("document.activeElement.value") == value:
            return
        tab.keyboard.press("ArrowDown")
    raise AssertionError(f"no option {value}")


def test_the_study_team_takes_a_referral_and_records_a_step_with_the_keyboard_alone(
    tab: Page, team_store: PanelStore
) -> None:
    log_in(tab, "team@example.org")
    assert tab.url.endswith(PAGE)
    assert tab.locator("h1").inner_text() == "Henvisninger"
    shot(tab, "referrals")
    accessible(tab)
    controls, reached = focus_walk(tab)
    assert reached == controls

    anna, _ = listed(team_store)
    tab.goto(PAGE)
    tab_to(tab, "el.textContent.includes('Tag henvisningen for Anna Berg')")
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert "Henvisningen er taget." in tab.locator("[role=status]").inner_text()
    accessible(tab)

    tab.goto(PAGE)
    form = f"/studies/{RLS}/referrals/{anna.invitation_id}/step"
    tab_to(tab, f"el.name === 'step' && el.form.getAttribute('action') === '{form}'")
    choose(tab, ReferralStep.NOT_ELIGIBLE.value)
    tab.keyboard.press("Tab")
    choose(tab, NotEligibleReason.PRACTICAL.value)
    tab.keyboard.press("Tab")
    tab.keyboard.type("Kan ikke komme til besøgene")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Gem trin"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert "Trinnet er gemt." in tab.locator("[role=status]").inner_text()
    shot(tab, "referrals-step")
    accessible(tab)

    anna, cecilie = listed(team_store)
    assert anna.taken_by == "team@example.org" and cecilie.taken_at is None
    assert anna.latest is not None
    assert (anna.latest.step, anna.latest.reason, anna.latest.note) == (
        ReferralStep.NOT_ELIGIBLE,
        NotEligibleReason.PRACTICAL,
        "Kan ikke komme til besøgene",
    )


def test_a_refused_step_says_why_where_it_was_typed(
    tab: Page, team_store: PanelStore, problems: list[str]
) -> None:
    log_in(tab, "team@example.org")
    anna, _ = listed(team_store)
    form = f"form[action='/studies/{RLS}/referrals/{anna.invitation_id}/step']"
    tab.select_option(f"{form} select[name=step]", ReferralStep.NOT_ELIGIBLE.value)
    tab.fill(f"{form} textarea[name=note]", "Tjek med lægen")
    with tab.expect_navigation():
        tab.click(f"{form} button[type=submit]")
    alert = tab.locator("[role=alert]")
    assert alert.inner_text().startswith("Ikke gemt: Vælg en årsag")
    assert tab.input_value(f"{form} textarea[name=note]") == "Tjek med lægen"
    accessible(tab)
    problems.remove(next(p for p in problems if "422" in p))  # the refusal itself, as expected


def test_a_coordinator_is_refused_the_names(
    tab: Page, team_store: PanelStore, problems: list[str]
) -> None:
    log_in(tab, "coord@example.org")
    response = tab.goto(PAGE)
    assert response is not None and response.status == 403
    assert "Anna" not in tab.inner_text("body")
    problems.remove(next(p for p in problems if "403" in p))  # the refusal itself, as expected
