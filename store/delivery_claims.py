"""Claiming and settling one message of an outbox table, exactly once: invitations
(``store.outbox``) and their reminders (``store.reminders``) are delivered the same way.

A sender takes a due row (queued and due, or ``sending`` under a claim older than the lease:
its sender died) with a compare-and-set on its status and claim number, commits, delivers,
and records the outcome only if it still holds that claim. Claims are numbered over the
row's life and never reused, so a sender that lost its claim can never record an outcome on
a later one. Both tables name their delivery columns alike and are keyed by invitation.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, Select, and_, or_, update

from store.invitations import QUEUED, SENDING
from store.tables import Invitation, InvitationReminder

OutboxTable = type[Invitation] | type[InvitationReminder]


def due(table: OutboxTable, now: datetime, lease_seconds: float) -> ColumnElement[bool]:
    """The rows a sender may take now: queued and due, or abandoned by a dead sender."""
    abandoned = now - timedelta(seconds=lease_seconds)
    return or_(
        and_(table.status == QUEUED, table.next_attempt_at <= now),
        and_(table.status == SENDING, table.claimed_at < abandoned),
    )


def take_first(
    connection: Connection,
    table: OutboxTable,
    candidates: Select[*tuple[Any, ...]],
    now: datetime,
    skip: Collection[int] = (),
) -> tuple[Row[*tuple[Any, ...]], int, int] | None:
    """Claim the first of ``candidates`` (a select of rows of ``table`` with at least its
    ``invitation_id``, ``status``, ``claims`` and ``attempts``) that no other sender takes
    first: the row as read, this attempt's number and this claim's. None if none is left."""
    if skip:
        candidates = candidates.where(table.invitation_id.not_in(list(skip)))
    for row in connection.execute(candidates.limit(10)).all():
        # Compare-and-set: of two senders, exactly one changes the row.
        taken = connection.execute(
            update(table)
            .where(
                table.invitation_id == row.invitation_id,
                table.status == row.status,
                table.claims == row.claims,
            )
            .values(
                status=SENDING, claimed_at=now, attempts=row.attempts + 1, claims=row.claims + 1
            )
        )
        if taken.rowcount == 1:
            return row, row.attempts + 1, row.claims + 1
    return None


def finish(
    connection: Connection, table: OutboxTable, invitation_id: int, claim: int, **values: object
) -> bool:
    """Record an attempt's outcome, unless another sender has taken the row over (its claim
    ran out): False then, and nothing is recorded."""
    done = connection.execute(
        update(table)
        .where(
            table.invitation_id == invitation_id,
            table.status == SENDING,
            table.claims == claim,
        )
        .values(**values)
    )
    return done.rowcount == 1
