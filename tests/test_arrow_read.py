"""Reading rows as Arrow columns gives exactly what the database holds, on both databases
(on PostgreSQL through its CSV, where NULL, empty text, quotes and newlines must survive)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
    insert,
    select,
)

from store.arrow_read import read_arrow
from store.database import create_panel_engine

TRICKY_TEXT = [
    None,
    "",
    " ",
    "plain",
    'a "quoted" word',
    "comma, and; semicolon",
    "two\nlines",
    "windows\r\nline",
    "Ærø, Søndergård, Å",
    "\\N",
    "NULL",
    "t",
    '""',
    "=1+1",
    '{"json": ["list", 1]}',
]

SCHEMA = pa.schema(
    [
        ("id", pa.int32()),
        ("label", pa.string()),
        ("big", pa.int64()),
        ("share", pa.float64()),
        ("flag", pa.bool_()),
        ("day", pa.date32()),
        ("at", pa.timestamp("us", tz="UTC")),
    ]
)


def test_rows_read_as_arrow_are_the_rows_stored(database_url: str) -> None:
    rows = [
        {
            "id": n,
            "label": label,
            "big": None if n % 5 == 0 else (-(2**63) + n if n % 2 else 2**63 - n),
            "share": None if n % 4 == 0 else n / 7,
            "flag": None if n % 3 == 0 else bool(n % 2),
            "day": None if n % 6 == 0 else date(1930, 1, 1) + timedelta(days=997 * n),
            "at": None
            if n % 7 == 0
            else datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC) + timedelta(hours=n),
        }
        for n, label in enumerate(TRICKY_TEXT)
    ]
    metadata = MetaData()
    table = Table(
        "arrow_read_probe",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("label", Text),
        Column("big", BigInteger),
        Column("share", Float),
        Column("flag", Boolean),
        Column("day", Date),
        Column("at", DateTime(timezone=True)),
    )
    engine = create_panel_engine(database_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
            if connection.dialect.name == "postgresql":
                # Times then come with an offset of +01 or +02 (summer time begins that night).
                connection.exec_driver_sql("SET TimeZone = 'Europe/Copenhagen'")
            everything = read_arrow(connection, select(table).order_by(table.c.id), SCHEMA)
            nothing = read_arrow(connection, select(table).where(table.c.id < 0), SCHEMA)
    finally:
        metadata.drop_all(engine)
        engine.dispose()

    assert everything.schema == SCHEMA and nothing.schema == SCHEMA
    assert nothing.num_rows == 0
    assert everything.to_pylist() == rows
