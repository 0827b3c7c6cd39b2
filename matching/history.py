"""Code criteria over a window of profile history (``within: 3m``), vectorised.

A volunteer's profile versions in effect during a window ending on the match date are the one
current when the window opened (the latest submitted before its first day) and every one
submitted from its first day to the match date; ``ever`` has every version up to the match
date. Over them, a code criterion is met when any version reports a code of its set; not met
when every one answered the question and none reports one; unknown otherwise (a version left
it unanswered, or no version was in effect: the volunteer signed up after the match date).

Versions are what ``store.match_runs.profile_history`` reads: every stored version of the
panel's volunteers submitted after their latest withdrawal, the current one included.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching import outcomes
from matching.arrow_columns import arrow_column, local_days
from matching.code_index import CodeIndex
from matching.version_rows import grouped_versions, text_array
from schemas.study import CodeCriterion

#: What ``ProfileHistory.of`` reads, as ``store.match_runs.profile_history`` reads it (a
#: DataFrame of these columns, rows in any order).
HISTORY_SCHEMA = pa.schema(
    [
        ("volunteer_id", pa.string()),
        ("submitted_at", pa.timestamp("us", tz="UTC")),
        ("diagnoses", pa.string()),
        ("medicines", pa.string()),
    ]
)
HISTORY_COLUMNS = tuple(HISTORY_SCHEMA.names)


@dataclass(frozen=True)
class WindowEvidence:
    """Per candidate row, what a criterion with a window found."""

    #: The day (days since 1970-01-01) of the latest version reporting a code of the set;
    #: -1 where none does.
    day: np.ndarray
    #: That version's codes of the set, ``', '``-joined ("" where none).
    codes: np.ndarray
    #: How many versions were in effect during the window.
    versions: np.ndarray
    #: How many of them left the question unanswered.
    unanswered: np.ndarray


@dataclass(frozen=True)
class VersionCodes:
    """One code question over the versions: which distinct answer each version gave, and those
    answers indexed. Panels repeat the same few lists (a million versions give a thousand
    distinct diagnosis lists), so a code set is matched against the distinct lists once."""

    #: Per version: the position of its list among the distinct ones; -1 where not answered.
    lists: np.ndarray
    #: The distinct lists (``''``: answered none).
    index: CodeIndex

    @classmethod
    def of(cls, column: pa.Array, order: np.ndarray) -> VersionCodes:
        """The lists of ``column`` (``|``-joined codes), versions taken in ``order``."""
        encoded = pc.dictionary_encode(column)
        lists = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        return cls(
            lists.astype(np.int32, copy=False)[order],
            CodeIndex.from_lists(encoded.dictionary.to_pandas(types_mapper=pd.ArrowDtype)),
        )

    @property
    def answered(self) -> np.ndarray:
        return self.lists >= 0

    def states(self, any_of: tuple[str, ...], excepted: tuple[str, ...]) -> np.ndarray:
        """Per version: REPORTS (a code of the set), UNANSWERED, or ANSWERED (none of it)."""
        reports = self.index.reporting(any_of, excepted)
        # The last entry is what -1 (not answered) picks.
        table = np.append(np.where(reports, _REPORTS, _ANSWERED), _UNANSWERED).astype(np.int8)
        return table[self.lists]

    def reporting(self, any_of: tuple[str, ...], excepted: tuple[str, ...]) -> np.ndarray:
        """Per version: whether it reports a code of the set."""
        return np.append(self.index.reporting(any_of, excepted), False)[self.lists]

    def codes_reported(
        self, versions: np.ndarray, any_of: tuple[str, ...], excepted: tuple[str, ...]
    ) -> np.ndarray:
        """For the given versions, their codes of the set, ``', '``-joined (for evidence)."""
        lists, position = np.unique(self.lists[versions], return_inverse=True)
        texts = self.index.codes_reported(lists, any_of, excepted)
        return np.asarray(texts.to_numpy(zero_copy_only=False), dtype=object)[position]


#: A version's state for a criterion, ordered so that a volunteer's highest decides: one that
#: reports a code of the set makes it met; else one that left it unanswered makes it unknown;
#: else (every version answered none of it) not met. Versions out of the window count 0.
_OUT, _ANSWERED, _UNANSWERED, _REPORTS = 0, 1, 2, 3
#: A volunteer's outcome by the highest state of their versions (0: none in effect, unknown).
_OUTCOME = np.array(
    [outcomes.UNKNOWN, outcomes.NOT_MET, outcomes.UNKNOWN, outcomes.MET], dtype=np.int8
)


@dataclass(frozen=True)
class ProfileHistory:
    """Every version of the panel's volunteers, each volunteer's together and in time order.

    A version's Danish calendar day is never computed for all of them: Danish days never go
    back as time goes on, so a version was submitted on or before a day exactly when its moment
    comes before the first moment of the next day, which is found once per window."""

    #: The panel's size (rows of the outcomes).
    size: int
    #: Per version: the panel row of its volunteer.
    rows: np.ndarray
    #: Per version: when it was submitted, in ``unit`` since 1970-01-01 UTC.
    moments: np.ndarray
    #: Per version: when the volunteer's next version was submitted (for their last, the latest
    #: moment there is): a version is current until then.
    next_moments: np.ndarray
    unit: str
    #: Where each panel row's versions begin (rows that have any), and which rows those are.
    starts: np.ndarray
    volunteers: np.ndarray
    codes: dict[str, VersionCodes]

    @classmethod
    def of(
        cls, versions: pd.DataFrame, volunteer_ids: pa.Array | pa.ChunkedArray
    ) -> ProfileHistory:
        """The versions of the panel whose rows hold ``volunteer_ids`` (versions of anyone
        else are left out)."""
        panel_ids = text_array(volunteer_ids)
        moments = _moments(versions["submitted_at"])
        instants = moments.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        order, rows = grouped_versions(
            text_array(versions["volunteer_id"]),
            panel_ids,
            instants,
            moments.is_valid().to_numpy(zero_copy_only=False),
        )
        instants = instants[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else rows
        next_moments = np.empty_like(instants)
        next_moments[:-1] = instants[1:]
        next_moments[starts - 1] = np.iinfo(np.int64).max  # starts[0] - 1 is the last
        return cls(
            size=len(panel_ids),
            rows=rows,
            moments=instants,
            next_moments=next_moments,
            unit=moments.type.unit,
            starts=starts,
            volunteers=rows[starts],
            codes={
                system: VersionCodes.of(text_array(versions[system]), order)
                for system in ("diagnoses", "medicines")
            },
        )

    def in_effect(self, criterion: CodeCriterion, as_of: date) -> np.ndarray:
        """Per version: whether it is in effect during the criterion's window."""
        window = criterion.window
        assert window is not None
        through = self.moments < _first_moment(as_of + timedelta(days=1), self.unit)
        start = window.start(as_of)
        if start is None:
            return through
        # In effect at some time from the first day on: submitted by the match date and not
        # replaced before the first day (the one current when the window opened is the last
        # submitted before its first day).
        return through & (self.next_moments >= _first_moment(start, self.unit))

    def outcomes(self, criterion: CodeCriterion, as_of: date) -> np.ndarray:
        """The criterion's outcome per panel row, over its window."""
        codes = criterion.codes
        states = self.codes[criterion.system].states(tuple(codes.any_of), tuple(codes.except_))
        states *= self.in_effect(criterion, as_of)
        found = np.full(self.size, outcomes.UNKNOWN, dtype=np.int8)
        if len(states):
            found[self.volunteers] = _OUTCOME[np.maximum.reduceat(states, self.starts)]
        return found

    def evidence(self, criterion: CodeCriterion, as_of: date, rows: np.ndarray) -> WindowEvidence:
        """For the given panel rows (ascending): the latest version in effect that reports a
        code of the set, and how many versions were in effect."""
        version_codes = self.codes[criterion.system]
        codes = criterion.codes
        in_effect = self.in_effect(criterion, as_of)
        hits = np.flatnonzero(
            in_effect & version_codes.reporting(tuple(codes.any_of), tuple(codes.except_))
        )
        # A row's versions ascend in time: its latest hit is the last before another row's.
        hit_rows = self.rows[hits]
        last = np.r_[hit_rows[1:] != hit_rows[:-1], True] if len(hits) else hits.astype(bool)
        latest = np.full(self.size, -1, dtype=np.int64)
        latest[hit_rows[last]] = hits[last]
        cited = latest[rows]
        found = cited >= 0
        codes_found = np.full(len(rows), "", dtype=object)
        codes_found[found] = version_codes.codes_reported(
            cited[found], tuple(codes.any_of), tuple(codes.except_)
        )
        days = np.full(len(rows), -1, dtype=np.int64)
        days[found] = _danish_days(self.moments[cited[found]], self.unit)
        versions = np.bincount(self.rows[in_effect], minlength=self.size)[rows]
        unanswered = in_effect & ~version_codes.answered
        return WindowEvidence(
            days,
            codes_found,
            versions,
            np.bincount(self.rows[unanswered], minlength=self.size)[rows],
        )


_EPOCH = date(1970, 1, 1)
_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _first_moment(day: date, unit: str) -> int:
    """The first moment (in ``unit`` since 1970-01-01 UTC) whose Danish calendar day, as
    ``local_days`` reads it, is ``day`` or later."""
    # The least whole unit at or after that first microsecond.
    return -(-_first_microsecond(day) * _PER_SECOND[unit] // 10**6)


@functools.lru_cache(maxsize=256)
def _first_microsecond(day: date) -> int:
    """``_first_moment`` in microseconds: searched for 1,024 moments at a time, from a day
    before midnight UTC (certainly earlier) to a day after (certainly not)."""
    wanted = (day - _EPOCH).days
    per_day = 86_400 * 10**6
    low, high = (wanted - 1) * per_day, (wanted + 1) * per_day
    while high - low > 1:
        moments = np.unique(low + (high - low) * np.arange(1025, dtype=np.int64) // 1024)
        first = int(np.argmax(_danish_days(moments, "us") >= wanted))
        low, high = int(moments[first - 1]), int(moments[first])
    return high


def _danish_days(moments: np.ndarray, unit: str) -> np.ndarray:
    """The Danish calendar day (days since 1970-01-01) of moments in ``unit`` since then, UTC."""
    values = pa.array(moments, pa.timestamp(unit, tz="UTC"))
    days = local_days(pd.Series(pd.arrays.ArrowExtensionArray(values)))
    return days.cast(pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def _moments(column: pd.Series) -> pa.Array:
    """Moments as an Arrow timestamp array (naive ones are UTC: the order is what counts)."""
    values = arrow_column(column)
    if not pa.types.is_timestamp(values.type):
        values = pa.array(pd.to_datetime(column, utc=True), from_pandas=True)
    return values
