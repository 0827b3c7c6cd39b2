"""Coordinators' work on candidate lists: pages of candidates, decisions, their history, and
the access log.

A decision names the ``review_version`` of the candidate it was made on; the update only
happens if that is still the version (optimistic locking), so of two coordinators deciding at
once the second is told, not silently overwritten. Approval needs current data: a candidate
whose profile changed since the match, or who may no longer be contacted, is not approved
until a new match has looked at them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    case,
    cast,
    func,
    insert,
    select,
    update,
)

from schemas.review import PAGE_SIZE, REJECT_REASONS, Action, CandidateQuery, ReviewState
from store.bulk import IN_CHUNK
from store.candidates import NO_LONGER_ELIGIBLE, contactable
from store.tables import AccessLog, Candidate, Decision, Profile, Volunteer


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


@dataclass(frozen=True)
class DecisionRecord:
    action: str
    reason: str | None
    note: str | None
    decided_by: str
    decided_at: datetime
    study_version: str
    submission_id: str


class DecisionRefused(ValueError):
    """The decision cannot be made (the message says why)."""


class DecisionConflict(ValueError):
    """Someone else decided first; ``current`` is the candidate as it is now."""

    def __init__(self, current: CandidateRow) -> None:
        super().__init__(
            f"{current.volunteer_id} was changed meanwhile: it is now {current.review_state}"
        )
        self.current = current


@dataclass(frozen=True)
class BulkResult:
    decided: int
    #: Why the others were left alone: reason -> how many.
    skipped: dict[str, int]


def _columns() -> list[Any]:
    contactable_now = and_(Volunteer.current_submission_id.is_not(None), *contactable())
    return [
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
        case((contactable_now, True), else_=False).label("contactable"),
    ]


def _candidates(study_id: str) -> Any:
    return (
        select(*_columns())
        .join(Volunteer, Volunteer.volunteer_id == Candidate.volunteer_id)
        .outerjoin(Profile, Profile.submission_id == Volunteer.current_submission_id)
        .where(Candidate.study_id == study_id, Candidate.status != NO_LONGER_ELIGIBLE)
    )


def _filtered(statement: Any, query: CandidateQuery) -> Any:
    conditions: list[ColumnElement[bool]] = []
    if query.status:
        conditions.append(Candidate.status == query.status)
    if query.state:
        conditions.append(Candidate.review_state == query.state.value)
    if query.region:
        conditions.append(Candidate.region == query.region.value)
    if query.sex:
        conditions.append(Candidate.sex == query.sex)
    if query.age_min is not None:
        conditions.append(Candidate.age >= query.age_min)
    if query.age_max is not None:
        conditions.append(Candidate.age <= query.age_max)
    if query.screen:
        # The JSON list as text holds "id" (ids are [a-z0-9_-]; '_' is escaped for LIKE).
        wanted = '%"' + query.screen.replace("_", "\\_") + '"%'
        conditions.append(cast(Candidate.unknown_criteria, Text).like(wanted, escape="\\"))
    return statement.where(*conditions)


_SORTS = {
    "volunteer_id": Candidate.volunteer_id,
    "age": Candidate.age,
    "region": Candidate.region,
    "status": Candidate.status,
    "state": Candidate.review_state,
}


def candidate_page(connection: Connection, study_id: str, query: CandidateQuery) -> CandidatePage:
    """One page of the filtered, sorted list. Filters and order touch the candidate table
    only, so counting and choosing the page join nothing; only the page's 50 rows are joined
    to their volunteers (stale? contactable?)."""
    chosen = _filtered(
        select(Candidate.volunteer_id).where(
            Candidate.study_id == study_id, Candidate.status != NO_LONGER_ELIGIBLE
        ),
        query,
    )
    total = connection.execute(select(func.count()).select_from(chosen.subquery())).scalar_one()
    key = _SORTS[query.sort]
    order = [key.desc() if query.descending else key.asc(), Candidate.volunteer_id]
    page = chosen.order_by(*order).limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
    ids = list(connection.execute(page).scalars())
    # By primary key (as a subquery, SQLite would walk the whole study's index instead).
    found = {
        row.volunteer_id: _row(row)
        for row in connection.execute(_candidates(study_id).where(Candidate.volunteer_id.in_(ids)))
    }
    return CandidatePage([found[i] for i in ids], total, query.page)


def candidate(connection: Connection, study_id: str, volunteer_id: str) -> CandidateRow | None:
    row = connection.execute(
        _candidates(study_id).where(Candidate.volunteer_id == volunteer_id)
    ).first()
    return None if row is None else _row(row)


def explanation(connection: Connection, study_id: str, volunteer_id: str) -> dict[str, list[str]]:
    found = connection.execute(
        select(Candidate.explanation).where(
            Candidate.study_id == study_id, Candidate.volunteer_id == volunteer_id
        )
    ).scalar_one_or_none()
    return dict(found or {})


def state_counts(connection: Connection, study_id: str) -> dict[tuple[str, str], int]:
    """(match status, review state) -> candidates."""
    rows = connection.execute(
        select(Candidate.status, Candidate.review_state, func.count())
        .where(Candidate.study_id == study_id)
        .group_by(Candidate.status, Candidate.review_state)
    ).all()
    return {(status, state): count for status, state, count in rows}


def history(connection: Connection, study_id: str, volunteer_id: str) -> list[DecisionRecord]:
    rows = connection.execute(
        select(
            Decision.action,
            Decision.reason,
            Decision.note,
            Decision.decided_by,
            Decision.decided_at,
            Decision.study_version,
            Decision.submission_id,
        )
        .where(Decision.study_id == study_id, Decision.volunteer_id == volunteer_id)
        .order_by(Decision.decided_at.desc(), Decision.decision_id.desc())
    ).all()
    return [DecisionRecord(*row) for row in rows]


def decide(
    connection: Connection,
    study_id: str,
    volunteer_id: str,
    action: Action,
    *,
    actor: str,
    now: datetime,
    seen_version: int | None,
    reason: str | None = None,
    note: str | None = None,
    current: CandidateRow | None = None,
) -> CandidateRow:
    """Decide on one candidate, as seen at ``seen_version`` (None: whatever it is now).
    Returns the candidate as it is after the decision. ``current``: the candidate as just
    read (so a caller can read before its write transaction; the version check in the
    UPDATE still catches anyone deciding in between)."""
    current = current or candidate(connection, study_id, volunteer_id)
    if current is None:
        raise DecisionRefused(f"{volunteer_id} is not on the candidate list of {study_id}")
    _check(current, action, reason, note)
    if seen_version is not None and seen_version != current.review_version:
        raise DecisionConflict(current)
    if action.state is not None:
        changed = connection.execute(
            update(Candidate)
            .where(
                Candidate.study_id == study_id,
                Candidate.volunteer_id == volunteer_id,
                Candidate.review_version == current.review_version,
            )
            .values(review_state=action.state.value, review_version=current.review_version + 1)
        ).rowcount
        if changed != 1:  # decided by someone else between our read and our write
            now_row = candidate(connection, study_id, volunteer_id)
            assert now_row is not None
            raise DecisionConflict(now_row)
    _record(connection, study_id, [current], action, actor, now, reason, note)
    if action.state is None:
        return current
    return replace(
        current, review_state=action.state.value, review_version=current.review_version + 1
    )


def decide_all(
    connection: Connection,
    study_id: str,
    query: CandidateQuery,
    action: Action,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
    note: str | None = None,
) -> BulkResult:
    """Decide on every candidate the filter selects (all pages) that is still undecided or
    deferred; decided ones, and for approval those whose data is not current, are skipped."""
    if action is Action.NOTE:
        raise DecisionRefused("notes are written one candidate at a time")
    _check_words(action, reason, note)
    rows = [_row(r) for r in connection.execute(_filtered(_candidates(study_id), query)).all()]
    skipped: dict[str, int] = {}
    chosen = []
    open_states = (ReviewState.UNDECIDED.value, ReviewState.DEFERRED.value)
    for row in rows:
        why = None if row.review_state in open_states else f"already {row.review_state}"
        if why is None and action is Action.APPROVE and not row.approvable:
            why = "profile changed since the match" if row.stale else "may not be contacted"
        if why is None and row.review_state == (action.state.value if action.state else None):
            why = f"already {row.review_state}"
        if why:
            skipped[why] = skipped.get(why, 0) + 1
        else:
            chosen.append(row)
    if chosen:
        assert action.state is not None
        updated: set[str] = set()
        ids = [row.volunteer_id for row in chosen]
        for start in range(0, len(ids), IN_CHUNK):
            # Still open now (not only when read): a concurrent decision is not overwritten.
            updated |= set(
                connection.execute(
                    update(Candidate)
                    .where(
                        Candidate.study_id == study_id,
                        Candidate.volunteer_id.in_(ids[start : start + IN_CHUNK]),
                        Candidate.review_state.in_(open_states),
                    )
                    .values(
                        review_state=action.state.value,
                        review_version=Candidate.review_version + 1,
                    )
                    .returning(Candidate.volunteer_id)
                ).scalars()
            )
        if len(updated) < len(chosen):
            skipped["decided by someone else meanwhile"] = len(chosen) - len(updated)
        chosen = [row for row in chosen if row.volunteer_id in updated]
        _record(connection, study_id, chosen, action, actor, now, reason, note)
    return BulkResult(len(chosen), skipped)


def log_access(
    connection: Connection,
    actor: str,
    study_id: str,
    what: str,
    now: datetime,
    volunteer_id: str | None = None,
    detail: str | None = None,
) -> None:
    connection.execute(
        insert(AccessLog).values(
            at=now,
            actor=actor,
            study_id=study_id,
            what=what,
            volunteer_id=volunteer_id,
            detail=detail,
        )
    )


def _check(row: CandidateRow, action: Action, reason: str | None, note: str | None) -> None:
    if action is Action.APPROVE and not row.approvable:
        if row.status == NO_LONGER_ELIGIBLE:
            raise DecisionRefused(f"{row.volunteer_id} no longer fits the study")
        if row.stale:
            raise DecisionRefused(
                f"{row.volunteer_id}'s profile changed after the match of "
                f"{row.as_of:%d-%m-%Y}: run `panel match` again before approving"
            )
        raise DecisionRefused(f"{row.volunteer_id} may no longer be contacted")
    _check_words(action, reason, note)


def _check_words(action: Action, reason: str | None, note: str | None) -> None:
    if action is Action.REJECT:
        if reason not in REJECT_REASONS:
            raise DecisionRefused("a rejection needs a reason: " + ", ".join(REJECT_REASONS))
        if reason == "other" and not (note or "").strip():
            raise DecisionRefused("a rejection for another reason needs a note saying which")
    if action is Action.NOTE and not (note or "").strip():
        raise DecisionRefused("a note needs some text")


def _record(
    connection: Connection,
    study_id: str,
    rows: list[CandidateRow],
    action: Action,
    actor: str,
    now: datetime,
    reason: str | None,
    note: str | None,
) -> None:
    connection.execute(
        insert(Decision),
        [
            {
                "study_id": study_id,
                "volunteer_id": row.volunteer_id,
                "action": action.value,
                "reason": reason if action is Action.REJECT else None,
                "note": (note or "").strip() or None,
                "decided_by": actor,
                "decided_at": now,
                "study_version": row.study_version,
                "submission_id": row.submission_id,
            }
            for row in rows
        ],
    )


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


def export_frame(connection: Connection, study_id: str, query: CandidateQuery) -> pd.DataFrame:
    """Every candidate the filter selects (all pages), with explanations, for a spreadsheet
    (``panel.candidate_export``)."""
    statement = _filtered(_candidates(study_id), query).add_columns(Candidate.explanation)
    key = _SORTS[query.sort]
    result = connection.execute(
        statement.order_by(key.desc() if query.descending else key.asc(), Candidate.volunteer_id)
    )
    return pd.DataFrame(result.all(), columns=list(result.keys()))
