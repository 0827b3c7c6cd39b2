"""Issue 19 in Chromium at a laptop's and a phone's width: nothing is decided by pressing
Enter, a bulk decision is confirmed in numbers, the selection, neighbours and keyboard
shortcuts carry an afternoon's work, and typed work survives a session that ended."""

from __future__ import annotations

from playwright.sync_api import Page
from sqlalchemy import delete

from store.panel_store import PanelStore
from store.tables import UserSession
from tests.browser import BROWSER_TESTS, accessible, log_in, shot
from tests.helpers import RLS, everyone

pytestmark = BROWSER_TESTS
LIST = f"/studies/{RLS}/candidates"


def states(store: PanelStore) -> dict[str, str]:
    return {row.volunteer_id: row.review_state for row in everyone(store)}


def test_enter_in_any_text_field_decides_nothing(any_page: Page, matched: PanelStore) -> None:
    page = any_page
    log_in(page, "coord@example.org")
    before = states(matched)
    page.goto(LIST)
    page.select_option("form.bulk select[name=action]", "approve-unscreened")
    fields = page.locator("main input:visible, main textarea:visible")
    names = [fields.nth(i).get_attribute("name") for i in range(fields.count())]
    assert {"age_min", "age_max", "note"} <= set(names)
    for name in names:
        field = page.locator(f"main [name={name}]:visible").first
        field.fill({"age_min": "18", "age_max": "99"}.get(name or "", "all of them"))
        field.press("Enter")
        page.wait_for_load_state("networkidle")
        assert states(matched) == before, name
        assert "/candidates-bulk" not in page.url
    shot(page, "list-after-enter")
    one = everyone(matched, status="needs_screening")[0]
    page.goto(f"{LIST}/{one.volunteer_id}")
    page.fill("textarea[name=note]", "a note")
    page.press("textarea[name=note]", "Enter")
    page.wait_for_load_state("networkidle")
    assert states(matched) == before


def test_a_bulk_decision_is_confirmed_in_numbers(any_page: Page, matched: PanelStore) -> None:
    page = any_page
    log_in(page, "coord@example.org")
    screening = everyone(matched, status="needs_screening", region="midtjylland")
    unknown = {c for row in screening for c in row.unknown_criteria}
    eligible = everyone(matched, status="eligible", region="midtjylland")
    page.goto(f"{LIST}?region=midtjylland")
    page.select_option("form.bulk select[name=action]", "approve-unscreened")
    page.click("text=Review this decision")
    summary = page.inner_text(".confirm-summary")
    assert summary == (
        f"approve {len(eligible) + len(screening)}: {len(eligible)} eligible, "
        f"{len(screening)} needing screening on {len(unknown)} criteria."
    )
    shot(page, "bulk-confirm")
    accessible(page)
    assert set(states(matched).values()) == {"undecided"}
    page.click(f"text=Approve {len(eligible) + len(screening)} candidates")
    page.wait_for_selector("[data-saved]")
    assert "region=midtjylland" in page.url
    decided = {r.volunteer_id for r in [*eligible, *screening]}
    assert {v for v, state in states(matched).items() if state == "approved"} == decided


def test_an_afternoon_flows_by_keyboard_within_the_selection(
    any_page: Page, matched: PanelStore
) -> None:
    page = any_page
    log_in(page, "coord@example.org")
    order = [r.volunteer_id for r in everyone(matched, status="needs_screening", sort="age")]
    page.goto(f"{LIST}?status=needs_screening&sort=age")
    page.click(f"text={order[1]}")
    page.wait_for_url(f"**/{order[1]}?**")
    page.keyboard.press("n")
    page.wait_for_url(f"**/{order[2]}?status=needs_screening&sort=age")
    page.keyboard.press("p")
    page.wait_for_url(f"**/{order[1]}?status=needs_screening&sort=age")
    page.keyboard.press("a")  # picks approval; only Enter approves
    assert page.evaluate("document.activeElement.value") == "approve-unscreened"
    assert states(matched)[order[1]] == "undecided"
    shot(page, "candidate-keyboard")
    accessible(page)
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-saved]")
    assert states(matched)[order[1]] == "approved"
    assert page.url.endswith(f"{order[1]}?status=needs_screening&sort=age&done=approved")
    page.click("text=Back to the list")
    page.wait_for_selector(f"#c-{order[1]}")
    assert "status=needs_screening" in page.url


def test_typed_work_survives_a_session_that_ended(page: Page, matched: PanelStore) -> None:
    log_in(page, "coord@example.org")
    one = everyone(matched, status="eligible")[0]
    page.goto(f"{LIST}/{one.volunteer_id}?status=eligible")
    page.select_option("select[name=reason]", "other")
    page.fill("textarea[name=note]", "Moved abroad, said the study nurse")
    with matched.engine.begin() as connection:
        connection.execute(delete(UserSession))  # the session ends (expired, or logged out)
    page.click("button[value=reject]")
    page.wait_for_selector("form[action='/login']")
    page.fill("input[name=email]", "coord@example.org")
    page.fill("input[name=password]", "a long enough passphrase")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/{one.volunteer_id}?status=eligible")
    assert page.input_value("textarea[name=note]") == "Moved abroad, said the study nurse"
    assert page.input_value("select[name=reason]") == "other"
    assert page.evaluate("document.activeElement.value") == "reject"
    assert "What you typed is back" in page.inner_text("main")
    assert states(matched)[one.volunteer_id] == "undecided"
    shot(page, "candidate-after-login")
    page.keyboard.press("Enter")
    page.wait_for_selector("[data-saved]")
    assert states(matched)[one.volunteer_id] == "rejected"
    assert "Moved abroad, said the study nurse" in page.inner_text(".history")
