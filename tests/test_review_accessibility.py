"""The review app on a laptop (1366 px) and a phone (390 px): every page fits the window (no
sideways scrolling), axe-core finds no serious or critical violation, every control is
reached with the keyboard and shows where the focus is, and no request leaves the machine.

The harness (server, Chromium, ``shot``, ``accessible``, ``focus_walk``) is
``tests/browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from store import candidate_list
from store.panel_store import PanelStore
from tests.browser import BROWSER_TESTS, accessible, focus_walk, log_in, shot
from tests.helpers import RLS, everyone

pytestmark = BROWSER_TESTS


@pytest.fixture
def short_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten candidates a page, so the demo's list has a pager (the server runs in-process)."""
    monkeypatch.setattr(candidate_list, "PAGE_SIZE", 10)


@pytest.fixture
def requests(any_page: Page, server: str) -> Iterator[list[str]]:
    """Every address the page requested (the harness also aborts any off loopback)."""
    seen: list[str] = []
    any_page.on("request", lambda request: seen.append(request.url))
    yield seen


def coordinator_pages(matched: PanelStore) -> dict[str, str]:
    first = everyone(matched, status="needs_screening")[0].volunteer_id
    return {
        "studies": "/",
        "study": f"/studies/{RLS}",
        "candidates": f"/studies/{RLS}/candidates",
        "candidates-filtered": f"/studies/{RLS}/candidates?status=needs_screening&sort=age",
        "candidate": f"/studies/{RLS}/candidates/{first}",
    }


def test_every_page_fits_and_passes_axe(
    any_page: Page,
    matched: PanelStore,
    server: str,
    problems: list[str],
    requests: list[str],
    short_pages: None,
) -> None:
    any_page.goto("/login")
    shot(any_page, "a11y-login")
    accessible(any_page)
    log_in(any_page, "coord@example.org")
    for name, path in coordinator_pages(matched).items():
        any_page.goto(path)
        if name == "candidates":
            assert any_page.locator("nav.pages a").count(), "ten a page: the list has a pager"
        shot(any_page, f"a11y-{name}")
        accessible(any_page)

    # The bulk decision's confirmation, asked before anything is decided.
    any_page.goto(f"/studies/{RLS}/candidates?status=eligible")
    any_page.select_option("form.bulk select[name=action]", "defer")
    with any_page.expect_navigation():
        any_page.click("form.bulk button[type=submit]")
    shot(any_page, "a11y-bulk-confirm")
    accessible(any_page)
    any_page.go_back()

    response = any_page.goto("/studies/no-such-study")
    assert response is not None and response.status == 404
    shot(any_page, "a11y-error")
    accessible(any_page)
    problems.remove(next(p for p in problems if "404" in p))  # the page's own status

    any_page.goto("/")
    any_page.click("text=Log out")
    log_in(any_page, "research@example.org")
    for name, path in {"studies": "/", "study": f"/studies/{RLS}"}.items():
        any_page.goto(path)
        shot(any_page, f"a11y-researcher-{name}")
        accessible(any_page)

    assert requests and all(url.startswith(server + "/") for url in requests), requests


def test_every_control_is_reached_by_keyboard_with_a_visible_focus(
    any_page: Page, matched: PanelStore, short_pages: None
) -> None:
    any_page.goto("/login")
    pages = {"login": "/login", **coordinator_pages(matched)}
    log_in(any_page, "coord@example.org")
    for name, path in pages.items():
        any_page.goto(path)
        controls, reached = focus_walk(any_page)
        assert reached and reached == controls[: len(reached)], name
        assert set(reached) == set(controls), f"{name}: not reached {set(controls) - set(reached)}"


def test_the_skip_link_comes_first_and_moves_to_the_content(any_page: Page) -> None:
    log_in(any_page, "coord@example.org")
    any_page.keyboard.press("Tab")
    skip = any_page.locator("a.skip")
    assert skip.evaluate("el => el === document.activeElement")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0, "the skip link shows when focused"
    any_page.keyboard.press("Enter")
    assert any_page.evaluate("document.activeElement.id") == "main"
