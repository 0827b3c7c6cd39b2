"""Named edge cases of the matching language: the ones people get wrong."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pytest

from matching.candidates import candidate_records
from matching.engine import match_study
from matching.evidence import evidence_frame
from matching.funnel import attrition_funnel
from matching.panel import PROFILE_COLUMNS, prepare_panel
from matching.regions import region_of
from schemas.study_fields import Region
from tests.helpers import study_of

AS_OF = date(2026, 11, 28)


def person(**values: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(PROFILE_COLUMNS)
    base.update(
        volunteer_id="V1",
        submission_id="S1",
        submitted_at=datetime(2026, 3, 2, 20, 14, tzinfo=UTC),
        birth_date=date(1961, 7, 14),
        sex="male",
        postcode="8000",
    )
    return base | values


def outcomes_of(
    criterion: dict[str, Any], *people: dict[str, Any], as_of: date = AS_OF
) -> list[str]:
    study = study_of([{"id": "c", "label": "c", **criterion}])
    match = match_study(study, prepare_panel(pd.DataFrame(list(people)), as_of))
    return [["not_met", "unknown", "met"][v] for v in match.outcomes["c"]]


def test_a_birthday_on_the_match_date_counts() -> None:
    eighteen_today = person(birth_date=date(2008, 11, 28))
    eighteen_tomorrow = person(birth_date=date(2008, 11, 29))
    assert outcomes_of({"field": "age", "at_least": 18}, eighteen_today, eighteen_tomorrow) == [
        "met",
        "not_met",
    ]


def test_age_bounds_are_inclusive_at_both_ends() -> None:
    ages = [17, 18, 75, 76]
    people = [person(birth_date=date(AS_OF.year - age, 1, 1)) for age in ages]
    assert outcomes_of({"field": "age", "at_least": 18, "at_most": 75}, *people) == [
        "not_met",
        "met",
        "met",
        "not_met",
    ]


def test_a_29_february_birthday_counts_on_1_march() -> None:
    leapling = person(birth_date=date(2008, 2, 29))
    assert outcomes_of({"field": "age", "at_least": 18}, leapling, as_of=date(2026, 2, 28)) == [
        "not_met"
    ]
    assert outcomes_of({"field": "age", "at_least": 18}, leapling, as_of=date(2026, 3, 1)) == [
        "met"
    ]


def test_answered_none_is_not_met_and_not_answered_is_unknown() -> None:
    criterion = {"diagnoses": ["G25.8"]}
    assert outcomes_of(
        criterion, person(diagnoses=""), person(diagnoses=None), person(diagnoses="I10|G25.8")
    ) == [
        "not_met",
        "unknown",
        "met",
    ]


def test_lower_case_codes_in_a_study_are_normalised() -> None:
    assert outcomes_of({"diagnoses": [" g25.8 "]}, person(diagnoses="G25.8")) == ["met"]


def test_codes_cover_sub_codes_ranges_and_exceptions() -> None:
    bleeding = {"diagnoses": {"any_of": ["D65-D69"], "except": ["D68.2"]}}
    people = [
        person(diagnoses=code) for code in ("D65", "D68.2", "D68.2|D66", "D69.9", "D70", "D64.9")
    ]
    assert outcomes_of(bleeding, *people) == ["met", "not_met", "met", "met", "not_met", "not_met"]
    assert outcomes_of(
        {"medicines": ["A12CC"]}, person(medicines="A12CC05"), person(medicines="A12AA04")
    ) == ["met", "not_met"]


@pytest.mark.parametrize(
    ("sex", "answer", "expected"),
    [
        ("male", None, "not_met"),  # not asked: the declaration says no
        ("other", None, "unknown"),  # not asked, and nothing says what that means: screen
        ("female", None, "unknown"),  # asked and not answered
        ("female", "unknown", "unknown"),  # "Ved ikke"
        ("female", "no", "not_met"),
        ("female", "yes", "met"),
    ],
)
def test_pregnancy_for_each_sex(sex: str, answer: str | None, expected: str) -> None:
    assert outcomes_of({"field": "pregnant", "equals": True}, person(sex=sex, pregnant=answer)) == [
        expected
    ]


def test_if_unknown_decides_for_missing_answers() -> None:
    nobody_knows = person(height_cm=None, weight_kg=80.0)
    bmi = {"field": "bmi", "at_least": 25}
    assert outcomes_of(bmi, nobody_knows) == ["unknown"]
    assert outcomes_of(bmi | {"if_unknown": "met"}, nobody_knows) == ["met"]
    assert outcomes_of(bmi | {"if_unknown": "not_met"}, nobody_knows) == ["not_met"]


def test_regions_from_postcodes() -> None:
    assert region_of(2100) is Region.HOVEDSTADEN
    assert region_of(2670) is Region.SJAELLAND
    assert region_of(3700) is Region.HOVEDSTADEN  # Rønne, Bornholm
    assert region_of(5000) is Region.SYDDANMARK
    assert region_of(6950) is Region.MIDTJYLLAND  # Ringkøbing
    assert region_of(7700) is Region.NORDJYLLAND  # Thisted
    assert region_of(8000) is Region.MIDTJYLLAND
    assert region_of(9000) is Region.NORDJYLLAND
    assert region_of(3900) is None  # Greenland
    assert outcomes_of(
        {"field": "region", "equals": "midtjylland"},
        person(postcode="8000"),
        person(postcode="3900"),
    ) == ["met", "unknown"]


def test_months_since_the_profile_was_updated() -> None:
    updated = person(submitted_at=datetime(2026, 5, 28, 10, 0, tzinfo=UTC))
    assert outcomes_of({"field": "months_since_update", "equals": 6}, updated) == ["met"]
    assert outcomes_of(
        {"field": "months_since_update", "equals": 6}, updated, as_of=date(2026, 11, 27)
    ) == ["not_met"]


def test_months_are_counted_on_the_danish_calendar_day() -> None:
    # 22:30 UTC on 27 May is 00:30 on 28 May in Copenhagen (summer time): on 27 November,
    # five whole months have passed, not six.
    late = person(submitted_at=datetime(2026, 5, 27, 22, 30, tzinfo=UTC))
    month_27 = date(2026, 11, 27)
    assert outcomes_of({"field": "months_since_update", "equals": 5}, late, as_of=month_27) == [
        "met"
    ]


def test_at_least_n_of_counts_unknowns_as_possible() -> None:
    three = {
        "at_least": 2,
        "of": [
            {"id": "a", "label": "a", "field": "smoker", "equals": True},
            {"id": "b", "label": "b", "field": "rls_urge", "equals": True},
            {"id": "e", "label": "e", "field": "rls_evening", "equals": True},
        ],
    }
    people = [
        person(smoker=True, rls_urge=True, rls_evening=None),  # 2 met
        person(smoker=True, rls_urge=None, rls_evening=False),  # 1 met, 1 unknown: could be 2
        person(smoker=False, rls_urge=None, rls_evening=False),  # at most 1
    ]
    assert outcomes_of(three, *people) == ["met", "unknown", "not_met"]


def test_the_funnel_counts_remaining_lost_and_lost_only_here() -> None:
    study = study_of(
        [{"id": "adult", "label": "18-75", "field": "age", "at_least": 18, "at_most": 75}],
        [{"id": "smokes", "label": "smokes", "field": "smoker", "equals": True}],
        study_id="funnel",
    )
    people = pd.DataFrame(
        [
            person(birth_date=date(1940, 1, 1), smoker=True),  # too old and smokes: lost at step 1
            person(birth_date=date(1940, 1, 1), smoker=False),  # too old only
            person(smoker=True),  # smokes only
            person(smoker=None),  # unknown: needs screening
            person(smoker=False),  # eligible
        ]
    )
    match = match_study(study, prepare_panel(people, AS_OF))
    funnel = attrition_funnel(match)
    assert funnel.start == 5 and (funnel.eligible, funnel.needs_screening) == (1, 1)
    adult, smokes = funnel.steps
    assert (adult.remaining, adult.lost, adult.lost_only_here, adult.unknown) == (3, 2, 1, 0)
    assert (smokes.remaining, smokes.lost, smokes.lost_only_here, smokes.unknown) == (2, 1, 1, 1)
    assert list(match.status(match.candidates)) == ["needs_screening", "eligible"]
    assert [c for c, rows in match.screening.items() if rows[3]] == ["smokes"]


def test_evidence_says_what_was_found_and_when() -> None:
    study = study_of(
        [
            {"id": "age", "label": "age", "field": "age", "at_least": 18},
            {"id": "rls", "label": "rls", "diagnoses": ["G25.8", "G25.2"]},
            {"id": "where", "label": "where", "field": "region", "equals": "midtjylland"},
            {
                "id": "either",
                "label": "either",
                "any": [
                    {"id": "smokes", "label": "smokes", "field": "smoker", "equals": True},
                    {"id": "tall", "label": "tall", "field": "height_cm", "at_least": 190},
                ],
            },
        ],
        [{"id": "iron", "label": "iron", "medicines": ["B03A"]}],
        study_id="evidence",
    )
    people = [
        person(diagnoses="G25.81|I10|G25.8", medicines="", smoker=True),
        person(diagnoses="I10", medicines=None, postcode="2100", height_cm=170, smoker=False),
        person(diagnoses="", medicines="B03AA07", smoker=None),
    ]
    match = match_study(study, prepare_panel(pd.DataFrame(people), AS_OF))
    evidence = evidence_frame(match, np.arange(3))
    assert list(evidence["age.evidence"]) == ["age 65"] * 3
    assert list(evidence["rls"]) == ["met", "not_met", "not_met"]
    assert list(evidence["rls.evidence"]) == [
        "diagnoses G25.81, G25.8 reported 02-03-2026",
        "none of G25.8, G25.2 reported 02-03-2026",
        "no diagnoses reported 02-03-2026",
    ]
    assert list(evidence["where.evidence"]) == [
        "Region Midtjylland",
        "Region Hovedstaden",
        "Region Midtjylland",
    ]
    assert list(evidence["either.evidence"]) == [
        "met by 'smokes'",
        "not met: smokes, tall",
        "unknown: smokes, tall",
    ]
    assert list(evidence["iron.evidence"]) == [
        "no medicines reported 02-03-2026",
        "medicines not answered",
        "medicine B03AA07 reported 02-03-2026",
    ]
    assert list(evidence["iron"]) == ["not_met", "unknown", "met"]


def test_candidate_records_are_json_with_the_criteria_in_order() -> None:
    study = study_of(
        [
            {"id": "age", "label": "Alder", "field": "age", "at_least": 18},
            {"id": "where", "label": "Region", "field": "region", "equals": "sjaelland"},
            {"id": "smokes", "label": "ryger", "field": "smoker", "equals": True},
        ],
        study_id="quoted",
    )
    people = [
        person(volunteer_id="V1", postcode="4000", smoker=True),
        person(volunteer_id="V2", postcode="4000", smoker=None),
    ]
    records = candidate_records(match_study(study, prepare_panel(pd.DataFrame(people), AS_OF)))
    assert list(records["status"]) == ["eligible", "needs_screening"]
    assert [json.loads(text) for text in records["unknown_criteria"]] == [[], ["smokes"]]
    first = json.loads(records["explanation"][0])
    assert first == {
        "age": ["met", "age 65"],
        "where": ["met", "Region Sjælland"],
        "smokes": ["met", "smokes: yes"],
    }
    second = json.loads(records["explanation"][1])
    assert second["smokes"] == ["unknown", "smokes not answered"]
