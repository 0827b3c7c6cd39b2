"""Why each candidate fits: per criterion, the outcome and the evidence in words
("diagnosis G25.8 reported 02-03-2026", "age 64"), for the candidates only.

Evidence depends on little per row: a field's value, the outcomes of a criterion's parts, the
codes found and the day they were reported. So it is worded in plain Python once per distinct
case, and spread to the rows with one Arrow ``take``: a study with 100,000 candidates and 15
criteria gets its 1.5 million pieces of evidence without a Python loop over them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching import outcomes
from matching.engine import StudyMatch
from matching.panel import FieldValues
from schemas.study import (
    AllOf,
    AnyOf,
    AtLeastOf,
    CodeCriterion,
    CriterionBase,
    CriterionVisitor,
    FieldComparison,
    NotCriterion,
    children,
    dispatch,
)
from schemas.study_fields import Region

#: Outcome names by value (``matching.outcomes``).
OUTCOME_WORDS = ("not_met", "unknown", "met")
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
    "pregnant": "pregnancy not answered, 'Ved ikke', or not asked (only women are asked)",
    "rls_nights_per_week": "nights with leg symptoms not answered",
}
_ONE_DECIMAL = ("bmi", "weight_kg")
_CODE_WORDS = {"diagnoses": ("diagnosis", "diagnoses"), "medicines": ("medicine", "medicines")}
_REGION_NAMES = {region.value: region.display_name for region in Region}


@dataclass(frozen=True)
class Explained:
    """One criterion over some rows: its distinct cases (an outcome and the evidence) and which
    case each row is. Texts are spread to rows only when asked for."""

    case: np.ndarray
    outcome: list[str]
    evidence: list[str]

    def per_row(self, texts: list[str]) -> pa.Array:
        """``texts`` (one per case) for every row."""
        return pa.array(texts, pa.string()).take(pa.array(self.case))

    def outcome_per_row(self) -> pa.Array:
        return self.per_row(self.outcome)

    def evidence_per_row(self) -> pa.Array:
        return self.per_row(self.evidence)


def explain(match: StudyMatch, rows: np.ndarray) -> dict[str, Explained]:
    """For the given panel rows (ascending positions), per criterion id in the order written:
    the outcome and the evidence."""
    found = {}
    evidence = _Evidence(match, rows)
    for criterion in match.study.criteria():
        keys, say = dispatch(criterion, evidence)
        if criterion.id in match.met_to_screen:
            keys, say = _asked_when_met(keys, say, match.met_to_screen[criterion.id][rows])
        found[criterion.id] = _by_case(match.outcomes[criterion.id][rows], keys, say)
    return found


def _asked_when_met(keys: list[np.ndarray], say: Callable[..., str], met: np.ndarray) -> Wording:
    """An ``if_met: screen`` criterion's evidence, saying why a met one is unknown."""

    def said(*values: int) -> str:
        *own, asked = values
        text = say(*own)
        return f"{text}; met, so the study asks about it when screening" if asked else text

    return [*keys, met.astype(np.int64)], said


def evidence_frame(match: StudyMatch, rows: np.ndarray) -> pd.DataFrame:
    """``explain`` as a table: ``<id>`` and ``<id>.evidence`` columns."""
    columns = {}
    for criterion_id, explained in explain(match, rows).items():
        columns[criterion_id] = explained.outcome_per_row().to_pylist()
        columns[f"{criterion_id}.evidence"] = explained.evidence_per_row().to_pylist()
    return pd.DataFrame(columns)


#: What evidence depends on, per row (small non-negative integers), and how to say it.
Wording = tuple[list[np.ndarray], Callable[..., str]]


def _by_case(outcome: np.ndarray, keys: list[np.ndarray], say: Callable[..., str]) -> Explained:
    """``say(*keys at a row)`` called once per distinct combination, not once per row."""
    case, first_row = distinct_cases([outcome, *keys])
    return Explained(
        case=case,
        outcome=[OUTCOME_WORDS[outcome[row]] for row in first_row],
        evidence=[say(*(int(key[row]) for key in keys)) for row in first_row],
    )


def distinct_cases(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the number of its distinct combination of ``keys`` (non-negative integers);
    and per combination, the first row that has it."""
    case = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        if len(key):
            # Renumbered densely after each key, so the combination never overflows.
            case = pd.factorize(case * (int(key.max()) + 1) + key.astype(np.int64))[0]
    # factorize numbers in order of first appearance: a case starts where the running maximum rises.
    seen = np.maximum.accumulate(case)
    return case, np.flatnonzero(np.diff(seen, prepend=-1) > 0)


class _Evidence(CriterionVisitor[Wording]):
    """What a criterion's evidence depends on over ``rows``, and how to say it."""

    def __init__(self, match: StudyMatch, rows: np.ndarray) -> None:
        self.match = match
        self.rows = rows

    def on_field(self, criterion: FieldComparison) -> Wording:
        return _field_evidence(criterion, self.match.panel.fields[criterion.field], self.rows)

    def on_codes(self, criterion: CodeCriterion) -> Wording:
        return _code_evidence(criterion, self.match, self.rows)

    def on_all(self, criterion: AllOf) -> Wording:
        def say(parts: list[str], state: tuple[int, ...]) -> str:
            met = _met(parts, state)
            return f"all {len(parts)} met" if len(met) == len(parts) else _listing(parts, state)

        return self._parts(criterion, say)

    def on_any(self, criterion: AnyOf) -> Wording:
        def say(parts: list[str], state: tuple[int, ...]) -> str:
            met = _met(parts, state)
            return f"met by '{met[0]}'" if met else _listing(parts, state)

        return self._parts(criterion, say)

    def on_not(self, criterion: NotCriterion) -> Wording:
        def say(parts: list[str], state: tuple[int, ...]) -> str:
            return f"'{parts[0]}' is {OUTCOME_WORDS[state[0]].replace('_', ' ')}"

        return self._parts(criterion, say)

    def on_at_least_of(self, criterion: AtLeastOf) -> Wording:
        def say(parts: list[str], state: tuple[int, ...]) -> str:
            return f"{len(_met(parts, state))} of {len(parts)} met (needs {criterion.at_least})"

        return self._parts(criterion, say)

    def _parts(
        self, criterion: CriterionBase, say: Callable[[list[str], tuple[int, ...]], str]
    ) -> Wording:
        """Evidence from the outcomes of the parts (by id, in the order written)."""
        parts = [child.id for child in children(criterion)]
        states = [self.match.outcomes[part][self.rows].astype(np.int64) for part in parts]
        return states, lambda *state: say(parts, state)


def _met(parts: list[str], state: tuple[int, ...]) -> list[str]:
    return [part for part, value in zip(parts, state, strict=True) if value == outcomes.MET]


def _listing(parts: list[str], state: tuple[int, ...]) -> str:
    """``not met: a, b; unknown: c``."""
    listing = []
    for value, heading in ((outcomes.NOT_MET, "not met"), (outcomes.UNKNOWN, "unknown")):
        named = [part for part, found in zip(parts, state, strict=True) if found == value]
        if named:
            listing.append(f"{heading}: {', '.join(named)}")
    return "; ".join(listing)


def _field_evidence(comparison: FieldComparison, column: FieldValues, rows: np.ndarray) -> Wording:
    field = str(comparison.field)
    prefix, unit = _SAYS[field]
    shown = column.values[rows]
    if field in _ONE_DECIMAL:
        shown = np.round(shown, 1)  # as said: BMI 27.3, not one case per row
    distinct, values = pd.factorize(shown, use_na_sentinel=True)
    # 0: not known; k: the k-th distinct value.
    case = np.where(column.known[rows], distinct + 1, 0)
    missing = _MISSING.get(field, f"{prefix.strip(' :')} not answered")
    if comparison.if_unknown.value != "unknown":
        missing += f"; counted as {comparison.if_unknown.value.replace('_', ' ')}"

    def say(k: int) -> str:
        value = values[k - 1]
        if column.choices:
            value = column.choices[value]
        return f"{prefix}{_value_text(field, value)}{unit}" if k else missing

    return [case], say


def _value_text(field: str, value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _REGION_NAMES.get(value, value)
    if field in _ONE_DECIMAL:
        return f"{round(float(value), 1):g}"  # type: ignore[arg-type]
    return str(int(value))  # type: ignore[call-overload]


def _code_evidence(criterion: CodeCriterion, match: StudyMatch, rows: np.ndarray) -> Wording:
    if criterion.window is not None:
        return _window_evidence(criterion, match, rows)
    one, many = _CODE_WORDS[criterion.system]
    index = match.panel.codes[criterion.system]
    codes = criterion.codes
    found = pc.dictionary_encode(
        index.codes_reported(rows, tuple(codes.any_of), tuple(codes.except_))
    )
    found_codes = found.dictionary.to_pylist()
    # 0 not answered, 1 answered none, 2 reported other codes, 3 reported codes of the set.
    state = index.answered[rows].astype(np.int64) + index.reports_any[rows]
    state[pc.not_equal(found, "").to_numpy(zero_copy_only=False)] = 3
    day = match.panel.submitted_on[rows].astype(np.int64)
    missing = f"{many} not answered"
    if criterion.if_unknown.value != "unknown":
        missing += f"; counted as {criterion.if_unknown.value.replace('_', ' ')}"

    def say(state: int, code_list: int, day: int) -> str:
        on = _day_text(day)
        if state == 3:
            listed = found_codes[code_list]
            return f"{many if ', ' in listed else one} {listed} reported {on}"
        if state == 2:
            return f"none of {', '.join(codes.any_of)} reported {on}"
        return f"no {many} reported {on}" if state == 1 else missing

    return [state, found.indices.to_numpy(), day], say


def _window_evidence(criterion: CodeCriterion, match: StudyMatch, rows: np.ndarray) -> Wording:
    """What the profile versions of the window said: the latest that reports a code of the set
    ("medicine A12CC04 reported 14-08-2026"), or why none counts."""
    history, window = match.panel.history, criterion.window
    assert history is not None and window is not None  # the engine matched it
    one, many = _CODE_WORDS[criterion.system]
    found = history.evidence(criterion, match.panel.as_of, rows)
    listed, code_case = np.unique(found.codes, return_inverse=True)
    counted = ""
    if criterion.if_unknown.value != "unknown":
        counted = f"; counted as {criterion.if_unknown.value.replace('_', ' ')}"

    def say(day: int, codes: int, versions: int, unanswered: int) -> str:
        if day >= 0:
            text = str(listed[codes])
            return f"{many if ', ' in text else one} {text} reported {_day_text(day)}"
        if versions == 0:
            return f"no profile in effect {window}{counted}"
        if unanswered:
            return (
                f"{many} not answered in {unanswered} of {versions} profile versions {window}"
                + (counted)
            )
        said = "version" if versions == 1 else "versions"
        return f"none of {', '.join(criterion.codes.any_of)} reported {window} ({versions} {said})"

    keys = [found.day + 1, code_case, found.versions, found.unanswered]
    return keys, lambda day, codes, versions, unanswered: say(day - 1, codes, versions, unanswered)


@functools.lru_cache(maxsize=4096)
def _day_text(day: int) -> str:
    """A day (days since 1970-01-01) as the form writes dates: 02-03-2026."""
    return (date(1970, 1, 1) + timedelta(days=day)).strftime("%d-%m-%Y")
