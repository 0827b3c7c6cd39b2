"""Writing many rows fast, inside the caller's transaction.

SQLAlchemy's ``insert()`` with a list of dicts runs each value through its type processors: about
65,000 rows/s for a wide table on SQLite. Ingest writes up to millions of rows per file, so this
module converts whole pandas columns to what the driver takes (vectorised) and hands them to the
driver in one go: ``executemany`` on SQLite (about 300,000 rows/s), ``COPY`` on PostgreSQL. The
values written are exactly what the ORM types in ``store.tables`` read back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, bindparam, delete, select

from store.tables import Base

#: SQLite's limit on host parameters in one statement is 32766; stay far below.
IN_CHUNK = 900


def insert_frame(connection: Connection, table: type[Base], frame: pd.DataFrame) -> int:
    """Insert every row of ``frame`` (columns named as the table's) into ``table``."""
    if frame.empty:
        return 0
    names = list(frame.columns)
    dialect = connection.dialect.name
    columns = [_driver_values(frame[name], dialect) for name in names]
    rows = list(zip(*columns, strict=True))
    if dialect == "postgresql":
        _copy_rows(connection, table.__tablename__, names, rows)
    else:
        placeholders = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{name}"' for name in names)
        connection.exec_driver_sql(
            f'INSERT INTO "{table.__tablename__}" ({quoted}) VALUES ({placeholders})', rows
        )
    return len(rows)


def _copy_rows(
    connection: Connection, table: str, names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    driver_connection = connection.connection.dbapi_connection
    assert driver_connection is not None  # an open SQLAlchemy connection always has one
    cursor: Any = driver_connection.cursor()  # psycopg's, with COPY support
    quoted = ", ".join(f'"{name}"' for name in names)
    with cursor.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


def _driver_values(series: pd.Series, dialect: str) -> list[Any]:
    """A column as the driver's plain values, ``None`` for missing."""
    dtype = series.dtype
    if isinstance(dtype, pd.DatetimeTZDtype):
        utc = pa.array(series.dt.tz_convert("UTC"), type=pa.timestamp("us", tz="UTC"))
        text = pc.strftime(utc, format="%Y-%m-%d %H:%M:%S")
        if dialect == "postgresql":
            text = pc.binary_join_element_wise(text, pa.scalar("+00:00"), "")
        return text.to_pylist()
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_date(dtype.pyarrow_dtype):
        return pc.strftime(pa.array(series), format="%Y-%m-%d").to_pylist()
    if pd.api.types.is_bool_dtype(dtype) and dialect != "postgresql":
        return [None if v is None else int(v) for v in _plain(series)]
    return _plain(series)


def _plain(series: pd.Series) -> list[Any]:
    values = series.astype(object)
    plain: list[Any] = values.where(series.notna(), None).tolist()
    return plain


def select_in(
    connection: Connection, statement: Any, column: Any, values: Sequence[Any]
) -> Iterator[Any]:
    """Rows of ``statement`` where ``column`` is one of ``values``, in chunks the database takes."""
    chunked = statement.where(column.in_(bindparam("values", expanding=True)))
    for start in range(0, len(values), IN_CHUNK):
        yield from connection.execute(chunked, {"values": list(values[start : start + IN_CHUNK])})


def delete_in(connection: Connection, table: type[Base], column: Any, values: Sequence[Any]) -> int:
    """Delete the rows of ``table`` where ``column`` is one of ``values``; how many went."""
    deleted = 0
    for start in range(0, len(values), IN_CHUNK):
        chunk = list(values[start : start + IN_CHUNK])
        deleted += connection.execute(delete(table).where(column.in_(chunk))).rowcount
    return deleted


def all_values(connection: Connection, column: Any) -> np.ndarray:
    """Every non-null value of one column, as an array (for vectorised membership tests)."""
    values = connection.execute(select(column).where(column.is_not(None))).scalars().all()
    return np.array(values, dtype=object)
