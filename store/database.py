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


def create_panel_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the configured store), tuned for bulk ingest. Its errors
    never carry a statement's values (``store.db_errors``)."""
    if url is None:
        from panel.settings import get_settings

        url = get_settings().effective_database_url
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
    """On SQLite, wait for this process's turn to write and hold it until the block ends
    (commit inside it). Elsewhere (PostgreSQL, whose writers do not lock each other out)
    it does nothing.

    SQLite lets one writer in at a time and makes the others sleep and retry, after a while
    every 100 ms, so a writer in a tight loop of short transactions, as ingest is, could
    keep one that is waiting from ever getting in. Here writers wait on ``flock``s, which
    wake them the moment they are free, and a writer ``after_others`` (ingest, between the
    parts of a file) lets every writer that is waiting (the review app) go first: it takes
    its turn only when nobody else wants one, and so anyone else waits at most for the one
    part it is writing."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    with _turnstile_lock:
        wanting, writing = _descriptor(f"{database}.wanting"), _descriptor(f"{database}.writer")
        if after_others:
            fcntl.flock(wanting, fcntl.LOCK_EX)  # nobody else waiting or writing now
            fcntl.flock(writing, fcntl.LOCK_EX)
            fcntl.flock(wanting, fcntl.LOCK_UN)  # who comes now waits behind this one turn
        else:
            fcntl.flock(wanting, fcntl.LOCK_SH)  # first in line before any batch writer
            fcntl.flock(writing, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(writing, fcntl.LOCK_UN)
            if not after_others:
                fcntl.flock(wanting, fcntl.LOCK_UN)


#: A process's threads take their turns one by one before the process asks the kernel.
_turnstile_lock = threading.Lock()
_descriptors: dict[str, int] = {}


def _descriptor(path: str) -> int:
    """The process's one open descriptor of the lock file at ``path`` (the caller holds
    ``_turnstile_lock``)."""
    if path not in _descriptors:
        _descriptors[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    return _descriptors[path]


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
