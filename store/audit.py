"""The audit log of ingests: every file given to ``panel ingest``, who gave it, what came of it.

A run is recorded as ``running`` in its own transaction before anything else happens, so even a
crash leaves a trace. An accepted file is ``storing`` while its parts are stored
(``store.staging``) and then ``accepted``; a run ends ``refused`` with its counts, or
``failed`` when something went wrong that is not the file's fault. A run whose process died
stays ``running`` until the next ingest, which holds the ingest lock (so no other run can be
alive) and marks it ``interrupted``; one that died ``storing`` that ingest finishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from configuration.errors import one_line
from schemas.act import Act
from store.bulk import record_columns
from store.tables import IngestRun


@dataclass(frozen=True)
class IngestCounts:
    rows: int
    stored: int
    quarantined: int
    known: int


@dataclass(frozen=True)
class IngestRecord:
    ingest_id: int
    file_name: str
    kind: str | None
    actor: str
    started_at: datetime
    status: str
    rows: int | None
    stored: int | None
    quarantined: int | None
    known: int | None
    #: Why a refused file was refused.
    message: str | None


def start_ingest(connection: Connection, file_name: str, file_sha256: str, act: Act) -> int:
    """Record a run as ``running`` (in a transaction of its own: even a crash leaves a trace);
    its ingest id."""
    result = connection.execute(
        insert(IngestRun).values(
            file_name=file_name,
            file_sha256=file_sha256,
            actor=act.who,
            started_at=act.at,
            status="running",
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def recent_ingests(connection: Connection, limit: int = 10) -> list[IngestRecord]:
    """The last ``limit`` runs, oldest first."""
    statement = (
        select(*record_columns(IngestRun, IngestRecord))
        .order_by(IngestRun.ingest_id.desc())
        .limit(limit)
    )
    return [IngestRecord(*row) for row in connection.execute(statement)][::-1]


def finish_ingest(
    connection: Connection,
    ingest_id: int,
    *,
    status: str,
    finished_at: datetime,
    kind: str | None = None,
    counts: IngestCounts | None = None,
    batch_valid: bool | None = None,
    validation_result_path: str | None = None,
    data_docs_path: str | None = None,
    message: str | None = None,
) -> None:
    values = {
        "status": status,
        "finished_at": finished_at,
        "kind": kind,
        "batch_valid": batch_valid,
        "validation_result_path": validation_result_path,
        "data_docs_path": data_docs_path,
        "message": message,
    }
    if counts is not None:
        values |= {
            "rows": counts.rows,
            "stored": counts.stored,
            "quarantined": counts.quarantined,
            "known": counts.known,
        }
    connection.execute(update(IngestRun).where(IngestRun.ingest_id == ingest_id).values(**values))


def start_storing(
    connection: Connection,
    ingest_id: int,
    *,
    kind: str,
    counts: IngestCounts,
    validation_result_path: str,
    data_docs_path: str,
) -> None:
    """The file is accepted and staged: its parts are stored from now on (``store.staging``).
    ``counts.stored`` and ``counts.known`` grow with each part."""
    connection.execute(
        update(IngestRun)
        .where(IngestRun.ingest_id == ingest_id)
        .values(
            status="storing",
            kind=kind,
            rows=counts.rows,
            stored=counts.stored,
            quarantined=counts.quarantined,
            known=counts.known,
            batch_valid=True,
            validation_result_path=validation_result_path,
            data_docs_path=data_docs_path,
            stored_parts=0,
        )
    )


def part_stored(connection: Connection, ingest_id: int, part: int, stored: int, known: int) -> None:
    """Part number ``part`` (from 0) is stored, in the transaction that stored it."""
    connection.execute(
        update(IngestRun)
        .where(IngestRun.ingest_id == ingest_id)
        .values(
            stored_parts=part + 1,
            stored=IngestRun.stored + stored,
            known=IngestRun.known + known,
        )
    )


def storing_progress(connection: Connection, ingest_id: int) -> tuple[str, int] | None:
    """A run's status and how many of its parts are stored (None: no such run)."""
    row = connection.execute(
        select(IngestRun.status, IngestRun.stored_parts).where(IngestRun.ingest_id == ingest_id)
    ).first()
    return None if row is None else (row.status, row.stored_parts or 0)


def finish_storing(connection: Connection, ingest_id: int, finished_at: datetime) -> None:
    """Every part is stored: the file is accepted (a match started before now is not current)."""
    connection.execute(
        update(IngestRun)
        .where(IngestRun.ingest_id == ingest_id)
        .values(status="accepted", finished_at=finished_at)
    )


def refuse(
    connection: Connection, ingest_id: int, reason: str, finished_at: datetime, **details: object
) -> None:
    """Mark a run refused, for ``reason`` (its counts and validation results in ``details``)."""
    finish_ingest(
        connection,
        ingest_id,
        status="refused",
        finished_at=finished_at,
        message=reason,
        **details,  # type: ignore[arg-type]
    )


def fail(connection: Connection, ingest_id: int, reason: str, finished_at: datetime) -> str:
    """Mark a run failed with ``reason`` and what of its file was stored; that message."""
    stored = connection.scalar(
        select(IngestRun.stored).where(
            IngestRun.ingest_id == ingest_id, IngestRun.status == "storing"
        )
    )
    kept = (
        f"{stored:,} of its rows were stored before it stopped, each person whole; ingesting "
        "it again stores the rest"
        if stored
        else "nothing of it was stored"
    )
    message = one_line(f"{reason}; {kept} (ingest #{ingest_id})")
    finish_ingest(connection, ingest_id, status="failed", finished_at=finished_at, message=message)
    return message


def running(connection: Connection) -> str | None:
    """The newest run still marked running, in words (no data of its file's rows)."""
    row = connection.execute(
        select(IngestRun.ingest_id, IngestRun.file_name, IngestRun.actor, IngestRun.started_at)
        .where(IngestRun.status == "running")
        .order_by(IngestRun.ingest_id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    since = f"{row.started_at:%H:%M} UTC"
    return f"ingest #{row.ingest_id} of {row.file_name} by {row.actor}, since {since}"


def mark_interrupted(connection: Connection, now: datetime) -> int:
    """Finish the runs whose process died while they were running (the caller holds the ingest
    lock, so none of them is alive); how many there were."""
    result = connection.execute(
        update(IngestRun)
        .where(IngestRun.status == "running")
        .values(
            status="interrupted",
            finished_at=now,
            message="the run stopped before it finished (its process ended); nothing of the file "
            "was stored",
        )
    )
    return int(result.rowcount)
