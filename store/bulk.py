"""Writing many rows fast, inside the caller's transaction.

SQLAlchemy's ``insert()`` with a list of dicts runs each value through its type processors: about
65,000 rows/s for a wide table on SQLite. Ingest writes up to millions of rows per file, so this
module converts whole pandas columns to what the driver takes (vectorised) and hands them to the
driver in one go: ``executemany`` on SQLite (about 300,000 rows/s), ``COPY`` on PostgreSQL. The
values written are exactly what the ORM types in ``store.tables`` read back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from typing import Any, cast

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Table, bindparam, delete

from store.db_errors import driver_errors
from store.tables import Base

#: SQLite's limit on host parameters in one statement is 32766; stay far below.
IN_CHUNK = 900
#: Rows handed to the driver at once.
INSERT_CHUNK = 50_000


def insert_frame(connection: Connection, table: type[Base] | Table, frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's) into ``table``, in
    primary-key order (B-tree inserts in key order touch far fewer pages), a slice at a time
    (so the driver's copy of the values stays small)."""
    if frame.empty:
        return 0
    written = table if isinstance(table, Table) else cast(Table, table.__table__)
    key = [column.name for column in written.primary_key.columns if column.name in frame]
    if key:
        keys = pa.table({name: pa.array(frame[name]) for name in key})
        order = pc.sort_indices(keys, [(name, "ascending") for name in key])
        frame = frame.iloc[order.to_numpy()]
    names = list(frame.columns)
    dialect = connection.dialect.name
    quoted = ", ".join(f'"{name}"' for name in names)
    for start in range(0, len(frame), INSERT_CHUNK):
        part = frame.iloc[start : start + INSERT_CHUNK]
        rows = list(zip(*(_driver_values(part[name], dialect) for name in names), strict=True))
        if dialect == "postgresql":
            _copy_rows(connection, written.name, quoted, rows)
        else:
            placeholders = ", ".join("?" for _ in names)
            connection.exec_driver_sql(
                f'INSERT INTO "{written.name}" ({quoted}) VALUES ({placeholders})', rows
            )
    return len(frame)


def _copy_rows(
    connection: Connection, table: str, quoted_names: str, rows: list[tuple[Any, ...]]
) -> None:
    driver_connection = connection.connection.dbapi_connection
    assert driver_connection is not None  # an open SQLAlchemy connection always has one
    cursor: Any = driver_connection.cursor()  # psycopg's, with COPY support
    with driver_errors(), cursor.copy(f'COPY "{table}" ({quoted_names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _driver_values(series: pd.Series, dialect: str) -> list[Any]:
    """A column as the driver's plain values (``None`` for missing), converted by Arrow in
    bulk: timestamps become UTC text in the form SQLAlchemy writes, dates ISO text."""
    values = pa.array(series, from_pandas=True)
    if pa.types.is_timestamp(values.type):
        utc = values.cast(pa.timestamp("us", tz="UTC")) if values.type.tz else values
        text = utc.cast(pa.timestamp("us")).cast(pa.string())
        if dialect == "postgresql":
            text = pc.binary_join_element_wise(text, pa.scalar("+00:00"), "")
        return text.to_pylist()
    if pa.types.is_date(values.type):
        return values.cast(pa.string()).to_pylist()
    if pa.types.is_boolean(values.type) and dialect != "postgresql":
        return values.cast(pa.int8()).to_pylist()
    return values.to_pylist()


def in_chunks(
    connection: Connection, statement: Any, column: Any, values: Sequence[Any]
) -> Iterator[Any]:
    """``statement`` (a select, update or delete) where ``column`` is one of ``values``, run
    once for each chunk the database takes (SQLite: 32,766 parameters at most): the results."""
    chunked = statement.where(column.in_(bindparam("values", expanding=True)))
    for start in range(0, len(values), IN_CHUNK):
        yield connection.execute(chunked, {"values": list(values[start : start + IN_CHUNK])})


def select_in(
    connection: Connection, statement: Any, column: Any, values: Sequence[Any]
) -> Iterator[Any]:
    """Rows of ``statement`` where ``column`` is one of ``values``, in chunks the database takes."""
    for result in in_chunks(connection, statement, column, values):
        yield from result


def change_in(connection: Connection, statement: Any, column: Any, values: Sequence[Any]) -> int:
    """Run an update or delete on the rows where ``column`` is one of ``values``, in chunks
    the database takes; how many rows it changed."""
    return sum(result.rowcount for result in in_chunks(connection, statement, column, values))


def delete_in(connection: Connection, table: type[Base], column: Any, values: Sequence[Any]) -> int:
    """Delete the rows of ``table`` where ``column`` is one of ``values``; how many went."""
    return change_in(connection, delete(table), column, values)


def fetch_column(connection: Connection, query: str) -> list[Any]:
    """The first column of a plain SQL query, straight from the driver: for reading hundreds
    of thousands of values, SQLAlchemy's result processing would cost more than the query."""
    cursor = connection.connection.cursor()
    try:
        with driver_errors():
            cursor.execute(query)
            return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def record_columns(table: type[Base], record: type[Any]) -> list[Any]:
    """The columns of ``table`` named as the fields of the dataclass ``record``, in its
    order: a select of them reads rows that make records (``record(*row)``)."""
    return [getattr(table, field.name) for field in fields(record)]
