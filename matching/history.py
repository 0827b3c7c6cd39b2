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
class ProfileHistory:
    """Every version, sorted by panel row and then by time."""

    #: The panel's size (rows of the outcomes).
    size: int
    #: Per version: the panel row of its volunteer.
    rows: np.ndarray
    #: Per version: the Danish calendar day it was submitted (``datetime64[D]``).
    days: np.ndarray
    codes: dict[str, CodeIndex]

    @classmethod
    def of(
        cls, versions: pd.DataFrame, volunteer_ids: pa.Array | pa.ChunkedArray
    ) -> ProfileHistory:
        """The versions of the panel whose rows hold ``volunteer_ids`` (versions of anyone
        else are left out)."""
        ids = pa.array(versions["volunteer_id"], pa.string(), from_pandas=True)
        panel_ids = pa.chunked_array([volunteer_ids]).combine_chunks().cast(pa.string())
        order = pa.table(
            {
                "row": pc.index_in(ids, value_set=panel_ids),
                "at": arrow_column(versions["submitted_at"]),
                "position": pa.array(np.arange(len(versions))),
            }
        )
        kept = order.drop_null().sort_by([("row", "ascending"), ("at", "ascending")])
        picked = kept["position"].to_numpy()
        chosen = versions.iloc[picked]
        return cls(
            size=len(panel_ids),
            rows=kept["row"].to_numpy().astype(np.int64),
            days=local_days(chosen["submitted_at"])
            .to_numpy(zero_copy_only=False)
            .astype("datetime64[D]"),
            codes={
                system: CodeIndex.from_lists(chosen[system])
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
        first = np.datetime64(start, "D")
        in_effect = through & (self.days >= first)
        before = np.flatnonzero(self.days < first)
        if len(before):
            # Rows ascend, then time: the last version before the start is a row's last entry.
            rows = self.rows[before]
            in_effect[before[np.r_[rows[1:] != rows[:-1], True]]] = True
        return in_effect

    def outcomes(self, criterion: CodeCriterion, as_of: date) -> np.ndarray:
        """The criterion's outcome per panel row, over its window."""
        index = self.codes[criterion.system]
        codes = criterion.codes
        reports = index.reporting(tuple(codes.any_of), tuple(codes.except_))
        in_effect = self.in_effect(criterion, as_of)
        met = self._any(in_effect & reports)
        seen = self._any(in_effect)
        unanswered = self._any(in_effect & ~index.answered)
        return np.where(
            met, outcomes.MET, np.where(seen & ~unanswered, outcomes.NOT_MET, outcomes.UNKNOWN)
        ).astype(np.int8)

    def evidence(self, criterion: CodeCriterion, as_of: date, rows: np.ndarray) -> WindowEvidence:
        """For the given panel rows (ascending): the latest version in effect that reports a
        code of the set, and how many versions were in effect."""
        index = self.codes[criterion.system]
        codes = criterion.codes
        in_effect = self.in_effect(criterion, as_of)
        hits = np.flatnonzero(
            in_effect & index.reporting(tuple(codes.any_of), tuple(codes.except_))
        )
        latest = np.full(self.size, -1, dtype=np.int64)
        np.maximum.at(latest, self.rows[hits], hits)  # a row's versions ascend in time
        cited = latest[rows]
        found = cited >= 0
        codes_found = np.full(len(rows), "", dtype=object)
        # Ascending, as codes_reported wants: rows ascend, and so do their versions' positions.
        codes_found[found] = index.codes_reported(
            cited[found], tuple(codes.any_of), tuple(codes.except_)
        ).to_numpy(zero_copy_only=False)
        days = np.where(found, self.days[np.maximum(cited, 0)].astype(np.int64), -1)
        versions = np.bincount(self.rows[in_effect], minlength=self.size)[rows]
        unanswered = in_effect & ~index.answered
        return WindowEvidence(
            days,
            codes_found,
            versions,
            np.bincount(self.rows[unanswered], minlength=self.size)[rows],
        )

    def _any(self, versions: np.ndarray) -> np.ndarray:
        """Per panel row: whether any of its versions is marked."""
        found = np.zeros(self.size, dtype=bool)
        found[self.rows[versions]] = True
        return found
