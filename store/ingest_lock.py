"""One ingest at a time: a store-wide lock that a second ingest (or cycle) waits for.

Two ingests at once would both find a submission "not stored yet" and both store it. So every
ingest holds this lock from before it reads what is stored until it has filed its exports
away. On PostgreSQL it is a session advisory lock on a connection of its own; on SQLite an
exclusive ``flock`` on a file next to the database. Either way the operating system or the
server releases it when its holder dies, SIGKILL included: a lock is never left behind.

The lock is re-entrant within a process (the cycle holds it and runs the ingest flow, which
takes it again). A run that must not wait gets ``StoreBusy`` at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, text

from store.errors import StoreBusy

#: The advisory lock's key on PostgreSQL ("ingest" in ASCII); queueing uses another.
_ADVISORY_KEY = 0x696E67657374
#: How many times each store's lock is held in this process, by the lock's identity.
_held: dict[str, int] = {}
_registry = threading.Lock()


@contextmanager
def ingest_lock(
    engine: Engine, *, wait: bool, holder: Callable[[], str], on_wait: Callable[[str], None]
) -> Iterator[None]:
    """Hold the store's ingest lock for the block. When another process holds it: with
    ``wait``, say so through ``on_wait`` (what ``holder()`` tells of the run holding it) and
    wait; without, raise ``StoreBusy``."""
    key = _identity(engine)
    with _registry:
        depth = _held.get(key, 0)
        _held[key] = depth + 1
    try:
        if depth:  # this process holds it already
            yield
            return
        with _acquired(engine, wait, holder, on_wait):
            yield
    finally:
        with _registry:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]


def _identity(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def _acquired(
    engine: Engine, wait: bool, holder: Callable[[], str], on_wait: Callable[[str], None]
) -> Iterator[None]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection, _advisory(connection, wait, holder, on_wait):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:":  # a database of this connection's alone
        yield
        return
    with _flocked(Path(f"{database}.ingest-lock"), wait, holder, on_wait):
        yield


@contextmanager
def _advisory(
    connection: Connection, wait: bool, holder: Callable[[], str], on_wait: Callable[[str], None]
) -> Iterator[None]:
    connection.execution_options(isolation_level="AUTOCOMMIT")
    lock = {"key": _ADVISORY_KEY}
    if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), lock):
        _busy(wait, holder, on_wait)
        connection.execute(text("SELECT pg_advisory_lock(:key)"), lock)
    try:
        yield
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), lock)


@contextmanager
def _flocked(
    path: Path, wait: bool, holder: Callable[[], str], on_wait: Callable[[str], None]
) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "soft" fallback: a soft lock file outlives a killed holder, a flock never does.
    lock = FileLock(path, fallback_to_soft=False, thread_local=False)
    try:
        lock.acquire(blocking=False)
    except Timeout:
        _busy(wait, holder, on_wait)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _busy(wait: bool, holder: Callable[[], str], on_wait: Callable[[str], None]) -> None:
    busy = f"another ingest is running ({holder()})"
    if not wait:
        raise StoreBusy(f"{busy}; not waiting for it (--no-wait): try again later")
    on_wait(f"{busy}; waiting for it to finish")
