"""Coordinators' decisions on candidates, one at a time or in bulk, their history, and the
access log (reading the list itself is ``store.candidate_list``).

A decision names the ``review_version`` of the candidate it was made on; the update only
happens if that is still the version (optimistic locking), so of two coordinators deciding at
once the second is told, not silently overwritten. Approval needs current data: a candidate
whose profile changed since the match, or who may no longer be contacted, is not approved
until a new match has looked at them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, text, update

from matching.engine import NEEDS_SCREENING
from schemas.act import Act
from schemas.review import (
    AUTOMATIC_APPROVER,
    NOTE_MAX_LENGTH,
    REJECT_REASONS,
    Action,
    CandidateQuery,
    ReviewState,
)
from store.bulk import in_chunks
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.candidate_list import CandidateRow, candidate, selection
from store.errors import StoreError
from store.studies import definition_at
from store.tables import AccessLog, Candidate, Decision, Study

#: The rule an automatic approval applied, as its decision's note says.
AUTOMATIC_RULE = "auto_approve_eligible: eligible candidates are invited without review"


@dataclass(frozen=True)
class DecisionRecord:
    action: str
    reason: str | None
    note: str | None
    decided_by: str
    decided_at: datetime
    study_version: str
    #: None once the volunteer is erased.
    submission_id: str | None


class DecisionRefused(StoreError):
    """The decision cannot be made (the message says why)."""


class DecisionConflict(StoreError):
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


@dataclass(frozen=True)
class BulkPreview:
    """What a bulk decision would do, to be confirmed before it is done."""

    action: Action
    #: Of those it would decide: how many are eligible, how many need screening, and on how
    #: many distinct criteria the latter are unknown.
    eligible: int
    needs_screening: int
    unknown_criteria: int
    #: Why the others would be left alone: reason -> how many.
    skipped: dict[str, int]
    #: A digest of who would be decided: the confirmation names it, so a selection that
    #: changed in between is shown again rather than decided.
    digest: str

    @property
    def decides(self) -> int:
        return self.eligible + self.needs_screening


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
    act: Act,
    seen_version: int | None,
    reason: str | None = None,
    note: str | None = None,
    current: CandidateRow | None = None,
    unscreened: bool = False,
) -> CandidateRow:
    """Decide on one candidate, as seen at ``seen_version`` (None: whatever it is now).
    Returns the candidate as it is after the decision. ``current``: the candidate as just
    read (so a caller can read before its write transaction; the version check in the
    UPDATE still catches anyone deciding in between). Approving a candidate who needs
    screening takes ``unscreened`` (a deliberate choice) and a study that allows it."""
    current = current or candidate(connection, study_id, volunteer_id)
    if current is None:
        raise DecisionRefused(f"{volunteer_id} is not on the candidate list of {study_id}")
    _check(current, action, reason, note)
    if action is Action.APPROVE and current.status == NEEDS_SCREENING:
        _check_unscreened(connection, current, unscreened)
    if seen_version is not None and seen_version != current.review_version:
        raise DecisionConflict(current)
    if action.state is not None:
        changed = connection.execute(
            _DECIDE,
            {
                "of_study": study_id,
                "of_volunteer": volunteer_id,
                "seen": current.review_version,
                "new_state": action.state.value,
            },
        ).rowcount
        if changed != 1:  # decided by someone else between our read and our write
            now_row = candidate(connection, study_id, volunteer_id)
            assert now_row is not None
            raise DecisionConflict(now_row)
    _record(connection, study_id, [current], action, act, reason, note)
    if action.state is None:
        return current
    return replace(
        current, review_state=action.state.value, review_version=current.review_version + 1
    )


#: One candidate's new state, only if nobody decided since ``seen`` (optimistic locking).
_DECIDE = (
    update(Candidate)
    .where(
        Candidate.study_id == bindparam("of_study"),
        Candidate.volunteer_id == bindparam("of_volunteer"),
        Candidate.review_version == bindparam("seen"),
    )
    .values(review_state=bindparam("new_state"), review_version=Candidate.review_version + 1)
)


def decide_all(
    connection: Connection,
    study_id: str,
    query: CandidateQuery,
    action: Action,
    *,
    act: Act,
    reason: str | None = None,
    note: str | None = None,
    unscreened: bool = False,
    confirmed: str | None = None,
) -> BulkResult:
    """Decide on every candidate the filter selects (all pages) that is still undecided or
    deferred and not invited; decided ones, and for approval those whose data is not current
    (and those who need screening, unless ``unscreened``), are skipped. With ``confirmed``
    (a ``BulkPreview.digest``), nothing is decided unless the same candidates would be:
    ``SelectionChanged`` then."""
    rows = selection(connection, study_id, query)
    chosen, skipped = _choose(connection, rows, action, reason, note, unscreened)
    if confirmed is not None and confirmed != _digest(chosen):
        raise SelectionChanged("the selection changed since it was shown: check it again")
    if chosen:
        assert action.state is not None
        ids = [row.volunteer_id for row in chosen]
        # Still open now (not only when read): a concurrent decision is not overwritten.
        open_states = (ReviewState.UNDECIDED.value, ReviewState.DEFERRED.value)
        decide = (
            update(Candidate)
            .where(Candidate.study_id == study_id, Candidate.review_state.in_(open_states))
            .values(review_state=action.state.value, review_version=Candidate.review_version + 1)
            .returning(Candidate.volunteer_id)
        )
        updated = {
            volunteer_id
            for result in in_chunks(connection, decide, Candidate.volunteer_id, ids)
            for volunteer_id in result.scalars()
        }
        if len(updated) < len(chosen):
            skipped["decided by someone else meanwhile"] = len(chosen) - len(updated)
        chosen = [row for row in chosen if row.volunteer_id in updated]
        _record(connection, study_id, chosen, action, act, reason, note)
    return BulkResult(len(chosen), skipped)


def preview_all(
    connection: Connection,
    study_id: str,
    query: CandidateQuery,
    action: Action,
    *,
    reason: str | None = None,
    note: str | None = None,
    unscreened: bool = False,
) -> BulkPreview:
    """What ``decide_all`` would do now, deciding nothing."""
    rows = selection(connection, study_id, query)
    chosen, skipped = _choose(connection, rows, action, reason, note, unscreened)
    screening = [row for row in chosen if row.status == NEEDS_SCREENING]
    return BulkPreview(
        action=action,
        eligible=len(chosen) - len(screening),
        needs_screening=len(screening),
        unknown_criteria=len({c for row in screening for c in row.unknown_criteria}),
        skipped=skipped,
        digest=_digest(chosen),
    )


class SelectionChanged(DecisionRefused):
    """A confirmed bulk decision whose selection is no longer what was confirmed."""


def _choose(
    connection: Connection,
    rows: list[CandidateRow],
    action: Action,
    reason: str | None,
    note: str | None,
    unscreened: bool,
) -> tuple[list[CandidateRow], dict[str, int]]:
    """Who a bulk decision decides, and why it leaves the others alone."""
    if action is Action.NOTE:
        raise DecisionRefused("notes are written one candidate at a time")
    _check_words(action, reason, note)
    approving_unscreened = action is Action.APPROVE and unscreened
    screening = next((row for row in rows if row.status == NEEDS_SCREENING), None)
    if approving_unscreened and screening is not None:
        _check_unscreened(connection, screening, unscreened)
    skipped: Counter[str] = Counter()
    chosen = []
    open_states = (ReviewState.UNDECIDED.value, ReviewState.DEFERRED.value)
    for row in rows:
        why = None if row.review_state in open_states else f"already {row.review_state}"
        if why is None and not row.decidable:
            why = "already invited"
        if why is None and action is Action.APPROVE and not row.approvable:
            why = "profile changed since the match" if row.stale else "may not be contacted"
        if why is None and action is Action.APPROVE and row.status == NEEDS_SCREENING:
            why = None if approving_unscreened else "need screening"
        if why is None and row.review_state == (action.state.value if action.state else None):
            why = f"already {row.review_state}"
        if why:
            skipped[why] += 1
        else:
            chosen.append(row)
    return chosen, dict(skipped)


def _digest(rows: list[CandidateRow]) -> str:
    ids = sorted(f"{row.volunteer_id}:{row.review_version}" for row in rows)
    return hashlib.sha256(",".join(ids).encode()).hexdigest()[:32]


def approve_automatically(
    connection: Connection,
    study_id: str,
    rows: list[tuple[str, str, str]],
    now: datetime,
) -> dict[str, int]:
    """Record the automatic approval of undecided candidates (volunteer, study version,
    profile version) as decisions like any other, by ``AUTOMATIC_APPROVER`` with its rule; returns
    each approved volunteer's decision id. One a coordinator decided on meanwhile is left
    alone (and left out)."""
    if not rows:
        return {}
    approve = (
        update(Candidate)
        .where(Candidate.study_id == study_id, Candidate.review_state == ReviewState.UNDECIDED)
        .values(
            review_state=ReviewState.APPROVED.value,
            review_version=Candidate.review_version + 1,
        )
        .returning(Candidate.volunteer_id)
    )
    ids = [volunteer_id for volunteer_id, _, _ in rows]
    approved = {
        volunteer_id
        for result in in_chunks(connection, approve, Candidate.volunteer_id, ids)
        for volunteer_id in result.scalars()
    }
    if not approved:
        return {}
    recorded = connection.execute(
        insert(Decision).returning(
            Decision.volunteer_id, Decision.decision_id, sort_by_parameter_order=True
        ),
        [
            _decision_values(
                study_id,
                volunteer_id,
                study_version,
                submission_id,
                Action.APPROVE,
                Act(AUTOMATIC_APPROVER, now),
                None,
                AUTOMATIC_RULE,
            )
            for volunteer_id, study_version, submission_id in rows
            if volunteer_id in approved
        ],
    )
    return {volunteer: decision for volunteer, decision in recorded}


def log_access(
    connection: Connection,
    act: Act,
    study_id: str,
    what: str,
    volunteer_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Record a view, committed with the transaction it is in.

    On PostgreSQL that commit does not wait for the write-ahead log to reach the disk
    (``synchronous_commit = off`` for this transaction only): a crash of the database server
    can lose the last fraction of a second of view records (at most three times
    ``wal_writer_delay``, 0.6 s by default), never a decision, and never leaves the log
    inconsistent. The flush is what made page views stall now and then under load (see the
    review benchmark in benchmarks/README.md); SQLite's ``synchronous=NORMAL`` makes the same
    trade for all its commits."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NO_FLUSH_WAIT)
    connection.execute(
        _LOG_ACCESS,
        {
            "at": act.at,
            "actor": act.who,
            "study_id": study_id,
            "what": what,
            "volunteer_id": volunteer_id,
            "detail": detail,
        },
    )


_LOG_ACCESS = insert(AccessLog)
_NO_FLUSH_WAIT = text("SET LOCAL synchronous_commit = off")


def _check(row: CandidateRow, action: Action, reason: str | None, note: str | None) -> None:
    if action.state is not None and not row.decidable:
        raise DecisionRefused(
            f"{row.volunteer_id} has been invited already ({row.invitation}): a decision can "
            "no longer take effect; add a note instead"
        )
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


def _check_unscreened(connection: Connection, row: CandidateRow, unscreened: bool) -> None:
    """Approving someone who needs screening: only as a deliberate choice, and only where the
    study file, as published now, allows it (``approve_needs_screening``)."""
    version = connection.scalar(select(Study.current_version).where(Study.study_id == row.study_id))
    definition = definition_at(connection, row.study_id, version) if version else None
    if definition is None or not definition.contact.approve_needs_screening:
        raise DecisionRefused(
            "this study invites only eligible candidates: approving someone who needs "
            "screening takes approve_needs_screening: true in its study file"
        )
    if not unscreened:
        raise DecisionRefused(
            f"{row.volunteer_id} needs screening on {len(row.unknown_criteria)} "
            "criteria: approve them as needing screening (they are invited although "
            "these are unknown), or screen first"
        )


def _check_words(action: Action, reason: str | None, note: str | None) -> None:
    if note is not None and len(note) > NOTE_MAX_LENGTH:
        raise DecisionRefused(
            f"a note is at most {NOTE_MAX_LENGTH:,} characters (this one has {len(note):,})"
        )
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
    act: Act,
    reason: str | None,
    note: str | None,
) -> None:
    connection.execute(
        insert(Decision),
        [
            _decision_values(
                study_id,
                row.volunteer_id,
                row.study_version,
                row.submission_id,
                action,
                act,
                reason,
                note,
            )
            for row in rows
        ],
    )


def _decision_values(
    study_id: str,
    volunteer_id: str,
    study_version: str,
    submission_id: str | None,
    action: Action,
    act: Act,
    reason: str | None,
    note: str | None,
) -> dict[str, object]:
    """One decision row: who, when, and the study and profile versions it was made on."""
    return {
        "study_id": study_id,
        "volunteer_id": volunteer_id,
        "action": action.value,
        "reason": reason if action is Action.REJECT else None,
        "note": (note or "").strip() or None,
        "decided_by": act.who,
        "decided_at": act.at,
        "study_version": study_version,
        "submission_id": submission_id,
    }
