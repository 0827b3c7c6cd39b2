"""The panel as the engine sees it on one match date: every field a criterion can name, as a
numpy array with a mask of where it is known, and the reported codes indexed for fast lookup.

Prepared once per match run and shared by every study in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.arrow_columns import arrow_column, local_days
from matching.code_index import CodeIndex
from matching.history import ProfileHistory
from matching.regions import regions_of
from schemas.signup import MATCHED_FIELDS, stored_type
from schemas.study_fields import FIELDS, FieldKind, ProfileField

#: How each stored type (``schemas.signup.stored_type``) is read into Arrow.
_ARROW_TYPES: dict[type, pa.DataType] = {
    str: pa.string(),
    datetime: pa.timestamp("us", tz="UTC"),
    date: pa.date32(),
    int: pa.int32(),
    float: pa.float64(),
    bool: pa.bool_(),
}
#: What ``prepare_panel`` reads: each volunteer's current profile, as ``store.match_runs``
#: reads it from the store (a DataFrame of these columns; Arrow-backed or not). The fields are
#: ``schemas.signup.MATCHED_FIELDS``, declared once there.
PROFILE_SCHEMA = pa.schema(
    [
        ("volunteer_id", pa.string()),
        *((name, _ARROW_TYPES[stored_type(name)]) for name in MATCHED_FIELDS),
    ]
)
PROFILE_COLUMNS = tuple(PROFILE_SCHEMA.names)


@dataclass(frozen=True)
class FieldValues:
    """One field over the panel: its values, and where they are known. A choice field's values
    are positions in ``choices`` (int8, -1 where unknown): comparing small integers is many
    times faster than comparing a million strings."""

    values: np.ndarray
    known: np.ndarray
    choices: tuple[str, ...] = ()


@dataclass
class PreparedPanel:
    as_of: date
    size: int
    volunteer_ids: pa.Array | pa.ChunkedArray
    submission_ids: pa.Array | pa.ChunkedArray
    #: The day each current profile was submitted (Danish local date, ``datetime64[D]``).
    submitted_on: np.ndarray
    fields: dict[str, FieldValues]
    codes: dict[str, CodeIndex]
    #: Every profile version, for criteria with a window; None when the panel was prepared
    #: without (no study of the run looks back).
    history: ProfileHistory | None = None


def prepare_panel(
    profiles: pd.DataFrame, as_of: date, versions: pd.DataFrame | None = None
) -> PreparedPanel:
    """The engine's view of ``profiles`` (``PROFILE_COLUMNS``) on the day ``as_of``, with
    their profile ``versions`` (``matching.history.HISTORY_COLUMNS``) when a study looks back."""
    size = len(profiles)
    submitted = local_days(profiles["submitted_at"])
    birth = arrow_column(profiles["birth_date"]).cast(pa.date32())
    height = _numbers(profiles["height_cm"])
    weight = _numbers(profiles["weight_kg"])
    metres = height / 100
    bmi = weight / (metres * metres)
    postcode = _numbers(profiles["postcode"])
    sex = _answered(profiles["sex"], FIELDS["sex"])
    regions = regions_of(postcode)
    fields = {
        "age": _known_numbers(_whole_years(birth, as_of)),
        "bmi": _known_numbers(bmi),
        "region": FieldValues(regions, regions >= 0, FIELDS["region"].choices),
        "months_since_update": _known_numbers(_whole_months(submitted, as_of)),
        "sex": sex,
        "postcode": _known_numbers(postcode),
        "height_cm": _known_numbers(height),
        "weight_kg": _known_numbers(weight),
        "pregnant": _pregnancy(profiles["pregnant"]),
    }
    # Every other field a criterion may name is an answer, read as its kind says.
    for name, profile_field in FIELDS.items():
        if name not in fields:
            fields[name] = _answered(profiles[name], profile_field)
        if profile_field.asked_of:
            fields[name] = _asked_only_of(profile_field, sex, fields[name])
    volunteer_ids = _strings(profiles["volunteer_id"])
    return PreparedPanel(
        as_of=as_of,
        size=size,
        volunteer_ids=volunteer_ids,
        submission_ids=_strings(profiles["submission_id"]),
        submitted_on=submitted.to_numpy(zero_copy_only=False).astype("datetime64[D]"),
        fields=fields,
        codes={
            "diagnoses": CodeIndex.from_lists(profiles["diagnoses"]),
            "medicines": CodeIndex.from_lists(profiles["medicines"]),
        },
        history=None if versions is None else ProfileHistory.of(versions, volunteer_ids),
    )


def _strings(column: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Ids as Arrow text, chunks kept (joining them would copy a million strings)."""
    text = pa.array(column, from_pandas=True)
    return (
        text
        if pa.types.is_string(text.type) or pa.types.is_large_string(text.type)
        else text.cast(pa.string())
    )


def _numbers(column: pd.Series) -> np.ndarray:
    """As floats, NaN where missing (or, never expected after ingest, not a number)."""
    try:
        values = arrow_column(column).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pa.array(pd.to_numeric(column, errors="coerce"), pa.float64(), from_pandas=True)
    return values.to_numpy(zero_copy_only=False)


def _known_numbers(values: np.ndarray) -> FieldValues:
    return FieldValues(values, ~np.isnan(values))


def _answered(column: pd.Series, answered: ProfileField) -> FieldValues:
    """An answer as its kind reads: yes/no, a choice (by position), or a number."""
    if answered.kind is FieldKind.YES_NO:
        return _yes_no(column)
    if answered.kind is FieldKind.CHOICE:
        return FieldValues(*_positions(column, answered.choices), answered.choices)
    return _known_numbers(_numbers(column))


def _positions(column: pd.Series, choices: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each answer's position in ``choices`` (int8, -1 for a missing or other answer), and
    where it is one of them."""
    found = pc.index_in(arrow_column(column).cast(pa.string()), value_set=pa.array(choices))
    positions = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8)
    return positions, positions >= 0


def _yes_no(column: pd.Series) -> FieldValues:
    answers = arrow_column(column).cast(pa.bool_())
    known = answers.is_valid().to_numpy(zero_copy_only=False)
    return FieldValues(answers.fill_null(False).to_numpy(zero_copy_only=False), known)


def _asked_only_of(field: ProfileField, sex: FieldValues, answer: FieldValues) -> FieldValues:
    """A field the form asks only of some sexes: their answer where asked, else what the
    declaration says a missing answer means (``not_asked_means``), else unknown."""
    asked = np.isin(sex.values, [sex.choices.index(s) for s in field.asked_of])
    values = np.where(asked, answer.values, False)
    known = asked & answer.known
    for not_asked, meaning in field.not_asked_means:
        these = sex.values == sex.choices.index(not_asked)
        values = np.where(these, meaning, values)
        known |= these
    return FieldValues(values, known & sex.known)


def _pregnancy(answer: pd.Series) -> FieldValues:
    """Yes or no; empty or "Ved ikke" (don't know) is unknown."""
    said, known = _positions(answer, ("yes", "no"))
    return FieldValues(said == 0, known)


def _whole_years(birth: pa.Array, day: date) -> np.ndarray:
    """Age in whole years on ``day`` (NaN where unknown); a 29 February birthday counts on
    1 March."""
    year, month, dom = _calendar(birth)
    before_birthday = (month > day.month) | ((month == day.month) & (dom > day.day))
    return day.year - year - before_birthday


def _whole_months(submitted: pa.Array, day: date) -> np.ndarray:
    year, month, dom = _calendar(submitted)
    return (day.year - year) * 12 + (day.month - month) - (dom > day.day)


def _calendar(days: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day as floats (NaN where the date is missing)."""
    return tuple(
        part(days).cast(pa.float64()).to_numpy(zero_copy_only=False)
        for part in (pc.year, pc.month, pc.day)
    )
