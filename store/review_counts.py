"""What waits for review, per study: the candidates still fitting (eligible or needing
screening) that nobody has decided on yet, or that were deferred. One grouped query for every
study, read from the candidate list's index by state (it holds study, state and status)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from schemas.review import ReviewState
from store.candidate_changes import NO_LONGER_ELIGIBLE
from store.tables import Candidate

#: Review states that still need a coordinator.
WAITING = (ReviewState.UNDECIDED.value, ReviewState.DEFERRED.value)


@dataclass(frozen=True)
class Pending:
    eligible: int = 0
    needs_screening: int = 0

    @property
    def total(self) -> int:
        return self.eligible + self.needs_screening


_PENDING = (
    select(Candidate.study_id, Candidate.status, func.count())
    .where(Candidate.review_state.in_(WAITING), Candidate.status != NO_LONGER_ELIGIBLE)
    .group_by(Candidate.study_id, Candidate.status)
)


def pending(connection: Connection) -> dict[str, Pending]:
    """Study id -> its candidates waiting for review (studies with none are left out)."""
    found: dict[str, dict[str, int]] = {}
    for study_id, status, count in connection.execute(_PENDING):
        found.setdefault(study_id, {})[status] = count
    return {
        study_id: Pending(counts.get("eligible", 0), counts.get("needs_screening", 0))
        for study_id, counts in found.items()
    }
