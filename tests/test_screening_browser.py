"""The screening questions in Debian's Chromium at a laptop's (1366 px) and a phone's (390 px)
width: a volunteer says yes and answers the questions with the keyboard alone (Tab to a
question, an arrow key to an answer, Tab to the button, Enter), every page fits the window,
axe-core finds no serious or critical violation, and focus is visible throughout."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from schemas.referral import Screening
from store.panel_store import PanelStore
from tests.browser import BROWSER_TESTS, WIDTHS, accessible, focus_walk, open_page, shot
from tests.test_respond_browser import answer_server
from tests.test_screening_page import RULED_OUT, invited, linked, referral

pytestmark = BROWSER_TESTS
__all__ = ["answer_server", "invited", "linked"]  # fixtures

QUESTIONS = ["radio:svar-kidney-disease", "radio:svar-bleeding-disorder", "radio:svar-heart-rhythm"]


@pytest.fixture(params=list(WIDTHS))
def tab(
    request: pytest.FixtureRequest, browser: Browser, answer_server: str, problems: list[str]
) -> Iterator[Page]:
    yield from open_page(browser, answer_server, problems, WIDTHS[request.param])


def answer_each(tab: Page, presses: list[str]) -> None:
    """From the top of the page, Tab to each question in turn and press its arrow keys."""
    for keys in presses:
        tab.keyboard.press("Tab")
        assert tab.evaluate("document.activeElement.type") == "radio"
        for key in keys.split():
            tab.keyboard.press(key)


def test_a_volunteer_answers_the_questions_with_the_keyboard_alone(
    tab: Page, store: PanelStore, invited: dict[int, str]
) -> None:
    # Yes: Tab to the first choice, Enter; the questions come.
    tab.goto(f"/svar/{invited[2]}")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.value") == "yes"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.locator("h2#questions").inner_text().startswith("Et par spørgsmål")
    assert tab.locator("fieldset.question legend").count() == 3
    shot(tab, "respond-questions")
    accessible(tab)
    controls, reached = focus_walk(tab)
    # Each question one stop (its radio group), then the button, then the three answers.
    assert reached == controls and controls[:3] == QUESTIONS and len(controls) == 7
    assert referral(store, 2) == (Screening.ASKED, False)

    # Nej, Nej, Ja: the first answer is Ja, ArrowDown moves to Nej; Space chooses Ja.
    tab.goto(f"/svar/{invited[2]}")
    answer_each(tab, ["ArrowDown", "ArrowDown", "Space"])
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Send svarene"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert RULED_OUT in tab.locator("main").inner_text()
    shot(tab, "respond-questions-ruled-out")
    accessible(tab)
    assert referral(store, 2) == (Screening.NOT_MET, False)

    # Changed: the page shows the answers chosen; the third moved up to Nej.
    tab.goto(f"/svar/{invited[2]}")
    assert tab.locator("#svar-heart-rhythm-0").is_checked()
    shot(tab, "respond-questions-change")
    accessible(tab)
    answer_each(tab, ["", "", "ArrowDown"])
    tab.keyboard.press("Tab")
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.locator("h1").inner_text() == "Tak for dit svar"
    accessible(tab)
    assert referral(store, 2) == (Screening.MET, True)
