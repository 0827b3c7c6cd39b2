"""The answer page in Debian's Chromium at a laptop's (1366 px) and a phone's (390 px) width:
a volunteer answers with the keyboard only (Tab to a choice, Enter), every page fits the
window, axe-core finds no serious or critical violation, focus is visible, nothing blocked
by the Content-Security-Policy and no request leaves the machine (``tests/browser.py``)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page

from configuration.settings import Settings
from respond.app import create_app
from respond.limits import RateLimit
from store.answers import Answer
from store.panel_store import PanelStore
from tests.browser import BROWSER_TESTS, WIDTHS, accessible, focus_walk, open_page, shot
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.test_respond_app import history, linked, tokens

pytestmark = BROWSER_TESTS
__all__ = ["linked", "tokens"]  # fixtures


@pytest.fixture
def answer_server(store: PanelStore) -> Iterator[str]:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the browser test runs on SQLite; the HTTP tests cover both databases")
    app = create_app(
        store,
        pseudonym_key=bytes.fromhex(TEST_PSEUDONYM_KEY),
        rate_limit=RateLimit(burst=1000, per_minute=1000),
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the answer page did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(params=list(WIDTHS))
def tab(
    request: pytest.FixtureRequest, browser: Browser, answer_server: str, problems: list[str]
) -> Iterator[Page]:
    yield from open_page(browser, answer_server, problems, WIDTHS[request.param])


def test_a_volunteer_answers_with_the_keyboard_alone(
    tab: Page,
    store: PanelStore,
    tokens: dict[int, str],
    linked: Settings,
    tmp_path: Path,
    problems: list[str],
) -> None:
    tab.goto(f"/svar/{tokens[1]}")
    shot(tab, "respond-page")
    accessible(tab)
    controls, reached = focus_walk(tab)
    assert reached == controls and len(controls) == 3  # the three choices, in order

    # Tab from the top to the first choice ("Ja, jeg vil gerne høre mere") and press Enter.
    tab.goto(f"/svar/{tokens[1]}")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.value") == "yes"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert tab.locator("h1").inner_text() == "Tak for dit svar"
    shot(tab, "respond-thanks")
    accessible(tab)
    assert history(store, 1) == [Answer.YES]

    # Changed to "Nej tak": Tab twice, Enter.
    tab.goto(f"/svar/{tokens[1]}")
    tab.keyboard.press("Tab")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.value") == "no"
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert history(store, 1) == [Answer.YES, Answer.NO]

    response = tab.goto("/svar/" + "A" * 43)
    assert response is not None and response.status == 404
    problems.remove(next(p for p in problems if "404" in p))  # the page's own status
    shot(tab, "respond-neutral")
    accessible(tab)
