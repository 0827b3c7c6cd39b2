"""The profile history finds each version's volunteer in the panel whatever the ids look like:
the store's (12 characters, found by number) or any other (found by string)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from hypothesis import given
from hypothesis import strategies as st

from matching.history import _rows_in

#: Ids of one width share numbers only by chance; narrow alphabets make near misses likely.
store_like = st.text(alphabet="V0123456789ABC", min_size=12, max_size=12)
any_width = st.text(alphabet="Vab\x00é", min_size=0, max_size=20)


def _expected(ids: Sequence[str | None], panel: list[str]) -> list[int]:
    first: dict[str, int] = {}
    for row, ident in enumerate(panel):
        first.setdefault(ident, row)
    return [-1 if ident is None else first.get(ident, -1) for ident in ids]


@given(
    st.lists(store_like, max_size=40, unique=True),
    st.lists(store_like, max_size=40),
)
def test_ids_of_one_width_are_found_by_number(panel: list[str], others: list[str]) -> None:
    ids = [*panel, *others, *panel[::2]]
    rows = _rows_in(pa.array(ids, pa.string()), pa.array(panel, pa.string()))
    assert rows.tolist() == _expected(ids, panel)


@given(
    st.lists(any_width, max_size=30),
    st.lists(st.one_of(st.none(), any_width), max_size=30),
)
def test_ids_of_any_shape_are_found(panel: list[str], others: list[str | None]) -> None:
    ids = [*others, *panel]
    rows = _rows_in(pa.array(ids, pa.string()), pa.array(panel, pa.string()))
    assert rows.tolist() == _expected(ids, panel)


def test_sliced_arrays_are_read_from_their_offset() -> None:
    panel = pa.array(["V00000000000", "V00000000001", "V00000000002", "V00000000003"])
    ids = pa.array(["V00000000009", "V00000000003", "V00000000001", "V00000000009"])
    rows = _rows_in(ids.slice(1, 2), panel.slice(1, 3))
    assert rows.tolist() == [2, 0]
