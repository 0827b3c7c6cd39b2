"""Reading many rows as Arrow columns, straight from the database driver.

SQLAlchemy's result rows run every cell through its type processor (parsing SQLite's text
dates, making each time timezone-aware), and a DataFrame built from row objects converts
them once more: 14 s for the 800,000 current profiles of a million-volunteer panel, where
matching them takes a fraction of a second. Here the statement is still built by SQLAlchemy
and compiled for the store's dialect, but runs on the driver's own cursor, and each slice of
rows becomes Arrow columns at once, converted per column (vectorised): about half the time.

On PostgreSQL the rows do not become Python values at all: the server writes them as CSV
(``COPY (SELECT ...) TO STDOUT``) and Arrow parses that in C, in the schema's types. The
891,956 current profiles of a million-volunteer panel: 9.4 s through the driver's rows,
3.9 s this way, the same rows (``benchmarks.panel_read --database-url``).

(ADBC's drivers would fill Arrow columns in C, but its SQLite driver, with its own copy of
SQLite, broke the write-ahead log of connections open on the same file: disk I/O errors.)
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, cast

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Connection
from sqlalchemy.sql import Select

from store.db_errors import driver_errors

#: Rows converted at once: keeps the driver's Python objects to a slice of the result.
SLICE = 100_000


def read_arrow(
    connection: Connection, statement: Select[*tuple[Any, ...]], schema: pa.Schema
) -> pa.Table:
    """Run ``statement`` (its columns named as ``schema``'s) and return the rows as an Arrow
    table of ``schema``."""
    if connection.dialect.name != "postgresql":
        return read_driver_rows(connection, statement, schema)
    cursor = cast(psycopg.Cursor[Any], connection.connection.cursor())
    try:
        with driver_errors():
            return _copied(cursor, _sql(connection, statement), schema)
    finally:
        cursor.close()


def read_driver_rows(
    connection: Connection, statement: Select[*tuple[Any, ...]], schema: pa.Schema
) -> pa.Table:
    """``read_arrow`` through the driver's rows, a slice at a time (any database)."""
    cursor = connection.connection.cursor()  # the driver's: rows of plain tuples
    try:
        with driver_errors():
            cursor.execute(_sql(connection, statement))
            slices = [_columns(schema, [])]
            while rows := cursor.fetchmany(SLICE):
                slices.append(_columns(schema, rows))
    finally:
        cursor.close()
    return pa.concat_tables(slices)


def _sql(connection: Connection, statement: Select[*tuple[Any, ...]]) -> str:
    return str(
        statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True})
    )


def _copied(cursor: psycopg.Cursor[Any], sql: str, schema: pa.Schema) -> pa.Table:
    """The rows as PostgreSQL's CSV, parsed by Arrow. In that CSV a NULL is an empty field
    and an empty string a quoted one; booleans are t and f; times carry their offset."""
    text = io.BytesIO()
    with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
        for chunk in copy:
            text.write(chunk)
    if not text.tell():
        return schema.empty_table()
    return pa_csv.read_csv(
        pa.BufferReader(text.getbuffer()),
        read_options=pa_csv.ReadOptions(column_names=schema.names),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )


def _columns(schema: pa.Schema, rows: Sequence[Any]) -> pa.Table:
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        [_as(pa.array(column), field.type) for column, field in zip(columns, schema, strict=True)],
        schema=schema,
    )


def _as(column: pa.Array, wanted: pa.DataType) -> pa.Array:
    if column.type == wanted:
        return column
    if pa.types.is_timestamp(wanted) and pa.types.is_string(column.type):
        # SQLite keeps times as text ('2025-01-22 21:27:56.000000'), in UTC (store.tables).
        naive = column.cast(pa.timestamp(wanted.unit))
        return pc.assume_timezone(naive, wanted.tz) if wanted.tz else naive
    return column.cast(wanted)
