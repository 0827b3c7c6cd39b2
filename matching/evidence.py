"""Why each candidate fits: per criterion, the outcome and the evidence in words
("diagnosis G25.8 reported 02-03-2026", "age 64"), built column by column for the candidates
only (never per volunteer of the whole panel)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from matching import outcomes
from matching.engine import StudyMatch
from matching.panel import FieldValues
from schemas.study import (
    AllOf,
    AnyOf,
    AtLeastOf,
    CodeCriterion,
    CriterionBase,
    FieldComparison,
    NotCriterion,
    children,
)
from schemas.study_fields import Region

_OUTCOME_NAMES = np.array(["not_met", "unknown", "met"], dtype=object)
#: How a field's value reads in evidence: a prefix, and a unit after it.
_SAYS = {
    "age": ("age ", ""),
    "bmi": ("BMI ", ""),
    "months_since_update": ("profile updated ", " months ago"),
    "postcode": ("postcode ", ""),
    "height_cm": ("height ", " cm"),
    "weight_kg": ("weight ", " kg"),
    "rls_nights_per_week": ("leg symptoms ", " nights a week"),
    "sleep_quality": ("sleep quality ", " of 5"),
    "sex": ("sex: ", ""),
    "region": ("", ""),
    "pregnant": ("pregnant: ", ""),
    "smoker": ("smokes: ", ""),
    "rls_urge": ("urge to move the legs: ", ""),
    "rls_at_rest": ("worse at rest: ", ""),
    "rls_relieved_by_movement": ("relieved by movement: ", ""),
    "rls_evening": ("worse in the evening: ", ""),
}
#: What evidence says when a field is not known.
_MISSING = {
    "bmi": "height or weight not answered",
    "region": "postcode outside the five regions",
    "pregnant": "pregnancy not answered (or 'Ved ikke')",
    "rls_nights_per_week": "nights with leg symptoms not answered",
}
_CODE_WORDS = {"diagnoses": ("diagnosis", "diagnoses"), "medicines": ("medicine", "medicines")}


def explain(match: StudyMatch, rows: np.ndarray) -> pd.DataFrame:
    """For the given panel rows: ``<criterion id>`` (outcome name) and ``<criterion id>.evidence``
    columns, in the order the criteria are written."""
    columns: dict[str, np.ndarray] = {}
    reported_on = pd.Series(match.panel.submitted_on[rows]).map(_danish_date).to_numpy(dtype=object)
    for criterion in match.study.criteria():
        outcome = match.outcomes[criterion.id][rows]
        columns[criterion.id] = _OUTCOME_NAMES[outcome]
        columns[f"{criterion.id}.evidence"] = _evidence(
            criterion, match, rows, outcome, reported_on
        )
    return pd.DataFrame(columns)


def _evidence(
    criterion: CriterionBase,
    match: StudyMatch,
    rows: np.ndarray,
    outcome: np.ndarray,
    reported_on: np.ndarray,
) -> np.ndarray:
    if isinstance(criterion, FieldComparison):
        return _field_evidence(criterion, match.panel.fields[criterion.field], rows)
    if isinstance(criterion, CodeCriterion):
        return _code_evidence(criterion, match, rows, outcome, reported_on)
    parts = children(criterion)
    states = np.stack([match.outcomes[child.id][rows] for child in parts])
    met = (states == outcomes.MET).sum(axis=0)
    if isinstance(criterion, NotCriterion):
        said = np.where(
            states[0] == outcomes.MET, f"'{parts[0].id}' is met", f"'{parts[0].id}' is not met"
        )
        return np.where(states[0] == outcomes.UNKNOWN, f"'{parts[0].id}' is unknown", said).astype(
            object
        )
    if isinstance(criterion, AtLeastOf):
        need = criterion.at_least
        return np.array(
            [f"{m} of {len(parts)} met (needs {need})" for m in range(len(parts) + 1)], dtype=object
        )[met]
    names = np.array([child.id for child in parts], dtype=object)
    if isinstance(criterion, AnyOf):
        first_met = np.argmax(states == outcomes.MET, axis=0)
        return np.where(
            met > 0, "met by '" + names[first_met] + "'", _listing(states, names, "not met")
        ).astype(object)
    assert isinstance(criterion, AllOf)
    return np.where(
        met == len(parts), f"all {len(parts)} met", _listing(states, names, "not met")
    ).astype(object)


def _listing(states: np.ndarray, names: np.ndarray, what: str) -> np.ndarray:
    """ "not met: a, b; unknown: c" for each row, from the children's states."""
    failing = states == outcomes.NOT_MET
    unknown = states == outcomes.UNKNOWN
    said = []
    for row in range(states.shape[1]):
        parts = []
        if failing[:, row].any():
            parts.append(f"{what}: " + ", ".join(names[failing[:, row]]))
        if unknown[:, row].any():
            parts.append("unknown: " + ", ".join(names[unknown[:, row]]))
        said.append("; ".join(parts))
    return np.array(said, dtype=object)


def _field_evidence(
    comparison: FieldComparison, column: FieldValues, rows: np.ndarray
) -> np.ndarray:
    prefix, unit = _SAYS[comparison.field]
    values = column.values[rows]
    known = column.known[rows]
    if values.dtype == bool:
        text = np.where(values, "yes", "no").astype(object)
    elif values.dtype == object:
        text = np.array([_choice(v) for v in values], dtype=object)
    else:
        decimals = 1 if comparison.field in ("bmi", "weight_kg") else 0
        text = (
            pd.Series(values)
            .round(decimals)
            .map(lambda v: f"{v:.{decimals}f}")
            .to_numpy(dtype=object)
        )
    said = prefix + text + unit
    field = str(comparison.field)
    missing = _MISSING.get(field, f"{prefix.strip(' :')} not answered")
    if comparison.if_unknown.value != "unknown":
        missing += f"; counted as {comparison.if_unknown.value.replace('_', ' ')}"
    return np.where(known, said, missing).astype(object)


def _choice(value: object) -> str:
    if value is None:
        return ""
    if value in Region.__members__.values():
        return Region(str(value)).display_name
    return str(value)


def _code_evidence(
    criterion: CodeCriterion,
    match: StudyMatch,
    rows: np.ndarray,
    outcome: np.ndarray,
    reported_on: np.ndarray,
) -> np.ndarray:
    one, many = _CODE_WORDS[criterion.system]
    index = match.panel.codes[criterion.system]
    codes = criterion.codes
    wanted = ", ".join(codes.any_of)
    found = index.codes_reported(rows, tuple(codes.any_of), tuple(codes.except_)).to_numpy(
        dtype=object
    )
    answered = index.answered[rows]
    reported_any = np.isin(rows, index.rows)
    met_text = one + " " + found + " reported " + reported_on
    none_text = "no " + many + " reported " + reported_on
    other_text = f"none of {wanted} reported " + reported_on
    missing = f"{many} not answered"
    if criterion.if_unknown.value != "unknown":
        missing += f"; counted as {criterion.if_unknown.value.replace('_', ' ')}"
    said = np.where(found != "", met_text, np.where(reported_any, other_text, none_text))
    return np.where(answered, said, missing).astype(object)


def _danish_date(day: date) -> str:
    return day.strftime("%d-%m-%Y")
