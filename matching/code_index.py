"""The codes volunteers reported, indexed so that a code set is matched against the distinct
codes once, not against every volunteer."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.study_checks import covers


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
