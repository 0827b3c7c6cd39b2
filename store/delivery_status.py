"""Where each study's invitations are in their delivery, for operators: counts and times only
(no volunteer, name, address or health detail)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, select, type_coerce

from store.invitations import CANCELLED, FAILED, QUEUED, SENDING, SENT
from store.tables import Invitation, UTCDateTime


@dataclass
class StudyOutbox:
    study_id: str
    #: Queued and not tried yet (since it was last queued).
    queued: int = 0
    #: Queued again after a transient failure, and when the earliest is tried next.
    waiting_to_retry: int = 0
    next_retry_at: datetime | None = None
    #: Claimed by a sender; of those, claimed longer ago than the lease (left by a sender that
    #: died, taken over by the next run); and from when the oldest claim may be taken over.
    sending: int = 0
    sending_abandoned: int = 0
    takeover_at: datetime | None = None
    sent: int = 0
    failed: int = 0
    cancelled: int = 0


def delivery_status(
    connection: Connection, now: datetime, lease_seconds: float
) -> list[StudyOutbox]:
    """Every study with invitations, by id: how many are at each step of delivery."""
    retrying = case((and_(Invitation.status == QUEUED, Invitation.attempts > 0), 1), else_=0).label(
        "retrying"
    )
    abandoned = Invitation.claimed_at < now - timedelta(seconds=lease_seconds)
    rows = connection.execute(
        select(
            Invitation.study_id,
            Invitation.status,
            retrying,
            func.count(),
            type_coerce(func.min(Invitation.next_attempt_at), UTCDateTime()),
            type_coerce(func.min(Invitation.claimed_at), UTCDateTime()),
            func.sum(case((abandoned, 1), else_=0)),
        )
        .group_by(Invitation.study_id, Invitation.status, retrying)
        .order_by(Invitation.study_id)
    )
    found: dict[str, StudyOutbox] = {}
    for study_id, status, again, count, next_attempt, oldest_claim, stale in rows:
        study = found.setdefault(study_id, StudyOutbox(study_id))
        if status == QUEUED and again:
            study.waiting_to_retry, study.next_retry_at = count, next_attempt
        elif status == QUEUED:
            study.queued = count
        elif status == SENDING:
            study.sending, study.sending_abandoned = count, int(stale or 0)
            study.takeover_at = oldest_claim + timedelta(seconds=lease_seconds)
        elif status == SENT:
            study.sent = count
        elif status == FAILED:
            study.failed = count
        elif status == CANCELLED:
            study.cancelled = count
    return list(found.values())
