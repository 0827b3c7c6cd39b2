"""An ingest's steps in the store that span more than one transaction, over the handle.

Accepting a file stores it a part at a time, each part its own short transaction
(``store.storing``), and then follows up beyond the tables: the raw archive and its copies,
the outbox's local copies, SQLite's old page versions. So these functions take the handle
(``store.panel_store.PanelStore``: its engine, staging folder and archive), not one
connection; everything else in the store takes a connection whose transaction the caller owns.

Holding the ingest lock (``ingest_lock``) finishes what runs that died left behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import update

from configuration.errors import as_panel_error
from store import audit, staging, storing
from store.database import forget_old_page_versions
from store.ingest_lock import ingest_lock as _ingest_lock
from store.outreach_erasure import forget_recorded_copies
from store.panel_store import PanelStore
from store.staging import AcceptedFile
from store.submissions import SignupsStored
from store.tables import Erasure
from store.withdrawals import WithdrawalsStored, erasures


@contextmanager
def ingest_lock(store: PanelStore, *, wait: bool, on_wait: Callable[[str], None]) -> Iterator[None]:
    """One ingest at a time (``store.ingest_lock``); taking it finishes the audit records
    of runs that died as ``interrupted``."""

    def holder() -> str:
        with store.reading() as connection:
            return audit.running(connection) or "a cycle, between its files"

    with _ingest_lock(store.engine, wait=wait, holder=holder, on_wait=on_wait):
        now = datetime.now(UTC)
        finish_storing(store, now)
        with store.writing() as connection:
            audit.mark_interrupted(connection, now)
        finish_erasures(store, now)
        yield


def fail(store: PanelStore, ingest_id: int, reason: str, now: datetime) -> str:
    """Finish an ingest that went wrong through no fault of its file; the audit's message:
    ``reason`` and what of the file was stored. That is nothing, unless it broke while
    storing, between two parts: the parts before stay (each person whole), and ingesting
    the file again stores the rest. Its staged plan goes."""
    staging.discard(store.staging / f"ingest-{ingest_id}")
    with store.writing() as connection:
        return audit.fail(connection, ingest_id, reason, now)


def accept(
    store: PanelStore,
    file: AcceptedFile,
    now: datetime,
    on_part: Callable[[int, int], None] = lambda done, total: None,
) -> SignupsStored | WithdrawalsStored:
    """Store an accepted file's valid rows and quarantine, a part at a time, each part its
    own short transaction (``store.storing``), and finish its audit record; then follow
    up: cut people erased since out of the file's archived copy, or, for withdrawals, do
    what the erasures left to do beyond the tables."""
    folder = store.staging / f"ingest-{file.ingest_id}"
    return _followed_up(store, file, storing.store(store.engine, folder, file, on_part), now)


def finish_storing(store: PanelStore, now: datetime) -> list[int]:
    """Store the rest of every file whose run died while storing it; their ingest ids."""
    finished = []
    for ingest_id, folder in staging.staged(store.staging):
        try:
            done = storing.finish(store.engine, folder)
        except Exception as error:
            problem = as_panel_error(error)
            if problem.transient:
                raise  # the next run tries again
            # Not again and again: the file is failed, and every later run goes on.
            fail(
                store,
                ingest_id,
                f"panelmatch could not finish storing this file ({problem.message})",
                now,
            )
            continue
        if done is not None:
            file, outcome = done
            _followed_up(store, file, outcome, now)
            finished.append(ingest_id)
    return finished


def _followed_up(
    store: PanelStore,
    file: AcceptedFile,
    outcome: SignupsStored | WithdrawalsStored,
    now: datetime,
) -> SignupsStored | WithdrawalsStored:
    if isinstance(outcome, SignupsStored):
        return replace(outcome, archive_records_removed=redact_erased(store, file.file_sha256, now))
    finish_erasures(store, now)
    return outcome


def finish_erasures(store: PanelStore, now: datetime) -> int:
    """What an erasure does after its transaction: delete the outbox copies of messages to
    the erased people, remove them from every archived file and its copies, and from the
    pages SQLite's write-ahead log still keeps. Every ingest calls it until it has
    succeeded once (a crash, or a reader holding the log, leaves it pending); archived
    records removed."""
    with store.reading() as connection:
        pending = erasures(connection, pending_only=True)
    if not pending:
        return 0
    # Outbox copies that cannot be deleted now are tried again by every contact run.
    forget_recorded_copies(store)
    removed = store.archive.purge(pending, now)
    if not forget_old_page_versions(store.engine):
        return removed
    with store.writing() as connection:
        connection.execute(
            update(Erasure)
            .where(Erasure.email_hash.in_([email_hash for email_hash, _ in pending]))
            .values(archive_purged_at=now)
        )
    return removed


def redact_erased(store: PanelStore, sha256: str, now: datetime) -> int:
    """Remove from a newly archived file every erased person it brought back."""
    with store.reading() as connection:
        erased = erasures(connection)
    return store.archive.redact(sha256, erased, now)
