"""Ranges of volunteer ids, for matching a panel in parts (``flows.match_partitions``).

A part is a pair of bounds (None: open), in the database's own order of ids; the parts from
``partitions`` cover every volunteer id exactly once, so per-volunteer results of the parts
put together equal those of the whole panel.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import InstrumentedAttribute

from store.tables import Volunteer

#: At least the first bound, below the second.
Part = tuple[str | None, str | None]
WHOLE: Part = (None, None)


def partitions(connection: Connection, count: int) -> list[Part]:
    """``count`` ranges of volunteer ids, about equally full, read in one scan."""
    total = int(connection.scalar(select(func.count()).select_from(Volunteer)) or 0)
    step = max(1, -(-total // count))
    ranked = select(
        Volunteer.volunteer_id,
        func.row_number().over(order_by=Volunteer.volunteer_id).label("n"),
    ).subquery()
    cuts = list(
        connection.execute(
            select(ranked.c.volunteer_id)
            .where((ranked.c.n - 1) % step == 0, ranked.c.n > 1)
            .order_by(ranked.c.n)
        ).scalars()
    )
    bounds: list[str | None] = [None, *cuts, None]
    return list(pairwise(bounds))


def in_part(column: InstrumentedAttribute[str], part: Part) -> list[Any]:
    """The conditions for a volunteer id column to fall in ``part``."""
    low, high = part
    return [
        *([] if low is None else [column >= low]),
        *([] if high is None else [column < high]),
    ]
