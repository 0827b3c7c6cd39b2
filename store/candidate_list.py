"""Reading a study's candidate list as coordinators work it: filtered, sorted pages, one
candidate with their explanation, counts per state, and the whole selection for an export.

The statements are built once, with bound parameters for every value, and reused: building
and cache-keying a SQLAlchemy statement of this size costs ten times more than running it on
SQLite, and a list page runs several. A filtered list's statements are built once for each
combination of filters and order (``_page_statements``).
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
    key = _SORTS[sort]
    return statement.order_by(key.desc() if descending else key.asc(), Candidate.volunteer_id)


def candidate_page(
    connection: Connection, study_id: str, query: CandidateQuery, revision: int | None = None
) -> CandidatePage:
    """One page of the filtered, sorted list. With the list's ``revision`` (read with the
    study, ``StudySummary.list_revision``), a count that decisions cannot change (every filter
    but the decision state) is kept per revision, and the page counts nothing."""
    filters = filter_values(query)
    key = None if revision is None or "state" in filters else (study_id, revision, *filters.items())
    counts = _COUNTS.setdefault(connection.engine, {})
    known = counts.get(key) if key else None
    count, page = _page_statements(
        frozenset(filters), query.sort, query.descending, counted=known is None
    )
    values = {"study_id": study_id, **filters}
    chosen = {"limit": PAGE_SIZE, "offset": (query.page - 1) * PAGE_SIZE}
    rows = connection.execute(page, values | chosen).all()
    if known is None:
        # The page carries the count (one round trip); past the last page, it is asked apart.
        known = rows[0].total if rows else connection.execute(count, values).scalar_one()
        if key:
            if len(counts) >= _COUNTS_KEPT:
                counts.clear()
            counts[key] = known
    return CandidatePage([_row(row) for row in rows], known, query.page)


#: Per store (engine), counts per (study, list revision, filter values), in this process. A
#: change to a list is a new revision, so a kept count is never wrong, only forgotten once
#: too many are kept.
_COUNTS: WeakKeyDictionary[Engine, dict[tuple[Any, ...], int]] = WeakKeyDictionary()
_COUNTS_KEPT = 10_000


@cache
def _page_statements(
    filters: frozenset[str], sort: str, descending: bool, counted: bool
) -> tuple[Select[int], Rows]:
    """The count and the page (with the count in it, if ``counted``), for this combination
    of filters and order. Filters and order touch the candidate table only, so counting and
    choosing the page's ids join nothing; only the page's 50 rows are joined to their
    volunteers (stale? contactable?), by primary key."""
    chosen = select(Candidate.volunteer_id).where(
        Candidate.study_id == bindparam("study_id"), Candidate.status != NO_LONGER_ELIGIBLE
    )
    chosen = filtered(chosen, dict.fromkeys(filters))
    count = select(func.count()).select_from(chosen.subquery())
    # A derived table, which its LIMIT keeps from being merged into the join; the statement
    # has a few parameters, not one per id, so PostgreSQL prepares it once per connection.
    ids = (
        ordered(chosen, sort, descending)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
        .subquery("page")
    )
    listed = CANDIDATES
    if counted:
        listed = listed.add_columns(count.scalar_subquery().label("total"))
    page = ordered(listed.join(ids, ids.c.volunteer_id == Candidate.volunteer_id), sort, descending)
    return count, page


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
