"""The panel as the engine sees it on one match date: every field a criterion can name, as a
numpy array with a mask of where it is known, and the reported codes indexed for fast lookup.

Prepared once per match run and shared by every study in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching.regions import regions_of
from schemas.signup import MATCHED_FIELDS, stored_type
from schemas.study_checks import covers
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
class CodeIndex:
    """The codes volunteers reported, one entry per (volunteer, code), with a vocabulary of
    distinct codes: a code set is matched against the vocabulary once, not per volunteer."""

    size: int
    #: The question was answered (``INGEN`` included): an unanswered list is unknown.
    answered: np.ndarray
    rows: np.ndarray
    code_ids: np.ndarray
    vocabulary: list[str]
    _matches: dict[tuple[tuple[str, ...], tuple[str, ...]], np.ndarray] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def from_lists(cls, lists: pd.Series) -> CodeIndex:
        """From ``|``-joined code lists (``''`` answered none, missing not answered)."""
        text = pa.array(lists, type=pa.string(), from_pandas=True)
        if isinstance(text, pa.ChunkedArray):
            text = text.combine_chunks()
        parts = pc.split_pattern(text, "|")
        codes = pc.list_flatten(parts)
        rows = pc.list_parent_indices(parts).to_numpy()
        present = pc.not_equal(codes, "").to_numpy(zero_copy_only=False)
        encoded = pc.dictionary_encode(codes.filter(pa.array(present)))
        return cls(
            size=len(text),
            answered=text.is_valid().to_numpy(zero_copy_only=False),
            rows=rows[present],
            code_ids=encoded.indices.to_numpy(),
            vocabulary=encoded.dictionary.to_pylist(),
        )

    def vocabulary_matching(self, any_of: tuple[str, ...], excepted: tuple[str, ...]) -> np.ndarray:
        """Which distinct codes count for a code set (computed once per code set and run)."""
        key = (any_of, excepted)
        if key not in self._matches:
            self._matches[key] = np.array(
                [
                    any(covers(p, code) for p in any_of)
                    and not any(covers(e, code) for e in excepted)
                    for code in self.vocabulary
                ],
                dtype=bool,
            )
        return self._matches[key]

    def reporting(self, any_of: tuple[str, ...], excepted: tuple[str, ...]) -> np.ndarray:
        """Whether each volunteer reports a code of the set."""
        hits = self.vocabulary_matching(any_of, excepted)[self.code_ids]
        found = np.zeros(self.size, dtype=bool)
        found[self.rows[hits]] = True
        return found

    def codes_reported(
        self, rows: np.ndarray, any_of: tuple[str, ...], excepted: tuple[str, ...]
    ) -> pa.Array:
        """For the given rows (ascending positions), the reported codes of the set,
        ``', '``-joined, ``''`` where none (for evidence)."""
        hits = self.vocabulary_matching(any_of, excepted)[self.code_ids]
        wanted = np.zeros(self.size, dtype=bool)
        wanted[rows] = True
        keep = hits & wanted[self.rows]
        # Entries are in row order, so each wanted row's codes are one contiguous slice.
        position = np.searchsorted(rows, self.rows[keep])
        offsets = np.zeros(len(rows) + 1, dtype=np.int32)
        np.cumsum(np.bincount(position, minlength=len(rows)), out=offsets[1:])
        codes = pa.array(self.vocabulary, pa.string()).take(pa.array(self.code_ids[keep]))
        return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), codes), ", ")

    @property
    def reports_any(self) -> np.ndarray:
        """Whether each volunteer reported at least one code (``INGEN`` reports none)."""
        found = np.zeros(self.size, dtype=bool)
        found[self.rows] = True
        return found


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


def prepare_panel(profiles: pd.DataFrame, as_of: date) -> PreparedPanel:
    """The engine's view of ``profiles`` (``PROFILE_COLUMNS``) on the day ``as_of``."""
    size = len(profiles)
    submitted = _local_days(profiles["submitted_at"])
    birth = _arrow(profiles["birth_date"]).cast(pa.date32())
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
        "pregnant": _pregnancy(sex, profiles["pregnant"]),
    }
    # Every other field a criterion may name is an answer, read as its kind says.
    for name, profile_field in FIELDS.items():
        if name not in fields:
            fields[name] = _answered(profiles[name], profile_field)
    return PreparedPanel(
        as_of=as_of,
        size=size,
        volunteer_ids=_strings(profiles["volunteer_id"]),
        submission_ids=_strings(profiles["submission_id"]),
        submitted_on=submitted.to_numpy(zero_copy_only=False).astype("datetime64[D]"),
        fields=fields,
        codes={
            "diagnoses": CodeIndex.from_lists(profiles["diagnoses"]),
            "medicines": CodeIndex.from_lists(profiles["medicines"]),
        },
    )


def _arrow(column: pd.Series) -> pa.Array:
    values = pa.array(column, from_pandas=True)
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


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
        values = _arrow(column).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        values = pa.array(pd.to_numeric(column, errors="coerce"), pa.float64(), from_pandas=True)
    return values.to_numpy(zero_copy_only=False)


def _local_days(moments: pd.Series) -> pa.Array:
    """The Danish calendar day of each moment (stored in UTC; naive ones are UTC too)."""
    values = _arrow(moments)
    if not pa.types.is_timestamp(values.type):
        values = pa.array(pd.to_datetime(moments, utc=True), from_pandas=True)
    if values.type.tz is None:
        values = pc.assume_timezone(values, "UTC")
    local = values.cast(pa.timestamp("us", tz="Europe/Copenhagen"))
    return pc.local_timestamp(local).cast(pa.date32())


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
    found = pc.index_in(_arrow(column).cast(pa.string()), value_set=pa.array(choices))
    positions = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int8)
    return positions, positions >= 0


def _yes_no(column: pd.Series) -> FieldValues:
    answers = _arrow(column).cast(pa.bool_())
    known = answers.is_valid().to_numpy(zero_copy_only=False)
    return FieldValues(answers.fill_null(False).to_numpy(zero_copy_only=False), known)


def _pregnancy(sex: FieldValues, answer: pd.Series) -> FieldValues:
    """Asked of women only: for men and others it is no, not unknown. A woman's empty answer or
    "Ved ikke" (don't know) is unknown."""
    woman = sex.values == sex.choices.index("female")
    said, _ = _positions(answer, ("yes", "no"))
    values = woman & (said == 0)
    known = sex.known & (~woman | (said >= 0))
    return FieldValues(values, known)


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
