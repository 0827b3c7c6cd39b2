"""The candidate page in Chromium, at a laptop's and a phone's width: inclusion and exclusion
apart and nested as the study file writes them, an exclusion that does not apply reads "does
not apply" (never a red badge), and each screening question says which answer includes and
which excludes."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from store.panel_store import PanelStore
from tests.browser import BROWSER_TESTS, accessible, log_in, shot
from tests.helpers import RLS, everyone

pytestmark = BROWSER_TESTS


def group(page: Page, heading: str) -> Locator:
    return page.locator("section.criteria-group").filter(
        has=page.get_by_role("heading", name=heading)
    )


def reading(where: Locator, criterion: str) -> Locator:
    return where.locator(f"li[data-criterion={criterion}] > .criterion-line > .reading")


def test_an_eligible_candidate_reads_right(any_page: Page, matched: PanelStore) -> None:
    page = any_page
    one = everyone(matched, status="eligible")[0]
    log_in(page, "coord@example.org")
    page.goto(f"/studies/{RLS}/candidates/{one.volunteer_id}")
    inclusion, exclusion = group(page, "Inclusion"), group(page, "Exclusion")
    expect(inclusion).to_have_count(1)
    expect(exclusion).to_have_count(1)
    expect(reading(exclusion, "pregnant")).to_have_text("does not apply")
    expect(reading(exclusion, "pregnant")).to_have_class("reading reading-neutral")
    expect(inclusion.locator("[data-criterion=pregnant]")).to_have_count(0)
    expect(reading(inclusion, "age-18-75")).to_have_text("met")
    expect(page.locator(".reading-bad")).to_have_count(0)
    assert "not met" not in exclusion.inner_text()
    # The IRLSSG route is drawn inside "restless legs", indented below it.
    outer = inclusion.locator("li[data-criterion=restless-legs]")
    inner = outer.locator("li[data-criterion=irlssg-urge]")
    expect(inner).to_have_count(1)
    expect(outer.locator(":scope > .criterion-kind")).to_have_text("any of:")
    outer_box = outer.locator(":scope > .criterion-line").bounding_box()
    inner_box = inner.locator(":scope > .criterion-line").bounding_box()
    assert outer_box and inner_box and inner_box["x"] > outer_box["x"]
    expect(page.get_by_role("heading", name="To ask when screening")).to_have_count(0)
    shot(page, "candidate-eligible")
    accessible(page)


def test_a_candidate_to_screen_is_told_what_each_answer_does(
    any_page: Page, matched: PanelStore
) -> None:
    page = any_page
    waiting = everyone(matched, status="needs_screening")
    nested = [r for r in waiting if any(i.startswith("irlssg") for i in r.unknown_criteria)]
    one = (nested or waiting)[0]
    log_in(page, "coord@example.org")
    page.goto(f"/studies/{RLS}/candidates/{one.volunteer_id}")
    screening = page.locator("section.screening")
    expect(screening.get_by_role("heading", name="To ask when screening")).to_be_visible()
    questions = screening.locator(".screening-questions > li")
    expect(questions).to_have_count(len(one.unknown_criteria))
    for number, ident in enumerate(one.unknown_criteria):
        question = questions.nth(number)
        expect(question).to_have_attribute("data-criterion", ident)
        label = question.locator(".question-label").inner_text()
        assert label != ident  # labels, not ids
        said = question.locator(".answer")
        expect(said).to_have_count(2)
        for answer in said.all():
            effect = answer.get_attribute("class") or ""
            outcome = answer.locator(".answer-effect").inner_text()
            if "effect-includes" in effect:
                assert outcome == "can take part"
            elif "effect-excludes" in effect:
                assert outcome == "excluded"
            else:
                assert outcome.endswith("the rest depends on other answers"), outcome
        # The criterion asked about reads "unknown" in the tree, in words.
        expect(reading(page.locator("section.criteria-view"), ident)).to_have_text("unknown")
    if "pregnant" in one.unknown_criteria:
        pregnant = questions.filter(has=page.locator(".question-label", has_text="Pregnant"))
        expect(pregnant.locator(".answer")).to_have_text(["Yes → excluded", "No → can take part"])
    expect(screening.locator(".answer.effect-excludes").first).to_contain_text("→ excluded")
    expect(page.locator(".reading-bad")).to_have_count(0)
    shot(page, "candidate-to-screen")
    accessible(page)
