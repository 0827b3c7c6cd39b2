"""Reading a study's candidate list as coordinators work it: filtered, sorted pages, one
candidate with their explanation, counts per state, and the whole selection for an export.

The statements are built once, with bound parameters for every value, and reused: building
and cache-keying a SQLAlchemy statement of this size costs ten times more than running it on
SQLite, and a list page runs several. A filtered list's statements are built once for each
combination of filters and order (``_page_statement``, ``_seek_statement``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import MISSING, dataclass, fields
from datetime import date, datetime
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
from sqlalchemy.orm import aliased

from matching.engine import NEEDS_SCREENING
from schemas.review import AUTOMATIC_APPROVER, PAGE_SIZE, CandidateQuery, InvitationFilter
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.match_runs import contactable
from store.tables import CURRENT_PROFILE, Candidate, Invitation, Profile, Volunteer, of_candidate

Rows = Select[*tuple[Any, ...]]
AnySelect = TypeVar("AnySelect", bound=Rows)


#: Invitations on their way or delivered: no decision can take effect any more.
_UNDECIDABLE = ("sending", "sent")


@dataclass(frozen=True)
class CandidateRow:
    study_id: str
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
    #: The invitation's status (queued, sending, sent, failed, cancelled), or None.
    invitation: str | None
    #: Approved by the study's rule, not by a coordinator.
    automatic: bool
    #: Why an approved candidate was held back at the last contact run, or None.
    hold_reason: str | None
    #: The profile version matched, by when it was submitted and its number among the
    #: volunteer's versions (1 = the first): read for one candidate and for exports only.
    profile_submitted_at: datetime | None = None
    profile_number: int | None = None

    @property
    def approvable(self) -> bool:
        return self.status != NO_LONGER_ELIGIBLE and not self.stale and self.contactable

    @property
    def decidable(self) -> bool:
        """Whether approving, rejecting or deferring can still take effect (not once the
        invitation is being sent or was sent)."""
        return self.invitation not in _UNDECIDABLE


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
        Candidate.study_id,
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
        Invitation.status.label("invitation"),
        (Invitation.approved_by == AUTOMATIC_APPROVER).label("automatic"),
        Candidate.hold_reason,
    )
    .join(Volunteer, Volunteer.volunteer_id == Candidate.volunteer_id)
    .outerjoin(Profile, CURRENT_PROFILE)
    .outerjoin(Invitation, of_candidate(Invitation, Candidate.study_id, Candidate.volunteer_id))
    .where(Candidate.study_id == bindparam("study_id"), Candidate.status != NO_LONGER_ELIGIBLE)
)
_MATCHED = aliased(Profile, name="matched_profile")
_EARLIER = aliased(Profile, name="earlier_profile")
#: ``CANDIDATES`` with the profile version matched: when submitted, and its number.
WITH_PROFILE_VERSION = CANDIDATES.add_columns(
    _MATCHED.submitted_at.label("profile_submitted_at"),
    select(func.count())
    .where(
        _EARLIER.volunteer_id == Candidate.volunteer_id,
        _EARLIER.submitted_at <= _MATCHED.submitted_at,
    )
    .correlate(Candidate, _MATCHED)
    .scalar_subquery()
    .label("profile_number"),
).outerjoin(_MATCHED, _MATCHED.submission_id == Candidate.submission_id)
_ONE = CANDIDATES.where(Candidate.volunteer_id == bindparam("volunteer_id"))
_ONE_WITH_VERSION = WITH_PROFILE_VERSION.where(Candidate.volunteer_id == bindparam("volunteer_id"))
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
    "invited": Candidate.volunteer_id.in_(
        select(Invitation.volunteer_id).where(
            Invitation.study_id == bindparam("study_id"),
            Invitation.status.in_(bindparam("invited", expanding=True)),
        )
    ),
    "not_invited": ~Candidate.volunteer_id.in_(
        select(Invitation.volunteer_id).where(Invitation.study_id == bindparam("study_id"))
    ),
    "held": Candidate.hold_reason.is_not(None),
}
#: Filters whose outcome changes without a new list revision (decisions, contact runs): a
#: count under them is never kept.
_CHANGING = {"state", "invited", "not_invited", "held"}
#: Invitation statuses each invitation filter selects.
_INVITED = {
    InvitationFilter.QUEUED: ["queued", "sending"],
    InvitationFilter.SENT: ["sent"],
    InvitationFilter.FAILED: ["failed"],
    InvitationFilter.CANCELLED: ["cancelled"],
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
        "invited": _INVITED.get(query.invitation) if query.invitation else None,
        "not_invited": True if query.invitation is InvitationFilter.NONE else None,
        "held": True if query.invitation is InvitationFilter.HELD else None,
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
    connection: Connection,
    study_id: str,
    query: CandidateQuery,
    revision: int | None = None,
    *,
    number_known: bool = False,
) -> CandidatePage:
    """One page of the filtered, sorted list: the one next to ``query.after`` or
    ``query.before`` (keyset paging: found through the order's index, however deep), else
    page number ``query.page`` (an offset; past the last page, the last page). With the
    list's ``revision`` (read with the study, ``StudySummary.list_revision``), a count that
    decisions and contact runs cannot change is kept per revision, and the page counts
    nothing. The page's number is worked out, not taken from the address, unless the caller
    vouches for it (``number_known``: a Next or Previous link the app itself signed)."""
    filters = filter_values(query)
    names = frozenset(filters)
    values = {"study_id": study_id, **filters}
    changing = revision is None or not _CHANGING.isdisjoint(filters)
    key = None if changing else (study_id, revision, *filters.items())
    counts = _COUNTS.setdefault(connection.engine, {})
    total = counts.get(key) if key else None
    rows = _next_to(connection, query, names, values, PAGE_SIZE)
    number = query.page
    if rows and not number_known:
        number = _position(connection, query, names, values, rows[0], key) // PAGE_SIZE + 1
    elif not rows:
        number, rows, total = _numbered_page(connection, query, names, values, total)
    if total is None:
        total = connection.execute(_count(names), values).scalar_one()
    if key:
        if len(counts) >= _COUNTS_KEPT:
            counts.clear()
        counts[key] = total
    return CandidatePage([_row(row) for row in rows], total, number)


def _numbered_page(
    connection: Connection,
    query: CandidateQuery,
    names: frozenset[str],
    values: dict[str, Any],
    total: int | None,
) -> tuple[int, list[Any], int | None]:
    """Page number ``query.page`` (an offset), or the last page if there are fewer."""
    number, rows = query.page, []
    for _ in range(2):
        page = _page_statement(names, query.sort, query.descending, total is None)
        chosen = {"limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE}
        rows = list(connection.execute(page, values | chosen))
        # The page carries the count (one round trip); past the last page, it is asked apart.
        total = rows[0].total if total is None and rows else total
        if rows or number == 1:
            break
        if total is None:
            total = connection.execute(_count(names), values).scalar_one()
        number = max(1, -(-total // PAGE_SIZE))
    return number, rows, total


def page_of(connection: Connection, study_id: str, query: CandidateQuery, row: CandidateRow) -> int:
    """The number of the page ``row`` is on (or would be on) in the list ``query`` selects."""
    filters = filter_values(query)
    values = {"study_id": study_id, **filters}
    return _position(connection, query, frozenset(filters), values, row, None) // PAGE_SIZE + 1


def screening_questions(connection: Connection, study_id: str, revision: int) -> dict[str, int]:
    """Per criterion, how many candidates on the list need screening on it (only criteria
    someone needs screening on). Kept per list revision: only a match changes them."""
    kept = _SCREENING.setdefault(connection.engine, {})
    if (study_id, revision) not in kept:
        unknown = connection.execute(_UNKNOWN_CRITERIA, {"study_id": study_id}).scalars()
        if len(kept) >= _COUNTS_KEPT:
            kept.clear()
        kept[study_id, revision] = dict(Counter(c for criteria in unknown for c in criteria or []))
    return kept[study_id, revision]


_SCREENING: WeakKeyDictionary[Engine, dict[tuple[str, int], dict[str, int]]] = WeakKeyDictionary()
_UNKNOWN_CRITERIA = select(Candidate.unknown_criteria).where(
    Candidate.study_id == bindparam("study_id"), Candidate.status == NEEDS_SCREENING
)


def neighbours(
    connection: Connection, study_id: str, query: CandidateQuery, volunteer_id: str
) -> tuple[str | None, str | None]:
    """The candidates before and after ``volunteer_id`` in the list as ``query`` filters and
    orders it (None at either end, or when the candidate is not in the selection)."""
    filters = filter_values(query)
    names = frozenset(filters)
    values = {"study_id": study_id, **filters}
    around = []
    for side in ("before", "after"):
        step = query.model_copy(update={"after": None, "before": None, side: volunteer_id})
        rows = _next_to(connection, step, names, values, 1)
        around.append(rows[0].volunteer_id if rows else None)
    return around[0], around[1]


def _next_to(
    connection: Connection,
    query: CandidateQuery,
    filters: frozenset[str],
    values: dict[str, Any],
    limit: int,
) -> Any:
    """The ``limit`` rows after ``query.after`` or before ``query.before``, or None without
    either (or when this study has no candidate of that id any more: erased). NULL ages and
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
    seek = {**values, "key": found[0], "cursor": cursor, "limit": limit}
    rows = list(connection.execute(_seek_statement(filters, query.sort, down, first), seek))
    if then and len(rows) < limit:
        rest = {**values, "limit": limit - len(rows)}
        rows += connection.execute(_seek_statement(filters, query.sort, down, then), rest).all()
    return rows[::-1] if backwards else rows


def _position(
    connection: Connection,
    query: CandidateQuery,
    filters: frozenset[str],
    values: dict[str, Any],
    first: Any,
    key: tuple[Any, ...] | None,
) -> int:
    """How many rows of the selection come before ``first`` in its order (kept per list
    revision, like the counts, when the filters allow). NULLs sort lowest on SQLite and
    highest on PostgreSQL."""
    kept = None if key is None else (*key, query.sort, query.descending, first.volunteer_id)
    counts = _COUNTS.setdefault(connection.engine, {})
    if kept is not None and kept in counts:
        return counts[kept]
    value = getattr(first, _SORTS[query.sort].key)
    nulls_first = (connection.dialect.name == "sqlite") != query.descending
    # Before it in the order is past it travelling the other way.
    parts = ["nulls after"] if value is None else ["values after"]
    if query.sort in _NULLABLE and (value is None) != nulls_first:
        parts.append("nulls" if nulls_first else "values")
    bound = {**values, "key": value, "cursor": first.volunteer_id}
    before = sum(
        connection.execute(
            _before_statement(filters, query.sort, query.descending, part), bound
        ).scalar_one()
        for part in parts
    )
    if kept is not None:
        counts[kept] = before
    return before


@cache
def _before_statement(filters: frozenset[str], sort: str, descending: bool, part: str) -> Any:
    """A count of the rows before (key, cursor) in the order (``_past`` the other way)."""
    before = _chosen(filters).where(_past(sort, not descending, part))
    return select(func.count()).select_from(before.subquery())


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
    order = _order(sort, down)
    chosen = _chosen(filters).where(_past(sort, down, part))
    ids = chosen.order_by(*order).limit(bindparam("limit")).subquery("page")
    return CANDIDATES.join(ids, ids.c.volunteer_id == Candidate.volunteer_id).order_by(*order)


def _past(sort: str, down: bool, part: str) -> ColumnElement[bool]:
    """Travelling up (or ``down``) the order from (key, cursor): the values past it, the
    NULLs past it, or all NULLs or all values."""
    column, volunteer = _SORTS[sort], Candidate.volunteer_id
    key, cursor = bindparam("key", type_=column.type), bindparam("cursor", type_=volunteer.type)
    past_cursor = volunteer < cursor if down else volunteer > cursor
    if part == "values after" and sort != "volunteer_id":
        pair, bound = tuple_(column, volunteer), tuple_(key, cursor)
        return pair < bound if down else pair > bound
    if part == "values after":
        return past_cursor
    if part == "nulls after":
        return and_(column.is_(None), past_cursor)
    return column.is_(None) if part == "nulls" else column.is_not(None)


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


def candidate(
    connection: Connection, study_id: str, volunteer_id: str, *, with_profile_version: bool = False
) -> CandidateRow | None:
    """One candidate of the list; ``with_profile_version``: with when the profile version
    matched was submitted, and its number (for the candidate page)."""
    statement = _ONE_WITH_VERSION if with_profile_version else _ONE
    row = connection.execute(
        statement, {"study_id": study_id, "volunteer_id": volunteer_id}
    ).first()
    return None if row is None else _row(row, with_profile_version=with_profile_version)


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
    (``review.candidate_export``)."""
    filters = filter_values(query)
    statement = filtered(WITH_PROFILE_VERSION, filters).add_columns(Candidate.explanation)
    statement = ordered(statement, query.sort, query.descending)
    result = connection.execute(statement, {"study_id": study_id, **filters})
    return pd.DataFrame(result.all(), columns=list(result.keys()))


#: ``CandidateRow``'s fields as a row of ``CANDIDATES`` has them, and with the profile
#: version matched (``_WITH_PROFILE``); the flags come as NULL, 0 or 1.
_FIELDS = [field.name for field in fields(CandidateRow) if field.default is MISSING]
_WITH_PROFILE = [field.name for field in fields(CandidateRow)]
_FLAGS = ("stale", "contactable", "automatic")


def _row(row: Any, *, with_profile_version: bool = False) -> CandidateRow:
    values = {
        name: getattr(row, name) for name in (_WITH_PROFILE if with_profile_version else _FIELDS)
    }
    for flag in _FLAGS:
        values[flag] = bool(values[flag])
    values["unknown_criteria"] = list(values["unknown_criteria"] or [])
    return CandidateRow(**values)
