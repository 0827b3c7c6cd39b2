"""Shared fixtures of the browser tests: the review app on loopback in a thread (uvicorn) over
the test store, Debian's Chromium driven by Playwright at a laptop's and a phone's width,
screenshots saved as test artifacts, and axe-core's accessibility check.

Each page watches the browser console: a script or style blocked by the
Content-Security-Policy, or any other error, fails the test. Every request the page makes
must stay on 127.0.0.1 (anything else is aborted and fails the test).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Route, sync_playwright

from review.app import create_app
from schemas.review import Role
from store.panel_store import PanelStore
from tests.helpers import PASSWORD, RLS, STUDIES, add_user, publish

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
PHONE = {"width": 390, "height": 844}
WIDTHS = {"laptop": LAPTOP, "phone": PHONE}

BROWSER_TESTS = [
    pytest.mark.browser,
    # Skipped only outside CI, where `make test` could not install it (no apt): CI needs it.
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it with apt)",
    ),
]


def start_app(store: PanelStore) -> tuple[str, Callable[[], None]]:
    """The review app on ``store``, served on a free loopback port: its address and a stop."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="error")
    app_server = uvicorn.Server(config)
    thread = threading.Thread(target=app_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not app_server.started:
        assert time.monotonic() < deadline, "the review app did not start"
        time.sleep(0.05)

    def stop() -> None:
        app_server.should_exit = True
        thread.join(10)

    return f"http://127.0.0.1:{port}", stop


@pytest.fixture
def server(matched: PanelStore) -> Iterator[str]:
    """The app over the matched demo store, with a coordinator of the RLS trial and one of
    the sleep study, and a researcher of the RLS trial (research@example.org)."""
    if matched.engine.dialect.name != "sqlite":
        pytest.skip("the browser tests run on SQLite; the HTTP tests cover both databases")
    publish(matched, STUDIES / "sleep-healthy.yaml")
    add_user(matched, "coord@example.org", Role.COORDINATOR, RLS)
    add_user(matched, "other@example.org", Role.COORDINATOR, "sleep-healthy")
    add_user(matched, "research@example.org", Role.RESEARCHER, RLS)
    address, stop = start_app(matched)
    yield address
    stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def problems() -> list[str]:
    """What the browser console reported as errors (CSP violations among them), and any
    request that tried to leave loopback."""
    return []


def open_page(
    browser: Browser, server: str, problems: list[str], viewport: dict[str, int]
) -> Iterator[Page]:
    context = browser.new_context(viewport=viewport, accept_downloads=True, base_url=server)

    def local_only(route: Route) -> None:
        if re.match(r"^(https?|wss?)://127\.0\.0\.1[:/]", route.request.url) or not re.match(
            r"^(https?|wss?)://", route.request.url
        ):
            route.continue_()
        else:
            problems.append(f"a request left loopback: {route.request.url}")
            route.abort()

    context.route("**/*", local_only)
    tab = context.new_page()
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    assert problems == [], problems


@pytest.fixture
def page(browser: Browser, server: str, problems: list[str]) -> Iterator[Page]:
    """A tab at a laptop's width."""
    yield from open_page(browser, server, problems, LAPTOP)


@pytest.fixture(params=list(WIDTHS))
def any_page(
    request: pytest.FixtureRequest, browser: Browser, server: str, problems: list[str]
) -> Iterator[Page]:
    """A tab at a laptop's width, then (the test runs again) at a phone's."""
    yield from open_page(browser, server, problems, WIDTHS[request.param])


def log_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def shot(page: Page, name: str) -> None:
    """A full-page screenshot, named for the page and the width; and no sideways scrolling."""
    width = page.viewport_size["width"] if page.viewport_size else LAPTOP["width"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}-{width}px.png", full_page=True)
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width, f"{name} scrolls sideways at {width}px ({scrolled}px wide)"


#: What a keyboard user can reach: links, buttons and fields that are not disabled.
CONTROLS = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
    "select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"
)


def focus_walk(page: Page) -> tuple[list[str], list[str]]:
    """Tab through the page from its top: the controls it has (one per radio group), and
    those focus reached, in order. Each focused control must show a focus ring (an outline
    of 2 px or more, as ``:focus-visible``) and be on screen, or the walk fails."""
    controls: list[str] = page.evaluate(
        """(selector) => {
            const names = [], groups = new Set();
            document.querySelectorAll(selector).forEach((el, i) => {
                if (!el.getClientRects().length) return;
                el.dataset.walk = el.type === "radio" ? "radio:" + el.name : String(i);
                if (!groups.has(el.dataset.walk)) names.push(el.dataset.walk);
                groups.add(el.dataset.walk);
            });
            return names;
        }""",
        CONTROLS,
    )
    # Focus starts before everything, whatever the page focused itself (autofocus).
    page.evaluate(
        """() => {
            const start = document.createElement("span");
            start.tabIndex = -1;
            document.body.prepend(start);
            start.focus();
        }"""
    )
    reached: list[str] = []
    for _ in range(len(controls) + 3):
        page.keyboard.press("Tab")
        focus = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const style = getComputedStyle(el), box = el.getBoundingClientRect();
                return {
                    walk: el.dataset.walk || el.outerHTML.slice(0, 120),
                    html: el.outerHTML.slice(0, 120),
                    ring: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2
                        && el.matches(":focus-visible"),
                    shown: box.width > 0 && box.height > 0 && box.bottom > 0
                        && box.top < innerHeight && box.right > 0 && box.left < innerWidth,
                };
            }"""
        )
        if focus is None:
            if reached:
                break
            continue
        assert focus["ring"], f"no visible focus on {focus['html']}"
        assert focus["shown"], f"focused but off screen: {focus['html']}"
        if focus["walk"] in reached:
            break
        reached.append(focus["walk"])
    return controls, reached


_AXE = Axe()


def accessible(page: Page) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    results = _AXE.run(page)
    found = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not found, "\n".join(found)
