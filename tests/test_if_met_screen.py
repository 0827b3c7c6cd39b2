"""``if_met: screen``: a met criterion is a reason to ask, not to decide. The candidate needs
screening on it, the evidence says why, and the question asks what the label says."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from matching.engine import match_study
from matching.evidence import evidence_frame
from matching.panel import prepare_panel
from review.criteria_view import build
from tests.helpers import study_of
from tests.test_matching_cases import AS_OF, person

AGE = {"id": "adult", "label": "Adult", "field": "age", "at_least": 18}
SSRI = {
    "id": "ssri",
    "label": "Takes an SSRI (excluded unless the dose is stable)",
    "medicines": ["N06AB"],
    "if_met": "screen",
}
DIABETES_ON_INSULIN = {
    "id": "diabetes-on-insulin",
    "label": "Diabetes treated with insulin (excluded unless well controlled)",
    "if_met": "screen",
    "all": [
        {"id": "diabetes", "label": "Type 2 diabetes", "diagnoses": ["E11"]},
        {"id": "insulin", "label": "Insulin", "medicines": ["A10A"]},
    ],
}


def _matched(exclusion: dict[str, Any], *people: dict[str, Any]) -> tuple[Any, pd.DataFrame]:
    study = study_of([AGE], [exclusion])
    frame = pd.DataFrame([p | {"volunteer_id": f"V{n}"} for n, p in enumerate(people)])
    match = match_study(study, prepare_panel(frame, AS_OF))
    return match, evidence_frame(match, np.arange(len(people)))


def test_a_met_screen_criterion_makes_the_candidate_need_screening_on_it() -> None:
    on_ssri, on_none, unanswered = (
        person(medicines="N06AB10"),
        person(medicines=""),
        person(medicines=None),
    )
    match, evidence = _matched(SSRI, on_ssri, on_none, unanswered)
    assert list(match.status(match.candidates)) == [
        "needs_screening",
        "eligible",
        "needs_screening",
    ]
    assert [bool(match.screening["ssri"][row]) for row in range(3)] == [True, False, True]
    assert list(evidence["ssri"]) == ["unknown", "not_met", "unknown"]
    assert list(evidence["ssri.evidence"]) == [
        "medicine N06AB10 reported 02-03-2026; met, so the study asks about it when screening",
        "no medicines reported 02-03-2026",
        "medicines not answered",
    ]


def test_a_met_screen_tree_is_itself_the_question() -> None:
    both = person(diagnoses="E11.9", medicines="A10AB01")
    diabetes_only = person(diagnoses="E11.9", medicines="")
    insulin_unknown = person(diagnoses="E11.9", medicines=None)
    match, evidence = _matched(DIABETES_ON_INSULIN, both, diabetes_only, insulin_unknown)
    asked = {
        ident: [bool(match.screening[ident][row]) for row in range(3)]
        for ident in ("diabetes-on-insulin", "diabetes", "insulin")
    }
    # Met: the tree is asked. Unknown below it: the unknown leaf is asked, as ever.
    assert asked == {
        "diabetes-on-insulin": [True, False, False],
        "diabetes": [False, False, False],
        "insulin": [False, False, True],
    }
    assert list(match.status(match.candidates)) == [
        "needs_screening",
        "eligible",
        "needs_screening",
    ]
    assert evidence["diabetes-on-insulin.evidence"][0].endswith(
        "; met, so the study asks about it when screening"
    )


def test_the_question_asks_what_the_label_says_and_its_answers_decide() -> None:
    match, evidence = _matched(SSRI, person(medicines="N06AB10"))
    explanation = {
        ident: [evidence[ident][0], evidence[f"{ident}.evidence"][0]] for ident in ("adult", "ssri")
    }
    view = build(match.study, explanation, ["ssri"])
    (question,) = view.questions
    assert question.label == SSRI["label"]
    assert {answer.answer: answer.effect for answer in question.answers} == {
        "met": "excludes",
        "not met": "includes",
    }
