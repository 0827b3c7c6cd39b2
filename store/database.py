"""Connecting to the panel store and keeping its schema at the newest migration."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from store.db_errors import scrub

MIGRATIONS = Path(__file__).parent / "migrations"
#: How long an SQLite statement waits for another connection's write lock.
SQLITE_TIMEOUT_SECONDS = 60


def create_panel_engine(url: str) -> Engine:
    """An engine for ``url``, tuned for bulk ingest. Its errors never carry a statement's
    values (``store.db_errors``)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # A pool as large as the review app's thread pool can use: connections are not
        # opened (and their pragmas run) again and again under load.
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_TIMEOUT_SECONDS},
            pool_size=20,
            max_overflow=20,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    event.listen(engine, "handle_error", scrub)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the ingest; NORMAL sync is safe with WAL (no corruption, at
    # worst the last commit is lost on power failure). secure_delete overwrites erased rows.
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "secure_delete=ON",
        "cache_size=-262144",
        "temp_store=MEMORY",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


@contextmanager
def writer_turn(engine: Engine, *, after_others: bool = False) -> Iterator[None]:
    """On SQLite, wait for this thread's turn to write and hold it until the block ends
    (commit inside it). Elsewhere (PostgreSQL, whose writers do not lock each other out)
    it does nothing.

    SQLite lets one writer in at a time and makes the others sleep and retry, after a while
    every 100 ms, so a writer in a tight loop of short transactions, as ingest is, could
    keep one that is waiting from ever getting in. Here writers wait on ``flock``s, which
    wake them the moment they are free, and a writer ``after_others`` (ingest, between the
    parts of a file) lets every writer that is waiting (the review app's) go first: it
    takes its turn only when nobody else wants one, so anyone else waits at most for the
    one part it is writing. A process's waiting writers keep their place together: the
    ingest gets in only once none of them is left."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    if after_others:
        # Descriptors of its own: flocks on one open file are one lock, whoever takes them.
        wanting, writing = (
            _descriptor(f"{database}.wanting", 1),
            _descriptor(f"{database}.writer", 1),
        )
        with _batch_writer:
            fcntl.flock(wanting, fcntl.LOCK_EX)  # nobody else waiting or writing now
            fcntl.flock(writing, fcntl.LOCK_EX)
            fcntl.flock(wanting, fcntl.LOCK_UN)  # who comes now waits behind this one turn
            try:
                yield
            finally:
                fcntl.flock(writing, fcntl.LOCK_UN)
        return
    wanting, writing = _descriptor(f"{database}.wanting", 0), _descriptor(f"{database}.writer", 0)
    _want(wanting, +1)
    try:
        with _one_writer:
            fcntl.flock(writing, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(writing, fcntl.LOCK_UN)
    finally:
        _want(wanting, -1)


#: A process's writers take their turns one by one before they ask the kernel (a flock is
#: the open file's, not the thread's).
_one_writer = threading.Lock()
_batch_writer = threading.Lock()
#: How many of the process's threads want a turn, by lock file: the first takes the shared
#: lock that keeps a batch writer waiting, the last lets it go.
_wanting: dict[int, int] = {}
_wanting_count = threading.Lock()
_descriptors: dict[tuple[str, int], int] = {}


def _want(descriptor: int, change: int) -> None:
    with _wanting_count:
        if change > 0 and not _wanting.get(descriptor):
            fcntl.flock(descriptor, fcntl.LOCK_SH)  # first in line before any batch writer
        _wanting[descriptor] = _wanting.get(descriptor, 0) + change
        if _wanting[descriptor] == 0:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _descriptor(path: str, kind: int) -> int:
    """The process's one open descriptor of the lock file at ``path`` for writers of
    ``kind`` (0: any writer, 1: batch writers)."""
    with _wanting_count:
        if (path, kind) not in _descriptors:
            _descriptors[path, kind] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        return _descriptors[path, kind]


def begin_as_writer(connection: Connection) -> None:
    """On SQLite, make this transaction the (single) writer before it reads anything, waiting
    for any other: a transaction that reads first and writes later fails at once, instead of
    waiting, when another wrote in between. (PostgreSQL needs nothing of the kind.)"""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = version_num WHERE 0")


def forget_old_page_versions(engine: Engine) -> bool:
    """On SQLite, fold the write-ahead log into the database and empty it, so the page
    versions it still held from before an erasure are gone (``secure_delete`` zeroes what is
    deleted, but older versions of a page live on in the log until it is reset). A reader
    in another process can keep it from emptying: then False, and the next ingest tries again.
    PostgreSQL needs nothing of the kind: what SQL reads is what is there."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as connection:
        # Wait for readers a moment only: this runs before every ingest.
        connection.exec_driver_sql("PRAGMA busy_timeout = 2000")
        try:
            busy, _, _ = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_TIMEOUT_SECONDS * 1000}")
    return not busy


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def is_up_to_date(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (a no-op when it is there already),
    all of it or, if a step fails, none of it."""
    if is_up_to_date(engine):
        return
    config = _alembic_config()
    with _transactional_ddl(engine) as migrating, migrating.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _transactional_ddl(engine: Engine) -> Iterator[Engine]:
    """``engine``, or on SQLite an engine of its own whose transactions hold DDL too: the
    sqlite3 module begins a transaction only before INSERT, UPDATE and DELETE, so each
    CREATE or ALTER of a migration would otherwise be committed on its own (SQLAlchemy's
    recipe: the driver leaves transactions alone, and every begin is an explicit BEGIN)."""
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield engine  # (an in-memory database is its connection's alone: no engine of its own)
        return
    migrating = create_engine(
        engine.url,
        connect_args={"timeout": SQLITE_TIMEOUT_SECONDS},
        poolclass=NullPool,
        hide_parameters=True,
    )
    event.listen(migrating, "handle_error", scrub)
    event.listen(migrating, "connect", _sqlite_pragmas)
    event.listen(migrating, "connect", _driver_leaves_transactions_alone)
    event.listen(migrating, "begin", lambda connection: connection.exec_driver_sql("BEGIN"))
    try:
        yield migrating
    finally:
        migrating.dispose()


def _driver_leaves_transactions_alone(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
