"""Reading a study's candidate list as coordinators work it: filtered, sorted pages, one
candidate with their explanation, counts per state, and the whole selection for an export.

The statements are built once, with bound parameters for every value, and reused: building
and cache-keying a SQLAlchemy statement of this size costs ten times more than running it on
SQLite, and a list page runs several. A filtered list's statements are built once for each
combination of filters and order (``_page_statement``, ``_seek_statement``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    select,
    tuple_,
)

from schemas.review import PAGE_SIZE, CandidateQuery
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.candidates import contactable
from store.tables import Candidate, Profile, Volunteer

Rows = Select[*tuple[Any, ...]]
AnySelect = TypeVar("AnySelect", bound=Rows)


@dataclass(frozen=True)
class CandidateRow:
    volunteer_id: str
    status: str
    review_state: str
    review_version: int
    age: int | None
    sex: str | None
    region: str | None
    unknown_criteria: list[str]
    as_of: date
    submission_id: str
    study_version: str
    #: The profile changed since the match: approving waits for a new match.
    stale: bool
    #: May still be contacted (consent, not withdrawn, not erased).
    contactable: bool

    @property
    def approvable(self) -> bool:
        return self.status != NO_LONGER_ELIGIBLE and not self.stale and self.contactable


@dataclass(frozen=True)
class CandidatePage:
    rows: list[CandidateRow]
    total: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


#: The candidates on a study's list (``study_id``), with whether their data is current.
CANDIDATES = (
    select(
        Candidate.volunteer_id,
        Candidate.status,
        Candidate.review_state,
        Candidate.review_version,
        Candidate.age,
        Candidate.sex,
        Candidate.region,
        Candidate.unknown_criteria,
        Candidate.as_of,
        Candidate.submission_id,
        Candidate.study_version,
        (func.coalesce(Volunteer.current_submission_id, "") != Candidate.submission_id).label(
            "stale"
        ),
        case(
            (and_(Volunteer.current_submission_id.is_not(None), *contactable()), True),
            else_=False,
        ).label("contactable"),
    )
    .join(Volunteer, Volunteer.volunteer_id == Candidate.volunteer_id)
    .outerjoin(Profile, Profile.submission_id == Volunteer.current_submission_id)
    .where(Candidate.study_id == bindparam("study_id"), Candidate.status != NO_LONGER_ELIGIBLE)
)
_ONE = CANDIDATES.where(Candidate.volunteer_id == bindparam("volunteer_id"))
_EXPLANATION = select(Candidate.explanation).where(
    Candidate.study_id == bindparam("study_id"), Candidate.volunteer_id == bindparam("volunteer_id")
)
_STATE_COUNTS = (
    select(Candidate.status, Candidate.review_state, func.count())
    .where(Candidate.study_id == bindparam("study_id"))
    .group_by(Candidate.status, Candidate.review_state)
)

#: Each filter of a ``CandidateQuery``, on the candidate table only, with its value bound.
_FILTERS: dict[str, ColumnElement[bool]] = {
    "status": Candidate.status == bindparam("status"),
    "state": Candidate.review_state == bindparam("state"),
    "region": Candidate.region == bindparam("region"),
    "sex": Candidate.sex == bindparam("sex"),
    "age_min": Candidate.age >= bindparam("age_min"),
    "age_max": Candidate.age <= bindparam("age_max"),
    # The JSON list as text holds "id" (ids are [a-z0-9_-]; '_' is escaped for LIKE).
    "screen": cast(Candidate.unknown_criteria, Text).like(bindparam("screen"), escape="\\"),
}

_SORTS = {
    "volunteer_id": Candidate.volunteer_id,
    "age": Candidate.age,
    "region": Candidate.region,
    "status": Candidate.status,
    "state": Candidate.review_state,
}


def filter_values(query: CandidateQuery) -> dict[str, Any]:
    """The bound values of the filters ``query`` sets (their names are ``_FILTERS``' keys)."""
    values: dict[str, Any] = {
        "status": query.status,
        "state": query.state.value if query.state else None,
        "region": query.region.value if query.region else None,
        "sex": query.sex,
        "age_min": query.age_min,
        "age_max": query.age_max,
        "screen": '%"' + query.screen.replace("_", "\\_") + '"%' if query.screen else None,
    }
    return {name: value for name, value in values.items() if value is not None}


def filtered(statement: AnySelect, filters: dict[str, Any]) -> AnySelect:
    """``statement`` restricted by the filters named in ``filters`` (values bound later)."""
    return statement.where(*(_FILTERS[name] for name in sorted(filters)))


def ordered(statement: AnySelect, sort: str, descending: bool) -> AnySelect:
    """By the sort's column, then by volunteer, both in the one direction (so a page's
    neighbours are one row-value comparison away, and one index serves either direction)."""
    return statement.order_by(*_order(sort, descending))


def _order(sort: str, descending: bool) -> list[ColumnElement[Any]]:
    columns = dict.fromkeys([_SORTS[sort], Candidate.volunteer_id])
    return [column.desc() if descending else column.asc() for column in columns]


#: Per store (engine), counts per (study, list revision, filter values), in this process. A
#: change to a list is a new revision, so a kept count is never wrong, only forgotten once
#: too many are kept.
_COUNTS: WeakKeyDictionary[Engine, dict[tuple[Any, ...], int]] = WeakKeyDictionary()
_COUNTS_KEPT = 10_000


def candidate_page(
    connection: Connection, study_id: str, query: CandidateQuery, revision: int | None = None
) -> CandidatePage:
    """One page of the filtered, sorted list: the one next to ``query.after`` or
    ``query.before`` (keyset paging: found through the order's index, however deep), else
    page number ``query.page`` (an offset). With the list's ``revision`` (read with the
    study, ``StudySummary.list_revision``), a count that decisions cannot change (every filter
    but the decision state) is kept per revision, and the page counts nothing."""
    filters = filter_values(query)
    names = frozenset(filters)
    values = {"study_id": study_id, **filters}
    key = None if revision is None or "state" in filters else (study_id, revision, *filters.items())
    counts = _COUNTS.setdefault(connection.engine, {})
    total = counts.get(key) if key else None
    rows = _next_to(connection, query, names, values)
    if rows is None:
        page = _page_statement(names, query.sort, query.descending, total is None)
        chosen = {"limit": PAGE_SIZE, "offset": (query.page - 1) * PAGE_SIZE}
        rows = connection.execute(page, values | chosen).all()
        # The page carries the count (one round trip); past the last page, it is asked apart.
        total = rows[0].total if total is None and rows else total
    if total is None:
        total = connection.execute(_count(names), values).scalar_one()
    if key:
        if len(counts) >= _COUNTS_KEPT:
            counts.clear()
        counts[key] = total
    return CandidatePage([_row(row) for row in rows], total, query.page)


def _next_to(
    connection: Connection, query: CandidateQuery, filters: frozenset[str], values: dict[str, Any]
) -> Any:
    """The page after ``query.after`` or before ``query.before``, or None without either
    (or when this study has no candidate of that id any more: erased). NULL ages and
    regions sort as the database puts them: after every value on PostgreSQL, before on
    SQLite. A row-value comparison never holds for NULL, so crossing between values and
    NULLs takes a second statement, at that one page."""
    cursor = query.after or query.before
    if cursor is None:
        return None
    found = connection.execute(_KEYS[query.sort], {**values, "cursor": cursor}).first()
    if found is None:
        return None
    backwards = query.before is not None
    down = query.descending != backwards  # travelling towards smaller keys
    nulls_high = connection.dialect.name == "postgresql"
    if found[0] is None:
        first, then = "nulls after", "values" if nulls_high == down else None
    else:
        nullable = query.sort in _NULLABLE
        first, then = "values after", "nulls" if nullable and nulls_high != down else None
    seek = {**values, "key": found[0], "cursor": cursor, "limit": PAGE_SIZE}
    rows = list(connection.execute(_seek_statement(filters, query.sort, down, first), seek))
    if then and len(rows) < PAGE_SIZE:
        rest = {**values, "limit": PAGE_SIZE - len(rows)}
        rows += connection.execute(_seek_statement(filters, query.sort, down, then), rest).all()
    return rows[::-1] if backwards else rows


_NULLABLE = {"age", "region"}
#: The sort column's value for the candidate a page is next to (``cursor``).
_KEYS = {
    sort: select(column.label("key")).where(
        Candidate.study_id == bindparam("study_id"), Candidate.volunteer_id == bindparam("cursor")
    )
    for sort, column in _SORTS.items()
}


@cache
def _seek_statement(filters: frozenset[str], sort: str, down: bool, part: str) -> Rows:
    """Up to ``limit`` rows travelling up (or ``down``) the order from the cursor: among
    the values past (key, cursor), the NULLs past it, or from the start of all NULLs or of
    all values."""
    column, volunteer = _SORTS[sort], Candidate.volunteer_id
    key, cursor = bindparam("key", type_=column.type), bindparam("cursor", type_=volunteer.type)
    past_cursor = volunteer < cursor if down else volunteer > cursor
    if part == "values after" and sort != "volunteer_id":
        pair, bound = tuple_(column, volunteer), tuple_(key, cursor)
        where = pair < bound if down else pair > bound
    elif part == "values after":
        where = past_cursor
    elif part == "nulls after":
        where = and_(column.is_(None), past_cursor)
    else:
        where = column.is_(None) if part == "nulls" else column.is_not(None)
    order = _order(sort, down)
    ids = _chosen(filters).where(where).order_by(*order).limit(bindparam("limit")).subquery("page")
    return CANDIDATES.join(ids, ids.c.volunteer_id == Candidate.volunteer_id).order_by(*order)


def _chosen(filters: frozenset[str]) -> Select[str]:
    """The ids on the list that ``filters`` select. Filters and orders touch the candidate
    table only, so counting and choosing a page's ids join nothing; only the page's rows
    are joined to their volunteers (stale? contactable?), by primary key."""
    chosen = select(Candidate.volunteer_id).where(
        Candidate.study_id == bindparam("study_id"), Candidate.status != NO_LONGER_ELIGIBLE
    )
    return filtered(chosen, dict.fromkeys(filters))


@cache
def _count(filters: frozenset[str]) -> Select[int]:
    return select(func.count()).select_from(_chosen(filters).subquery())


@cache
def _page_statement(filters: frozenset[str], sort: str, descending: bool, counted: bool) -> Rows:
    """Page number N (an offset), with the count in it if ``counted``."""
    # A derived table, which its LIMIT keeps from being merged into the join; the statement
    # has a few parameters, not one per id, so PostgreSQL prepares it once per connection.
    ids = (
        ordered(_chosen(filters), sort, descending)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    listed = CANDIDATES
    if counted:
        listed = listed.add_columns(_count(filters).scalar_subquery().label("total"))
    joined = listed.join(ids, ids.c.volunteer_id == Candidate.volunteer_id)
    return ordered(joined, sort, descending)


def candidate(connection: Connection, study_id: str, volunteer_id: str) -> CandidateRow | None:
    row = connection.execute(_ONE, {"study_id": study_id, "volunteer_id": volunteer_id}).first()
    return None if row is None else _row(row)


def explanation(connection: Connection, study_id: str, volunteer_id: str) -> dict[str, list[str]]:
    found = connection.execute(
        _EXPLANATION, {"study_id": study_id, "volunteer_id": volunteer_id}
    ).scalar_one_or_none()
    return dict(found or {})


def state_counts(connection: Connection, study_id: str) -> dict[tuple[str, str], int]:
    """(match status, review state) -> candidates."""
    rows = connection.execute(_STATE_COUNTS, {"study_id": study_id}).all()
    return {(status, state): count for status, state, count in rows}


def selection(connection: Connection, study_id: str, query: CandidateQuery) -> list[CandidateRow]:
    """Every candidate the filter selects (all pages), unordered."""
    filters = filter_values(query)
    rows = connection.execute(filtered(CANDIDATES, filters), {"study_id": study_id, **filters})
    return [_row(row) for row in rows]


def export_frame(connection: Connection, study_id: str, query: CandidateQuery) -> pd.DataFrame:
    """Every candidate the filter selects (all pages), with explanations, for a spreadsheet
    (``panel.candidate_export``)."""
    filters = filter_values(query)
    statement = filtered(CANDIDATES, filters).add_columns(Candidate.explanation)
    statement = ordered(statement, query.sort, query.descending)
    result = connection.execute(statement, {"study_id": study_id, **filters})
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _row(row: Any) -> CandidateRow:
    return CandidateRow(
        volunteer_id=row.volunteer_id,
        status=row.status,
        review_state=row.review_state,
        review_version=row.review_version,
        age=row.age,
        sex=row.sex,
        region=row.region,
        unknown_criteria=list(row.unknown_criteria or []),
        as_of=row.as_of,
        submission_id=row.submission_id,
        study_version=row.study_version,
        stale=bool(row.stale),
        contactable=bool(row.contactable),
    )
