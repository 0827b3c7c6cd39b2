"""The review app in a real browser: Debian's Chromium, headless, driven by Playwright.

The app runs on loopback in a thread (uvicorn) over the test store. Each test watches the
browser console: a script or style blocked by the Content-Security-Policy, or any other
error, fails it. Screenshots of the main pages go to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from review.app import create_app
from schemas.review import Role
from store.panel_store import PanelStore
from tests.helpers import RLS, STUDIES, everyone, publish
from tests.test_review_app import PASSWORD, add_user

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(__file__).parent.parent / "test-artifacts" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}

pytestmark = [
    pytest.mark.browser,
    # Skipped only outside CI, where `make test` could not install it (no apt): CI needs it.
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it with apt)",
    ),
]


@pytest.fixture
def server(matched: PanelStore) -> Iterator[str]:
    if matched.engine.dialect.name != "sqlite":
        pytest.skip("the browser tests run on SQLite; the HTTP tests cover both databases")
    publish(matched, STUDIES / "sleep-healthy.yaml")
    add_user(matched, "coord@example.org", Role.COORDINATOR, RLS)
    add_user(matched, "other@example.org", Role.COORDINATOR, "sleep-healthy")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(matched), host="127.0.0.1", port=port, log_level="error")
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not app_server.started:
        assert time.monotonic() < deadline, "the review app did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    app_server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def problems() -> list[str]:
    """What the browser console reported as errors (CSP violations among them)."""
    return []


@pytest.fixture
def page(browser: Browser, server: str, problems: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True, base_url=server)
    tab = context.new_page()
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    assert problems == [], problems


def log_in(page: Page, email: str) -> None:
    page.goto("/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= LAPTOP["width"], f"{name} scrolls sideways on a laptop screen ({width}px)"


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
    page.click("text=Decide on the selection")
    eligible = everyone(matched, status="eligible")
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
