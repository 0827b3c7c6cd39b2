"""A study's outcome with the answers to its screening questions (``matching.answered``):
the engine's own tree, each answered criterion taking the truth its answer means. Hypothesis
holds it to two promises over random studies and panels: answering a criterion with the
outcome it already has changes nothing, and for a study whose criteria only ever help (no
``not``, no exclusion, nothing counted as unknown when met) answering every question of a
volunteer who needs screening with met makes them eligible."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import outcomes
from matching.answered import MEANS, with_answers
from matching.engine import StudyMatch, match_study
from matching.history import HISTORY_COLUMNS
from matching.panel import PROFILE_COLUMNS, prepare_panel
from schemas.study import StudyDefinition
from tests.helpers import study_of
from tests.test_matching_semantics import leaves, profiles, studies

SLOW = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
panels = st.lists(profiles(), min_size=1, max_size=15)
days = st.dates(date(2025, 1, 1), date(2027, 12, 31))


def matched(study: StudyDefinition, panel: list[dict[str, Any]], as_of: date) -> StudyMatch:
    for number, profile in enumerate(panel):
        profile["volunteer_id"] = f"V{number:03}"
    frame = pd.DataFrame(panel, columns=list(PROFILE_COLUMNS))
    versions = pd.DataFrame(
        [
            {"volunteer_id": profile["volunteer_id"], **version}
            for profile in panel
            for version in profile["history"]
        ],
        columns=list(HISTORY_COLUMNS),
    )
    return match_study(study, prepare_panel(frame, as_of, versions))


@SLOW
@given(study=studies(), panel=panels, as_of=days, data=st.data())
def test_answering_a_criterion_with_the_outcome_it_has_changes_nothing(
    study: StudyDefinition, panel: list[dict[str, Any]], as_of: date, data: st.DataObject
) -> None:
    match = matched(study, panel, as_of)
    ids = [criterion.id for criterion in study.criteria()]
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True))
    answers = {criterion_id: match.outcomes[criterion_id] for criterion_id in chosen}
    assert np.array_equal(with_answers(study, match.outcomes, answers), match.overall)


# Trees whose parts only ever help: all, any, at least N of; no "not".
helping_trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"any": c}),
        st.tuples(st.integers(1, 3), st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: {"at_least": min(t[0], len(t[1])), "of": t[1]}
        ),
    ),
    max_leaves=6,
)


@st.composite
def helping_studies(draw: st.DrawFn) -> StudyDefinition:
    """Inclusion only, of helping trees; any ``if_unknown``, ``if_met`` always met."""
    counter = itertools.count()

    def named(node: dict[str, Any]) -> dict[str, Any]:
        number = next(counter)
        node = dict(node, id=f"c{number}", label=f"criterion {number}")
        node["if_unknown"] = draw(st.sampled_from(["unknown", "unknown", "met", "not_met"]))
        for key in ("all", "any", "of"):
            if key in node:
                node[key] = [named(child) for child in node[key]]
        return node

    return study_of([named(t) for t in draw(st.lists(helping_trees, min_size=1, max_size=3))])


@SLOW
@given(study=helping_studies(), panel=panels, as_of=days)
def test_answering_every_question_met_makes_a_volunteer_who_needs_screening_eligible(
    study: StudyDefinition, panel: list[dict[str, Any]], as_of: date
) -> None:
    match = matched(study, panel, as_of)
    for row in np.flatnonzero(match.overall == outcomes.UNKNOWN):
        found = {
            criterion_id: found[row : row + 1] for criterion_id, found in match.outcomes.items()
        }
        asked = [criterion_id for criterion_id, rows in match.screening.items() if rows[row]]
        assert asked  # someone who needs screening always has something to ask
        met = {criterion_id: np.array([MEANS["met"]], np.int8) for criterion_id in asked}
        assert with_answers(study, found, met)[0] == outcomes.MET
        # And answering them all not met rules them out.
        not_met = {criterion_id: np.array([MEANS["not_met"]], np.int8) for criterion_id in asked}
        assert with_answers(study, found, not_met)[0] == outcomes.NOT_MET


# --- cases --------------------------------------------------------------------------------------

ONE = {"met": np.array([outcomes.MET]), "not_met": np.array([outcomes.NOT_MET])}
UNKNOWN = np.array([outcomes.UNKNOWN], np.int8)


def test_an_answer_is_the_criterion_as_its_label_says_whatever_if_met_and_if_unknown() -> None:
    apnoea = {
        "id": "apnoea", "label": "Untreated sleep apnoea", "diagnoses": ["G47.3"],
        "if_met": "screen", "if_unknown": "not_met",
    }  # fmt: skip
    study = study_of([{"id": "adult", "label": "Adult", "field": "age", "at_least": 18}], [apnoea])
    found = {"adult": ONE["met"], "apnoea": UNKNOWN}  # met, so screened
    assert with_answers(study, found, {})[0] == outcomes.UNKNOWN
    assert with_answers(study, found, {"apnoea": ONE["not_met"]})[0] == outcomes.MET
    assert with_answers(study, found, {"apnoea": ONE["met"]})[0] == outcomes.NOT_MET


def test_a_group_is_combined_again_from_its_answered_parts() -> None:
    study = study_of(
        [
            {
                "id": "legs", "label": "Restless legs",
                "any": [
                    {"id": "diagnosed", "label": "G25.8", "diagnoses": ["G25.8"]},
                    {"id": "urge", "label": "Urge", "field": "rls_urge", "equals": True},
                ],
            }
        ]
    )  # fmt: skip
    found = {"legs": UNKNOWN, "diagnosed": UNKNOWN, "urge": UNKNOWN}
    assert with_answers(study, found, {"diagnosed": ONE["not_met"]})[0] == outcomes.UNKNOWN
    both_not = {"diagnosed": ONE["not_met"], "urge": ONE["not_met"]}
    assert with_answers(study, found, both_not)[0] == outcomes.NOT_MET
    assert with_answers(study, found, {"urge": ONE["met"]})[0] == outcomes.MET
