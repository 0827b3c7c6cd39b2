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

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matching import outcomes
from matching.arrow_columns import arrow_column, local_days
from matching.code_index import CodeIndex
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
            lists.astype(np.int64)[order],
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
    """Every version, sorted by panel row and then by time."""

    #: The panel's size (rows of the outcomes).
    size: int
    #: Per version: the panel row of its volunteer.
    rows: np.ndarray
    #: Per version: the Danish calendar day it was submitted (``datetime64[D]``).
    days: np.ndarray
    #: Per version: the day the volunteer's next version was submitted (the latest day
    #: representable after their last): a version is current until then.
    next_days: np.ndarray
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
        panel_ids = _text(volunteer_ids)
        moments = _moments(versions["submitted_at"])
        rows = _rows_in(_text(versions["volunteer_id"]), panel_ids)
        instants = moments.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        if moments.null_count or (rows < 0).any():
            kept = np.flatnonzero((rows >= 0) & moments.is_valid().to_numpy(zero_copy_only=False))
            order = kept[_by_row_then_time(rows[kept], instants[kept])]
        else:
            order = _by_row_then_time(rows, instants)
        rows = rows[order]
        days = local_days(versions["submitted_at"]).to_numpy(zero_copy_only=False)
        days = days.astype("datetime64[D]")[order]
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(rows) else rows
        next_days = np.empty_like(days)
        next_days[:-1] = days[1:]
        next_days[starts - 1] = np.datetime64(date.max, "D")  # starts[0] - 1 is the last
        return cls(
            size=len(panel_ids),
            rows=rows,
            days=days,
            next_days=next_days,
            starts=starts,
            volunteers=rows[starts],
            codes={
                system: VersionCodes.of(_text(versions[system]), order)
                for system in ("diagnoses", "medicines")
            },
        )

    def in_effect(self, criterion: CodeCriterion, as_of: date) -> np.ndarray:
        """Per version: whether it is in effect during the criterion's window."""
        window = criterion.window
        assert window is not None
        through = self.days <= np.datetime64(as_of, "D")
        start = window.start(as_of)
        if start is None:
            return through
        # In effect at some time from the first day on: submitted before the match date and
        # not replaced before the first day (the one current when the window opened is the
        # last submitted before its first day; a row's days ascend).
        return through & (self.next_days >= np.datetime64(start, "D"))

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
        days = np.where(found, self.days[np.maximum(cited, 0)].astype(np.int64), -1)
        versions = np.bincount(self.rows[in_effect], minlength=self.size)[rows]
        unanswered = in_effect & ~version_codes.answered
        return WindowEvidence(
            days,
            codes_found,
            versions,
            np.bincount(self.rows[unanswered], minlength=self.size)[rows],
        )


def _text(column: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """As one Arrow string array (missing values null)."""
    values = pa.array(column, from_pandas=True) if isinstance(column, pd.Series) else column
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if values.type == pa.string() else values.cast(pa.string())


def _moments(column: pd.Series) -> pa.Array:
    """Moments as an Arrow timestamp array (naive ones are UTC: the order is what counts)."""
    values = arrow_column(column)
    if not pa.types.is_timestamp(values.type):
        values = pa.array(pd.to_datetime(column, utc=True), from_pandas=True)
    return values


def _rows_in(ids: pa.Array, panel_ids: pa.Array) -> np.ndarray:
    """Per id, its position in ``panel_ids`` (-1 where it is not there)."""
    rows = _rows_by_number(ids, panel_ids)
    if rows is None:
        found = pc.index_in(ids, value_set=panel_ids)
        rows = found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return rows


#: Odd multipliers that spread two 64-bit words over one (a multiplication by an odd number
#: is one to one, so ids of at most 8 bytes never share a number).
_SPREAD = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def _rows_by_number(ids: pa.Array, panel_ids: pa.Array) -> np.ndarray | None:
    """``_rows_in`` by sorting numbers instead of hashing strings, for ids all of one width of
    at most 16 bytes (the store's are 12 characters): each id becomes a 64-bit number, the
    panel's are sorted and the ids looked up in ascending order. Twice as fast as a hash table
    of a million strings. None (use the strings) for ids of other shapes, or where two ids
    share a number; every id found is compared whole with the one it was found as."""
    words, width = _words(ids)
    panel_words, panel_width = _words(panel_ids)
    if words is None or panel_words is None or width != panel_width:
        return None
    numbers = words[:, 0] * _SPREAD[0] ^ words[:, 1] * _SPREAD[1]
    panel_numbers = panel_words[:, 0] * _SPREAD[0] ^ panel_words[:, 1] * _SPREAD[1]
    by_number = np.argsort(panel_numbers)
    known = panel_numbers[by_number]
    if (known[1:] == known[:-1]).any():
        return None
    order = np.argsort(numbers)
    wanted = numbers[order]
    # In ascending order, each binary search starts where the last one ended.
    place = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
    hit = known[place] == wanted
    rows = np.full(len(ids), -1, dtype=np.int64)
    rows[order[hit]] = by_number[place[hit]]
    same = (words[:, 0] == panel_words[rows, 0]) & (words[:, 1] == panel_words[rows, 1])
    return rows if (same | (rows < 0)).all() else None


def _words(text: pa.Array) -> tuple[np.ndarray | None, int]:
    """Each value's bytes as two 64-bit words (zero padded), and their width, when every value
    is present and all have one width of at most 16 bytes."""
    if text.null_count or not len(text):
        return None, 0
    ends = np.frombuffer(text.buffers()[1], dtype=np.int32)[text.offset :][: len(text) + 1]
    width = (int(ends[-1]) - int(ends[0])) // len(text)
    if not 0 < width <= 16 or (np.diff(ends) != width).any():
        return None, 0
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)[ends[0] : ends[-1]]
    padded = np.zeros((len(text), 16), dtype=np.uint8)
    padded[:, :width] = data.reshape(len(text), width)
    return padded.view(np.uint64), width


def _by_row_then_time(rows: np.ndarray, instants: np.ndarray) -> np.ndarray:
    """The order of versions by row, then time, ties in the order given (a stable sort).

    Both go into one 63-bit key, time shifted right as far as needed to fit, so one unstable
    numeric sort does it (several times faster than sorting by two keys); where two keys are
    equal, that coarser time cannot tell them apart and the exact, stable sort does."""
    if len(rows) < 2:
        return np.arange(len(rows))
    offsets = instants - instants.min()
    time_bits = int(offsets.max()).bit_length()
    row_bits = int(rows.max()).bit_length()
    coarser = max(0, time_bits + row_bits - 63)
    keys = (rows << (time_bits - coarser)) | (offsets >> coarser)
    order = np.argsort(keys)
    ordered = keys[order]
    if (ordered[1:] == ordered[:-1]).any():
        return np.lexsort((instants, rows))
    return order
