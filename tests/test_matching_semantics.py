"""The matching engine agrees with the language's definition: random panels and random
criteria trees, the vectorised engine against a row-by-row reference evaluator."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching import outcomes
from matching.engine import match_study
from matching.history import HISTORY_COLUMNS
from matching.panel import PROFILE_COLUMNS, prepare_panel
from matching.reference import evaluate
from schemas.study import StudyDefinition
from schemas.study_fields import FIELDS, FieldKind
from tests.helpers import study_of

DIAGNOSES = [
    "G25.8",
    "G25.0",
    "N18.3",
    "N19",
    "D65",
    "D68.2",
    "D69.9",
    "I48",
    "I10",
    "E11",
    "E11.9",
]
MEDICINES = ["A12CC05", "A12CC04", "N04BC05", "N04BA01", "N02BE01", "A10AB01", "A10BA02", "A11CC05"]
DIAGNOSIS_PATTERNS = ["G25", "G25.8", "N18", "N18-N19", "D65-D69", "D68", "I47-I49", "E11", "E11.9"]
MEDICINE_PATTERNS = ["A12CC", "A12", "N04BC", "N04B", "A10A", "A10", "A11CC05"]


def code_list(pool: list[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(
        st.none(),
        st.just(""),
        st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True).map("|".join),
    )


maybe_bool = st.one_of(st.none(), st.booleans())


moments = st.datetimes(datetime(2020, 1, 1), datetime(2026, 12, 31), timezones=st.just(UTC))


@st.composite
def earlier_versions(draw: st.DrawFn, current: datetime) -> list[dict[str, Any]]:
    """Versions submitted before the current profile (some on the same day, some across
    midnight in Copenhagen), with their code answers."""
    times = draw(
        st.lists(
            st.one_of(
                st.datetimes(datetime(2020, 1, 1), current.replace(tzinfo=None)),
                st.integers(1, 6 * 3600).map(
                    lambda s: current.replace(tzinfo=None) - timedelta(seconds=s)
                ),
            ),
            max_size=3,
            unique=True,  # a volunteer never submits twice in the same microsecond
        )
    )
    return [
        {
            "submitted_at": moment.replace(tzinfo=UTC),
            "diagnoses": draw(code_list(DIAGNOSES)),
            "medicines": draw(code_list(MEDICINES)),
        }
        for moment in times
        if moment.replace(tzinfo=UTC) < current
    ]


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, Any]:
    sex = draw(st.sampled_from(["female", "male", "other"]))
    height = draw(st.one_of(st.none(), st.integers(120, 230)))
    submitted_at = draw(moments)
    diagnoses, medicines = draw(code_list(DIAGNOSES)), draw(code_list(MEDICINES))
    current = {"submitted_at": submitted_at, "diagnoses": diagnoses, "medicines": medicines}
    return {
        "volunteer_id": "V",
        "submission_id": "S",
        "submitted_at": submitted_at,
        "history": [*draw(earlier_versions(submitted_at)), current],
        "birth_date": draw(st.dates(date(1915, 1, 1), date(2008, 12, 31))),
        "sex": sex,
        "postcode": str(draw(st.integers(1000, 9990))),
        "height_cm": height,
        "weight_kg": draw(st.one_of(st.none(), st.integers(300, 3000).map(lambda w: w / 10))),
        "diagnoses": diagnoses,
        "medicines": medicines,
        "pregnant": draw(st.one_of(st.none(), st.sampled_from(["yes", "no", "unknown"])))
        if sex == "female"
        else None,
        **{
            name: draw(maybe_bool)
            for name in (
                "smoker",
                "rls_urge",
                "rls_at_rest",
                "rls_relieved_by_movement",
                "rls_evening",
            )
        },
        "rls_nights_per_week": draw(st.one_of(st.none(), st.integers(0, 7))),
        "sleep_quality": draw(st.one_of(st.none(), st.integers(1, 5))),
    }


@st.composite
def comparisons(draw: st.DrawFn) -> dict[str, Any]:
    field = FIELDS[draw(st.sampled_from(sorted(FIELDS)))]
    if field.kind is FieldKind.YES_NO:
        return {"field": field.name, "equals": draw(st.booleans())}
    if field.kind is FieldKind.CHOICE:
        choice = st.sampled_from(field.choices)
        test = draw(st.sampled_from(["equals", "one_of"]))
        value = (
            draw(choice)
            if test == "equals"
            else draw(st.lists(choice, min_size=1, max_size=3, unique=True))
        )
        return {"field": field.name, test: value}
    assert field.low is not None and field.high is not None
    number = st.integers(int(field.low), int(field.high))
    test = draw(st.sampled_from(["range", "at_least", "at_most", "equals", "one_of"]))
    if test == "range":
        low, high = sorted([draw(number), draw(number)])
        return {"field": field.name, "at_least": low, "at_most": high}
    if test in ("at_least", "at_most"):
        return {"field": field.name, test: draw(number)}
    if test == "equals":
        return {"field": field.name, "equals": draw(number)}
    return {
        "field": field.name,
        "one_of": draw(st.lists(number, min_size=1, max_size=3, unique=True)),
    }


@st.composite
def code_criteria(draw: st.DrawFn) -> dict[str, Any]:
    system, patterns = draw(
        st.sampled_from([("diagnoses", DIAGNOSIS_PATTERNS), ("medicines", MEDICINE_PATTERNS)])
    )
    chosen = draw(st.lists(st.sampled_from(patterns), min_size=1, max_size=3, unique=True))
    excepted = draw(st.lists(st.sampled_from(patterns), max_size=1))
    window = draw(st.sampled_from([None, None, "30d", "3m", "1y", "2y", "ever"]))
    return {
        system: {"any_of": chosen, "except": excepted},
        **({"within": window} if window else {}),
    }


leaves = st.one_of(comparisons(), code_criteria())
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"all": c}),
        st.lists(inner, min_size=1, max_size=3).map(lambda c: {"any": c}),
        inner.map(lambda c: {"not": c}),
        st.tuples(st.integers(0, 4), st.lists(inner, min_size=1, max_size=3)).map(
            lambda t: {"at_least": t[0], "of": t[1]}
        ),
    ),
    max_leaves=6,
)


@st.composite
def studies(draw: st.DrawFn) -> StudyDefinition:
    counter = itertools.count()

    def named(node: dict[str, Any]) -> dict[str, Any]:
        number = next(counter)
        node = dict(node, id=f"c{number}", label=f"criterion {number}")
        node["if_unknown"] = draw(st.sampled_from(["unknown", "unknown", "met", "not_met"]))
        node["if_met"] = draw(st.sampled_from(["met", "met", "met", "screen"]))
        for key in ("all", "any", "of"):
            if key in node:
                node[key] = [named(child) for child in node[key]]
        if "not" in node:
            node["not"] = named(node["not"])
        return node

    return study_of(
        [named(t) for t in draw(st.lists(trees, min_size=1, max_size=3))],
        [named(t) for t in draw(st.lists(trees, max_size=2))],
        study_id="random",
    )


TRUTH = {True: outcomes.MET, False: outcomes.NOT_MET, None: outcomes.UNKNOWN}


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    study=studies(),
    panel=st.lists(profiles(), min_size=1, max_size=25),
    as_of=st.dates(date(2025, 1, 1), date(2027, 12, 31)),
)
def test_the_engine_agrees_with_the_reference_evaluator(
    study: StudyDefinition, panel: list[dict[str, Any]], as_of: date
) -> None:
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
    # The store reads versions in no particular order.
    versions = versions.sample(frac=1, random_state=len(versions))
    match = match_study(study, prepare_panel(frame, as_of, versions))
    for row, profile in enumerate(panel):
        expected, overall, to_screen = evaluate(study, profile, as_of)
        for criterion_id, truth in expected.items():
            assert match.outcomes[criterion_id][row] == TRUTH[truth], (criterion_id, profile)
        assert match.overall[row] == TRUTH[overall]
        assert [c for c, rows in match.screening.items() if rows[row]] == to_screen
