"""Which panel row each profile version belongs to, and the versions grouped by row in time
order: the costly part of preparing a profile history (``matching.history``).

A million panel ids and more versions than that are matched without hashing strings where the
ids allow it: ids all of one width of at most 16 bytes (the store's are 12 characters) become
64-bit numbers, and sorting numbers is about twice as fast as a hash table of a million
strings. Every id found that way is checked against the one it was found as; ids of other
shapes, or two of them sharing a number, go the string way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: Odd multipliers that spread an id's two 64-bit words over one number. A multiplication by
#: an odd number is one to one: equal numbers with equal second words have equal first words.
_SPREAD = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))


def text_array(column: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """As one Arrow string array (missing values null)."""
    values = pa.array(column, from_pandas=True) if isinstance(column, pd.Series) else column
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if values.type == pa.string() else values.cast(pa.string())


def rows_in(ids: pa.Array, panel_ids: pa.Array) -> np.ndarray:
    """Per id, its position in ``panel_ids`` (-1 where it is not there)."""
    found = _by_number(ids, panel_ids)
    if found is None:
        return _by_string(ids, panel_ids)
    positions, places, by_number = found
    rows = np.full(len(ids), -1, dtype=np.int64)
    rows[positions] = by_number[places]
    return rows


def grouped_versions(
    ids: pa.Array, panel_ids: pa.Array, instants: np.ndarray, known: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The versions whose id is in ``panel_ids`` and whose time is ``known``, grouped by panel
    row, each row's in time order (``instants``; ties in the order given): their positions,
    and the panel row of each."""
    found = _by_number(ids, panel_ids)
    if found is None:
        every_row = _by_string(ids, panel_ids)
        positions = np.flatnonzero((every_row >= 0) & known)
        groups, rows_of_groups, grouped = every_row[positions], None, False
    else:
        positions, groups, rows_of_groups = found
        if not known[positions].all():
            kept = known[positions]
            positions, groups = positions[kept], groups[kept]
        grouped = True
    order = _by_group_then_time(groups, instants[positions], positions, grouped)
    positions, groups = positions[order], groups[order]
    return positions, groups if rows_of_groups is None else rows_of_groups[groups]


def _by_string(ids: pa.Array, panel_ids: pa.Array) -> np.ndarray:
    found = pc.index_in(ids, value_set=panel_ids)
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _by_number(
    ids: pa.Array, panel_ids: pa.Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The ids found in the panel by number: their positions (in the order of their numbers,
    so each volunteer's are together), the place of each one's number among the panel's
    numbers, and the panel row at each place. None where the ids are not all of one width of
    at most 16 bytes, or two of them share a number."""
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
    places = np.minimum(np.searchsorted(known, wanted), len(known) - 1)
    found = known[places] == wanted
    positions, places = order[found], places[found]
    if width > 8:
        seconds = np.ascontiguousarray(words[:, 1])[positions]
        if (seconds != panel_words[:, 1][by_number][places]).any():
            return None  # two ids share a number
    return positions, places, by_number


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


def _by_group_then_time(
    groups: np.ndarray, instants: np.ndarray, positions: np.ndarray, grouped: bool
) -> np.ndarray:
    """The order by group, then time, ties in the order of ``positions`` (a stable sort).

    Both go into one 63-bit key, time shifted right as far as needed to fit, so one numeric
    sort does it (several times faster than sorting by two keys; when the groups are in order
    already, a stable sort runs through the nearly sorted keys). Where two keys are equal, that
    coarser time cannot tell them apart, and the exact sort by three keys does."""
    if len(groups) < 2:
        return np.arange(len(groups))
    offsets = instants - instants.min()
    time_bits = int(offsets.max()).bit_length()
    group_bits = int(groups.max()).bit_length()
    coarser = max(0, time_bits + group_bits - 63)
    keys = (groups << (time_bits - coarser)) | (offsets >> coarser)
    order = np.argsort(keys, kind="stable" if grouped else "quicksort")
    ordered = keys[order]
    if (ordered[1:] == ordered[:-1]).any():
        return np.lexsort((positions, instants, groups))
    return order
