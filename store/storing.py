"""Storing an accepted file a part at a time, each part its own short transaction, from a
plan staged on disk first (``store.staging`` says why), and finishing what a run cut short
left half stored.

    stage the plan -> mark the run storing -> part 1 -> part 2 -> ... (rows and quarantine)
      -> mark it accepted -> delete the plan

Each part's transaction also records that the part is stored, so a part is never stored
twice and never skipped, whoever stores the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine

from schemas.exports import ExportKind
from store import audit, staging
from store.database import begin_as_writer, writer_turn
from store.quarantine import record_quarantine
from store.staging import AcceptedFile
from store.submissions import (
    SignupsStored,
    SignupWrites,
    signup_facts,
    signup_writes,
    write_signups,
)
from store.withdrawals import WithdrawalsStored, store_withdrawals

Stored = SignupsStored | WithdrawalsStored
#: SQLite's own default: a commit checkpoints once the log holds this many pages.
AUTOCHECKPOINT_PAGES = 1000
#: Parts between two checkpoints. A checkpoint after each part took 7 of the 28 s storing
#: 200,000 rows took; five parts write about as many pages as make another connection's
#: commit checkpoint (``AUTOCHECKPOINT_PAGES``), so the review app's requests are not left
#: to fold in the ingest's pages.
CHECKPOINT_EVERY = 5


def store(
    engine: Engine,
    folder: Path,
    file: AcceptedFile,
    on_part: Callable[[int, int], None] = lambda done, total: None,
) -> Stored:
    """Stage ``file`` in ``folder`` and store it, part by part; what the parts stored. (Called
    again for a file it was storing, it goes on from the first part not stored: the plan is
    the same, as it depends on the file alone.)"""
    plan = staging.plan(file, engine.dialect.name)
    with engine.connect() as connection:
        progress = audit.storing_progress(connection, file.ingest_id)
    if progress is not None and progress[0] == "storing" and staging.is_staged(folder):
        return _store_parts(engine, folder, plan, progress[1], on_part)
    staging.stage(folder, plan)
    with engine.begin() as connection:
        audit.start_storing(
            connection,
            file.ingest_id,
            kind=file.kind.value,
            counts=audit.IngestCounts(file.rows, 0, len(file.quarantine), file.known),
            validation_result_path=file.validation_result_path,
            data_docs_path=file.data_docs_path,
        )
    return _store_parts(engine, folder, plan, 0, on_part)


def finish(engine: Engine, folder: Path) -> tuple[AcceptedFile, Stored] | None:
    """Store the rest of the plan in ``folder`` if its run was storing it when it died, and
    return what was stored now; else (it never began storing) delete the plan: None."""
    plan = staging.load(folder)
    with engine.connect() as connection:
        progress = audit.storing_progress(connection, plan.file.ingest_id)
    if progress is None or progress[0] != "storing":
        staging.discard(folder)
        return None
    return plan.file, _store_parts(engine, folder, plan, progress[1], lambda done, total: None)


def _store_parts(
    engine: Engine,
    folder: Path,
    plan: staging.Plan,
    done: int,
    on_part: Callable[[int, int], None],
) -> Stored:
    file = plan.file
    pieces = plan.parts()
    signups = file.kind is ExportKind.SIGNUPS
    writes: dict[int, SignupWrites] = {}
    now = datetime.now(UTC)
    if signups:
        # Worked out for every part at once, from what no other run changes while we hold
        # the ingest lock (a person's rows all in one part, so no part changes another's).
        rows, hashes, part_of_row = plan.rows_from(done)
        with engine.connect() as connection:
            writes = signup_writes(
                connection, rows, hashes, part_of_row, range(done, len(pieces)),
                file.ingest_id, now, signup_facts(connection),
            )  # fmt: skip
    outcome: Stored = SignupsStored() if signups else WithdrawalsStored()
    with engine.connect() as connection, _checkpoints_between_parts(connection):
        for number, piece in enumerate(pieces):
            if number < done:
                continue
            with writer_turn(engine, after_others=True), connection.begin():
                begin_as_writer(connection)
                record_quarantine(connection, piece.quarantine, file.ingest_id, file.file_sha256)
                if signups:
                    stored: Stored = write_signups(connection, writes.pop(number), now)
                else:
                    stored = store_withdrawals(
                        connection, piece.rows, piece.email_hashes, file.ingest_id, now
                    )
                audit.part_stored(connection, file.ingest_id, number, stored.stored, stored.known)
            outcome = _added(outcome, stored)
            on_part(number + 1, len(pieces))
            if (number + 1) % CHECKPOINT_EVERY == 0:
                _checkpoint(connection)
        with connection.begin():
            audit.finish_storing(connection, file.ingest_id, datetime.now(UTC))
    staging.discard(folder)
    return outcome


@contextmanager
def _checkpoints_between_parts(connection: Connection) -> Iterator[None]:
    """On SQLite, no checkpoint inside a part's commit (it would keep the writers' turn for
    as long as it copies pages): the parts checkpoint in between instead."""
    if connection.dialect.name != "sqlite":
        yield
        return
    connection.exec_driver_sql("PRAGMA wal_autocheckpoint = 0")
    connection.commit()
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
        connection.commit()


def _checkpoint(connection: Connection) -> None:
    """Between two parts, outside the writers' turn: fold the log into the database."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        connection.commit()


def _added(total: Stored, part: Stored) -> Stored:
    """Two parts' outcomes as one: counts added, lists joined."""
    return replace(
        total,
        **{
            field.name: getattr(total, field.name) + getattr(part, field.name)
            for field in fields(part)
        },
    )
