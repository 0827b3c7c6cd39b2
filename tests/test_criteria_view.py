"""How a candidate's criteria read (review.criteria_view): the study files' own criteria on
candidates the reference evaluator matched, and generated criteria trees held to the matching
semantics: an eligible or needs-screening candidate shows nothing as a failure, and the answer a
screening question says includes does include."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.reference import Truth, evaluate
from review.criteria_view import CriteriaView, CriterionNode, Question, build
from schemas.study import (
    CodeCriterion,
    CriterionBase,
    FieldComparison,
    NotCriterion,
    StudyDefinition,
    children,
)
from schemas.study_fields import FIELDS
from schemas.study_file import load_study
from tests.helpers import STUDIES, study_of
from tests.test_matching_semantics import profiles, studies

AS_OF = date(2026, 3, 1)
WORDS = {True: "met", False: "not_met", None: "unknown"}


def definition(name: str) -> StudyDefinition:
    loaded = load_study(STUDIES / f"{name}.yaml").definition
    assert loaded is not None
    return loaded


def profile(**cells: Any) -> dict[str, Any]:
    """A woman of 56 with restless legs diagnosed and nothing else reported."""
    return {
        "submitted_at": datetime(2026, 1, 10, tzinfo=UTC),
        "birth_date": date(1970, 1, 1),
        "sex": "female",
        "postcode": "8000",
        "height_cm": 168,
        "weight_kg": 70.0,
        "diagnoses": "G25.8",
        "medicines": "",
        "pregnant": "no",
        "smoker": False,
        "rls_urge": True,
        "rls_at_rest": True,
        "rls_relieved_by_movement": False,
        "rls_evening": True,
        "rls_nights_per_week": 4,
        "sleep_quality": 2,
    } | cells


def matched_view(study: StudyDefinition, cells: dict[str, Any]) -> tuple[CriteriaView, Truth]:
    found, overall, to_screen = evaluate(study, cells, AS_OF)
    explanation = {ident: [WORDS[truth], f"evidence of {ident}"] for ident, truth in found.items()}
    return build(study, explanation, to_screen), overall


def nodes(view: CriteriaView) -> dict[str, CriterionNode]:
    found: dict[str, CriterionNode] = {}

    def walk(node: CriterionNode) -> None:
        found[node.id] = node
        for part in node.parts:
            walk(part)

    for node in [*view.inclusion, *view.exclusion, *view.unsorted]:
        walk(node)
    return found


def answers(question: Question) -> dict[str, str]:
    return {answer.answer: answer.says for answer in question.answers}


def test_an_eligible_candidate_reads_exclusions_as_not_applying() -> None:
    view, overall = matched_view(definition("rls-magnesium"), profile())
    assert overall is True
    shown = nodes(view)
    assert [n.id for n in view.inclusion] == ["age-18-75", "restless-legs"]
    assert [n.id for n in view.exclusion][-1] == "pregnant"
    assert (shown["pregnant"].reading.words, shown["pregnant"].reading.tone) == (
        "does not apply",
        "neutral",
    )
    assert shown["age-18-75"].reading.words == "met" and shown["age-18-75"].reading.tone == "good"
    # Diagnosed, so the IRLSSG route is not needed: its unmet part is no failure.
    irlssg = shown["rls-irlssg"]
    assert irlssg.kind == "all of" and irlssg.reading.words == "not met"
    assert irlssg.reading.tone == "neutral" and irlssg.reading.aside == "does not decide"
    assert shown["irlssg-movement"].reading.tone == "neutral"
    assert irlssg.evidence == "4 of 5 met; all needed"
    assert shown["restless-legs"].kind == "any of"
    assert [p.id for p in shown["restless-legs"].parts] == ["rls-diagnosed", "rls-irlssg"]
    assert not [n.id for n in shown.values() if n.reading.tone == "bad"]
    assert view.questions == ()


def test_an_exclusion_that_applies_reads_as_excluding() -> None:
    view, overall = matched_view(definition("rls-magnesium"), profile(pregnant="yes"))
    assert overall is False
    pregnant = nodes(view)["pregnant"]
    assert (pregnant.reading.words, pregnant.reading.tone) == ("applies: excludes", "bad")


def test_screening_questions_say_which_answer_includes_and_which_excludes() -> None:
    view, overall = matched_view(
        definition("rls-magnesium"),
        profile(pregnant=None, medicines=None, diagnoses="", rls_urge=None, rls_evening=None,
                rls_relieved_by_movement=True),
    )  # fmt: skip
    assert overall is None
    asked = {q.id: q for q in view.questions}
    assert list(asked) == [
        "irlssg-urge", "irlssg-evening", "takes-magnesium", "dopaminergic-treatment", "pregnant",
    ]  # fmt: skip
    assert asked["pregnant"].label == "Pregnant" and asked["pregnant"].asks == "Pregnant now"
    assert answers(asked["pregnant"]) == {"Yes": "excluded", "No": "can take part"}
    assert answers(asked["takes-magnesium"]) == {
        "takes medicine A12CC (or a sub-code)": "excluded",
        "does not take it": "can take part",
    }
    # Two IRLSSG answers are missing: one alone does not decide the route, but "No" ends it.
    urge = answers(asked["irlssg-urge"])
    assert urge["No"] == "excluded"
    assert urge["Yes"] == (
        "counts towards: All four IRLSSG criteria, with symptoms at least 2 nights a week; "
        "the rest depends on other answers"
    )
    assert [a.effect for a in asked["irlssg-urge"].answers] == ["open", "excludes"]


def test_bounds_codes_and_choices_in_words() -> None:
    study = definition("rls-magnesium")
    outcomes = {c.id: ["met", ""] for c in study.criteria()}
    for ident in ("age-18-75", "kidney-disease", "bleeding-disorder"):
        outcomes[ident] = ["unknown", ""]
    asked = {q.id: q for q in build(study, outcomes, ["age-18-75", "kidney-disease"]).questions}
    assert answers(asked["age-18-75"]) == {
        "18 to 75 years": "can take part",
        "over 75 years": "excluded",  # the panel has no one under 18
    }
    assert answers(asked["kidney-disease"]) == {
        "has diagnosis N18 (Chronic kidney disease) or N19 (Unspecified kidney failure) (or a sub-code)": "excluded",
        "has none of them": "can take part",
    }
    assert asked["kidney-disease"].asks == "Diagnoses (ICD-10)"
    t2d = definition("t2d-midtjylland")
    outcomes = {c.id: ["met", ""] for c in t2d.criteria()}
    outcomes["lives-in-midtjylland"] = ["unknown", ""]
    (region,) = build(t2d, outcomes, ["lives-in-midtjylland"]).questions
    assert answers(region)["Region Midtjylland"] == "can take part"
    assert [a.effect for a in region.answers] == ["includes", "excludes"]


def test_at_least_of_says_what_an_answer_settles() -> None:
    view, _ = matched_view(
        definition("sleep-healthy"),
        profile(diagnoses="", sleep_quality=None, rls_urge=None, smoker=True),
    )
    shown = nodes(view)
    assert shown["sleeps-well"].kind == "at least 2 of"
    assert shown["sleeps-well"].evidence == "0 of 3 met, 2 unknown; 2 needed"
    asked = {q.id: q for q in view.questions}
    quality = answers(asked["sleep-quality-good"])
    assert quality == {
        "4 or 5": "counts towards: Sleeps well by at least 2 of 3 signs; the rest depends on "
        "other answers",
        "1, 2 or 3": "excluded",
    }
    assert asked["sleep-quality-good"].asks == "Sleep quality, 1 (very poor) to 5"


def test_not_turns_a_criterion_round() -> None:
    study = study_of(
        [{"id": "never-smoked", "label": "Does not smoke", "not": {
            "id": "smokes", "label": "Smokes", "field": "smoker", "equals": True}}],
        [{"id": "not-pregnant", "label": "Not pregnant", "not": {
            "id": "pregnant", "label": "Pregnant", "field": "pregnant", "equals": True}}],
    )  # fmt: skip
    view, _ = matched_view(study, profile(smoker=True, pregnant="no"))
    shown = nodes(view)
    assert shown["never-smoked"].kind == "not"
    assert (shown["never-smoked"].reading.words, shown["never-smoked"].reading.tone) == (
        "not met",
        "bad",
    )
    assert shown["smokes"].excludes and shown["smokes"].reading.words == "applies"
    assert shown["smokes"].reading.tone == "bad"
    assert shown["never-smoked"].evidence == "the part below applies"
    # An exclusion of "not pregnant": being pregnant counts for the candidate.
    assert not shown["pregnant"].excludes
    assert shown["not-pregnant"].reading.words == "applies: excludes"
    view, overall = matched_view(study, profile(smoker=None, pregnant="yes"))
    assert overall is None
    (question,) = view.questions
    assert answers(question) == {"Yes": "excluded", "No": "can take part"}


def test_without_the_definition_outcomes_are_listed_without_judging_them() -> None:
    view = build(None, {"pregnant": ["not_met", "pregnant: no"], "x": ["unknown", "?"]}, ["x"])
    assert view.inclusion == view.exclusion == ()
    assert [(n.label, n.reading.words, n.reading.tone) for n in view.unsorted] == [
        ("pregnant", "not met", "neutral"),
        ("x", "unknown", "open"),
    ]
    assert [(q.label, q.answers) for q in view.questions] == [("x", ())]


# --- generated criteria, held to the matching semantics --------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study=studies(), cells=profiles())
def test_readings_follow_each_criterion_s_side(study: StudyDefinition, cells: dict) -> None:
    """A node reads for or against the candidate as its side says (``not`` swaps it); the top
    criteria agree with the study's outcome; and an eligible or needs-screening candidate shows
    nothing in red: red runs only down from a top criterion that rules them out."""
    view, overall = matched_view(study, cells)

    def check(node: CriterionNode, criterion: CriterionBase, excludes: bool, red: bool) -> None:
        assert node.id == criterion.id and node.excludes == excludes
        met = node.outcome == "met"
        expected = "open" if node.outcome == "unknown" else "against" if met == excludes else "for"
        assert node.reading.stance == expected
        assert node.reading.words in (
            ("does not apply", "applies", "applies: excludes", "unknown")
            if excludes
            else ("met", "not met", "unknown")
        )
        assert node.reading.tone != "bad" or (red and expected == "against")
        below = excludes != isinstance(criterion, NotCriterion)
        for part, child in zip(node.parts, children(criterion), strict=True):
            check(part, child, below, node.reading.tone == "bad")

    tops = [
        *zip(view.inclusion, study.inclusion, strict=True),
        *zip(view.exclusion, study.exclusion, strict=True),
    ]
    for number, (node, criterion) in enumerate(tops):
        check(node, criterion, number >= len(study.inclusion), True)
    stances = [node.reading.stance for node, _ in tops]
    assert (overall is True) == all(s == "for" for s in stances)
    assert (overall is False) == ("against" in stances)
    if overall is not False:
        assert not [n for n in nodes(view).values() if n.reading.tone == "bad"]


#: Fields a generated leaf may test, each at most once per study, so that an answer changes
#: exactly the criterion it is asked for.
ANSWERED = [
    "smoker", "rls_urge", "rls_at_rest", "rls_relieved_by_movement", "rls_evening",
    "rls_nights_per_week", "sleep_quality", "diagnoses", "medicines",
]  # fmt: skip
CODES = {
    "diagnoses": ["G25", "G25.8", "N18", "N18-N19", "D65-D69", "I47-I49"],
    "medicines": ["A12CC", "A12", "N04BC", "A10A"],
}
shapes = st.recursive(
    st.just("leaf"),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"any": c}),
        inner.map(lambda c: {"not": c}),
        st.tuples(st.integers(0, 3), st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: {"at_least": t[0], "of": t[1]}
        ),
    ),
    max_leaves=4,
)


@st.composite
def one_field_a_leaf(draw: st.DrawFn) -> StudyDefinition:
    counter = itertools.count()
    fields = iter(draw(st.permutations(ANSWERED)))

    def filled(shape: Any) -> dict[str, Any]:
        number = next(counter)
        named = {"id": f"c{number}", "label": f"criterion {number}"}
        named["if_unknown"] = draw(st.sampled_from(["unknown", "unknown", "unknown", "met"]))
        if shape == "leaf":
            return named | leaf(draw, next(fields))
        for key in ("all", "any", "of"):
            if key in shape:
                return named | shape | {key: [filled(part) for part in shape[key]]}
        if "not" in shape:
            return named | {"not": filled(shape["not"])}
        raise AssertionError(shape)

    inclusion = draw(st.lists(shapes, min_size=1, max_size=2))
    exclusion = draw(st.lists(shapes, max_size=2))
    leaves = str([*inclusion, *exclusion]).count("leaf")
    if leaves > len(ANSWERED):
        return study_of([{"id": "c", "label": "c", "field": "smoker", "equals": True}])
    return study_of([filled(s) for s in inclusion], [filled(s) for s in exclusion])


def leaf(draw: st.DrawFn, field: str) -> dict[str, Any]:
    if field in CODES:
        return {field: draw(st.lists(st.sampled_from(CODES[field]), min_size=1, max_size=2,
                                     unique=True))}  # fmt: skip
    if field in ("rls_nights_per_week", "sleep_quality"):
        low, high = int(FIELDS[field].low or 0), int(FIELDS[field].high or 0)
        bound = st.integers(low, high)
        return draw(st.sampled_from([
            {"field": field, "at_least": draw(bound)},
            {"field": field, "at_most": draw(bound)},
            {"field": field, "one_of": draw(st.lists(bound, min_size=1, max_size=2, unique=True))},
        ]))  # fmt: skip
    return {"field": field, "equals": draw(st.booleans())}


def answering(criterion: CriterionBase, meets: bool) -> tuple[str, Any]:
    """A profile field and the value of it that meets the criterion (or does not)."""
    if isinstance(criterion, CodeCriterion):
        first = str(criterion.codes.any_of[0]).split("-")[0]
        return criterion.system, first if meets else ""
    assert isinstance(criterion, FieldComparison)
    field = FIELDS[criterion.field]
    if criterion.equals is not None:
        return field.name, criterion.equals if meets else not criterion.equals
    for value in range(int(field.low or 0), int(field.high or 0) + 1):
        fits = (
            value in criterion.one_of
            if criterion.one_of is not None
            else (criterion.at_least is None or value >= criterion.at_least)
            and (criterion.at_most is None or value <= criterion.at_most)
        )
        if fits == meets:
            return field.name, value
    raise AssertionError("the words offered an answer no value gives")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(study=one_field_a_leaf(), data=st.data())
def test_an_answer_does_what_its_question_says(study: StudyDefinition, data: st.DataObject) -> None:
    """Giving a candidate who needs screening the answer a question offers, then matching them
    again with the reference evaluator: "can take part" leaves the top criterion above it for
    the candidate, "excluded" against, and an open answer leaves it unknown."""
    cells = {name: data.draw(st.one_of(st.none(), st.just(value)), label=name)
             for name, value in {**profile(), "diagnoses": "", "medicines": ""}.items()
             if name in ANSWERED}  # fmt: skip
    view, overall = matched_view(study, cells)
    if overall is not None:
        return
    assert view.questions
    by_id = {c.id: c for c in study.criteria()}
    for question in view.questions:
        criterion = by_id[question.id]
        assert question.label == criterion.label and question.answers
        for answer in question.answers:
            name, value = answering(criterion, answer.meets)
            if isinstance(value, bool):
                assert answer.answer == ("Yes" if value else "No")
            found, _, _ = evaluate(study, cells | {name: value}, AS_OF)
            assert found[criterion.id] is answer.meets
            top, excludes = next(
                (c, n >= len(study.inclusion))
                for n, c in enumerate([*study.inclusion, *study.exclusion])
                if question.id in {d.id for d in _within(c)}
            )
            outcome = found[top.id]
            expected = {None: "open", True: "excludes", False: "includes"}[
                None if outcome is None else outcome == excludes
            ]
            assert answer.effect == expected, (question.id, answer)
            assert (answer.says == "can take part") == (expected == "includes")
            assert (answer.says == "excluded") == (expected == "excludes")


def _within(criterion: CriterionBase) -> list[CriterionBase]:
    return [criterion, *(d for c in children(criterion) for d in _within(c))]


@pytest.mark.parametrize("name", ["rls-magnesium", "sleep-healthy", "t2d-midtjylland"])
def test_every_study_file_criterion_has_words_for_screening(name: str) -> None:
    study = definition(name)
    unknown = {c.id: ["unknown", ""] for c in study.criteria()}
    leaves = [c.id for c in study.criteria() if not children(c)]
    view = build(study, unknown, leaves)
    for question in view.questions:
        assert question.asks and len(question.answers) == 2, question
        assert {a.meets for a in question.answers} == {True, False}
