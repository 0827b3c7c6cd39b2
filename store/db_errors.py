"""What a database error may say when it leaves the store: its kind and the table, column or
constraint, never a value.

A database's own error text quotes data: PostgreSQL's ``DETAIL:  Key (submission_id)=(...)
already exists``, ``invalid input syntax for type date: "..."``, a trigger's message; and
SQLAlchemy adds the statement's bound parameters (the engines hide those:
``hide_parameters=True``). Every engine of the store routes its errors through ``scrub``
(SQLAlchemy's ``handle_error`` event), and statements that talk to the driver directly
(``COPY``) through ``driver_errors``: the error that leaves is a ``StoreError`` worded here, and
the driver's own exception, which stays chained to it as its cause, is rewritten to the same
words, so no traceback prints more.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import ExceptionContext

from store.errors import StoreError

#: PostgreSQL's SQLSTATE codes (and classes, by their first two characters) in words.
_SQLSTATES = {
    "23505": "a unique constraint refused the write",
    "23503": "a foreign key refused the write",
    "23502": "a NOT NULL constraint refused the write",
    "23514": "a check constraint refused the write",
    "40001": "a conflict with a concurrent transaction (serialization)",
    "40P01": "a deadlock with a concurrent transaction",
    "57014": "the statement was cancelled",
    "53100": "the database server's disk is full",
}
_SQLSTATE_CLASSES = {
    "08": "the connection to the database failed",
    "22": "the database cannot take a value",
    "23": "a constraint refused the write",
    "40": "a conflict with a concurrent transaction",
    "42": "the statement does not fit the store's schema (is the store migrated?)",
    "53": "the database server ran out of resources (disk, memory or connections)",
    "54": "a limit of the database was exceeded",
    "55": "a database object is in use",
    "57": "the database server stopped the statement",
    "58": "the database server's system failed",
    "P0": "a database trigger or function refused the statement",
    "XX": "the database server failed internally",
}
_TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
#: SQLite errors worth another try, by their primary result code.
_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_FULL", "SQLITE_IOERR")


def scrub(context: ExceptionContext) -> BaseException | None:
    """SQLAlchemy's ``handle_error`` hook: raise a ``StoreError`` in plain words instead."""
    if context.is_pre_ping:  # the pool only asks whether the connection is gone
        return None
    error = store_error(context.original_exception)
    if context.is_disconnect:
        error.transient = True
    return error


@contextmanager
def driver_errors() -> Iterator[None]:
    """Around statements run on the driver's own cursor: its errors leave as ``StoreError``."""
    try:
        yield
    except Exception as error:
        if not _from_driver(error):
            raise
        raise store_error(error) from error


def store_error(driver_error: BaseException) -> StoreError:
    """The ``StoreError`` for a driver's exception, whose own text is rewritten to match."""
    words, transient = _described(driver_error)
    driver_error.args = (words,)
    return StoreError(words, transient=transient)


def _described(error: BaseException) -> tuple[str, bool]:
    sqlite_name = getattr(error, "sqlite_errorname", None)
    if sqlite_name is not None:
        return _sqlite(error, str(sqlite_name))
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate:
        return _postgresql(error, str(sqlstate))
    # A driver's own complaint, made before the server saw anything ("connection failed:
    # ... Connection refused"): it names hosts, ports and types, not data.
    first = str(error).strip().splitlines()
    return f"the database driver: {first[0] if first else type(error).__name__}", True


def _sqlite(error: BaseException, name: str) -> tuple[str, bool]:
    transient = name.startswith(_SQLITE_TRANSIENT)
    if name == "SQLITE_CONSTRAINT_TRIGGER":  # RAISE(...) in a trigger: its text is anyone's
        return "a database trigger refused the write", False
    # SQLite's own messages name tables, columns and indexes, never values.
    first = str(error).strip().splitlines()
    return f"SQLite: {first[0] if first else name}", transient


def _postgresql(error: BaseException, sqlstate: str) -> tuple[str, bool]:
    words = _SQLSTATES.get(sqlstate) or _SQLSTATE_CLASSES.get(
        sqlstate[:2], "the database refused the statement"
    )
    diag: Any = getattr(error, "diag", None)
    named = [
        f"{what} {value}"
        for what, value in (
            ("table", getattr(diag, "table_name", None)),
            ("column", getattr(diag, "column_name", None)),
            ("constraint", getattr(diag, "constraint_name", None)),
        )
        if value
    ]
    where = f" ({', '.join(named)})" if named else ""
    return f"PostgreSQL: {words}{where} [SQLSTATE {sqlstate}]", sqlstate.startswith(
        _TRANSIENT_CLASSES
    )


def _from_driver(error: BaseException) -> bool:
    module = type(error).__module__
    return module.startswith(("psycopg", "sqlite3"))
