"""The profile history finds each version's volunteer in the panel whatever the ids look like
(the store's 12 characters, found by number, or any other, found by string), and puts each
volunteer's versions together in time order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matching.version_rows import grouped_versions, rows_in

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
    rows = rows_in(pa.array(ids, pa.string()), pa.array(panel, pa.string()))
    assert rows.tolist() == _expected(ids, panel)


@given(
    st.lists(any_width, max_size=30),
    st.lists(st.one_of(st.none(), any_width), max_size=30),
)
def test_ids_of_any_shape_are_found(panel: list[str], others: list[str | None]) -> None:
    ids = [*others, *panel]
    rows = rows_in(pa.array(ids, pa.string()), pa.array(panel, pa.string()))
    assert rows.tolist() == _expected(ids, panel)


def test_sliced_arrays_are_read_from_their_offset() -> None:
    panel = pa.array(["V00000000000", "V00000000001", "V00000000002", "V00000000003"])
    ids = pa.array(["V00000000009", "V00000000003", "V00000000001", "V00000000009"])
    assert rows_in(ids.slice(1, 2), panel.slice(1, 3)).tolist() == [2, 0]


@pytest.mark.parametrize(
    "others",
    [pytest.param("V009", id="by number"), pytest.param("another id", id="by string")],
)
@given(data=st.data())
def test_versions_are_grouped_by_row_in_time_order(others: str, data: st.DataObject) -> None:
    panel = ["V003", "V001", "V002"]
    ids = data.draw(st.lists(st.sampled_from([*panel, "V004", others]), max_size=40))
    # Few distinct times, some far apart: ties, and keys that must be made coarser.
    instants = data.draw(
        st.lists(
            st.sampled_from([0, 1, 2, 3_000_000, 2**61, 2**62 + 1]),
            min_size=len(ids),
            max_size=len(ids),
        )
    )
    known = data.draw(st.lists(st.booleans(), min_size=len(ids), max_size=len(ids)))
    positions, rows = grouped_versions(
        pa.array(ids, pa.string()),
        pa.array(panel, pa.string()),
        np.array(instants, dtype=np.int64),
        np.array(known, dtype=bool),
    )
    expected_rows = _expected(ids, panel)
    wanted = [i for i in range(len(ids)) if expected_rows[i] >= 0 and known[i]]
    assert sorted(positions.tolist()) == wanted
    assert rows.tolist() == [expected_rows[i] for i in positions]
    for row in set(rows.tolist()):
        mine = positions[rows == row].tolist()
        assert mine == sorted(mine, key=lambda i: (instants[i], i))  # in time, ties as given
        first = rows.tolist().index(row)
        assert rows[first : first + len(mine)].tolist() == [row] * len(mine)  # together
