"""Screening questions in the study language: ``question:`` on a criterion, what its answers
mean, and the check's warning for a criterion that can be unknown with nothing to ask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from schemas.study import YES_NO_DONT_KNOW, StudyDefinition
from schemas.study_file import LoadedStudy, load_study
from tests.helpers import study_mapping, study_of

QUESTION_WARNING = "has no question"


def _loaded(tmp_path: Path, inclusion: list[dict[str, Any]]) -> LoadedStudy:
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study_mapping(inclusion), allow_unicode=True), "utf-8")
    return load_study(path)


def _warnings(tmp_path: Path, inclusion: list[dict[str, Any]]) -> list[str]:
    loaded = _loaded(tmp_path, inclusion)
    assert not loaded.errors, loaded.errors
    return [f"{p.key}: {p.message}" for p in loaded.problems]


def test_a_question_written_as_text_offers_yes_no_and_dont_know() -> None:
    study = study_of(
        [
            {
                "id": "p",
                "label": "Pregnant",
                "field": "pregnant",
                "equals": True,
                "question": "Er du gravid?",
            }
        ]
    )
    question = study.inclusion[0].question
    assert question is not None and question.text == "Er du gravid?"
    assert question.answers == YES_NO_DONT_KNOW
    assert [(a.text, a.means) for a in question.answers] == [
        ("Ja", "met"),
        ("Nej", "not_met"),
        ("Ved ikke", "unknown"),
    ]


@pytest.mark.parametrize(
    ("answers", "says"),
    [
        (
            [{"text": "Ja", "means": "met"}, {"text": "Ved ikke", "means": "unknown"}],
            "needs an answer that means met and one that means not_met",
        ),
        (
            [{"text": "Ja", "means": "met"}, {"text": "Ja", "means": "not_met"}],
            "offers each answer once",
        ),
        (
            [{"text": "Ja", "means": "maybe"}, {"text": "Nej", "means": "not_met"}],
            "unknown value 'maybe'",
        ),
    ],
)
def test_a_question_whose_answers_cannot_decide_is_an_error(
    tmp_path: Path, answers: list[dict[str, str]], says: str
) -> None:
    criterion = {
        "id": "apnoea",
        "label": "Untreated sleep apnoea",
        "diagnoses": ["G47.3"],
        "question": {"text": "Bliver din søvnapnø behandlet?", "answers": answers},
    }
    loaded = _loaded(tmp_path, [criterion])
    assert loaded.definition is None
    assert any(says in p.message and "question" in p.key for p in loaded.errors), loaded.errors


def test_the_check_warns_where_a_volunteer_could_not_be_asked(tmp_path: Path) -> None:
    warnings = _warnings(
        tmp_path,
        [
            {"id": "adult", "label": "Adult", "field": "age", "at_least": 18},  # always known
            {"id": "smoker", "label": "Smokes", "field": "smoker", "equals": True},
            {
                "id": "smoker-counted",
                "label": "Smokes, unknown counted as no",
                "field": "smoker",
                "equals": True,
                "if_unknown": "not_met",
            },
            {"id": "magnesium", "label": "Magnesium", "medicines": ["A12CC"]},
            {
                "id": "asked",
                "label": "Asked",
                "medicines": ["N04BC"],
                "question": "Tager du medicin mod uro i benene?",
            },
            {
                "id": "screened-group",
                "label": "Diabetes on insulin, unless well controlled",
                "if_met": "screen",
                "all": [
                    {
                        "id": "t2d",
                        "label": "T2D",
                        "diagnoses": ["E11"],
                        "question": "Har du type 2-diabetes?",
                    },
                    {
                        "id": "insulin",
                        "label": "Insulin",
                        "medicines": ["A10A"],
                        "question": "Tager du insulin?",
                    },
                ],
            },
            {
                "id": "plain-group",
                "label": "Either",
                "question": "Never asked",
                "any": [
                    {
                        "id": "rls-urge",
                        "label": "Urge",
                        "field": "rls_urge",
                        "equals": True,
                        "question": "Har du trang til at bevæge benene?",
                    },
                ],
            },
        ],
    )
    assert warnings == [
        "inclusion[1]: can be unknown and has no question: a volunteer who says yes cannot be "
        "asked it, so the study team must (add question:)",
        "inclusion[3]: can be unknown and has no question: a volunteer who says yes cannot be "
        "asked it, so the study team must (add question:)",
        "inclusion[5]: if_met: screen without a question: a volunteer who says yes cannot be "
        "asked it, so the study team must (add question:)",
        "inclusion[6]: a group's question is never asked (its parts are asked): move it to them",
    ]


def test_a_question_changes_the_version_and_no_question_keeps_it() -> None:
    criterion = {"id": "s", "label": "Smokes", "field": "smoker", "equals": True}
    plain = study_of([criterion])
    asked = study_of([criterion | {"question": "Ryger du?"}])
    reworded = study_of([criterion | {"question": "Ryger du dagligt?"}])
    assert len({plain.version, asked.version, reworded.version}) == 3
    assert StudyDefinition.model_validate(plain.model_dump(by_alias=True)).version == plain.version
