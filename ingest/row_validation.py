"""Validating every row of an export with its pydantic model, on every core for big files.

Each row goes through ``SignupRow`` / ``WithdrawalRow``. A valid row comes back as normalised,
typed columns (one pandas DataFrame for the whole file); an invalid one as a ``QuarantinedRow``
holding every problem the model found. Files with many rows are cut into chunks validated in
worker processes: pydantic is fast, but one core does about 100,000 rows a second, and the
machines this runs on have more than one.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel, ValidationError

from ingest import child_processes
from schemas.exports import ExportKind
from schemas.row_problems import RowProblem, row_problems

if TYPE_CHECKING:
    import pandas as pd

# Worker processes import this module: it keeps to pyarrow and pydantic (pandas alone takes
# seconds to import).

#: Starting a worker costs about 3 s (Python, pydantic, pyarrow, pandas); one process
#: validates about 33,000 rows/s here. Below this many rows, one process is faster.
PARALLEL_FROM_ROWS = 200_000
CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that failed validation: where it was, and everything wrong with it."""

    row: int  # index into the export's rows
    problems: tuple[RowProblem, ...]


@dataclass
class RowValidation:
    #: Normalised values of the valid rows (Arrow-backed columns named as the model's fields),
    #: plus ``row``: the row's index in the export.
    valid: pd.DataFrame
    quarantined: list[QuarantinedRow]


def validate_rows(
    kind: ExportKind,
    rows: pa.Table,
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] = lambda done: None,
) -> RowValidation:
    """Validate ``rows`` (text cells of one export) with ``kind``'s row model.

    Worker processes are spawned and end with their parent (``ingest.child_processes``). As
    always with ``spawn``, a script calling this must guard its entry point with
    ``if __name__ == "__main__":``.
    """
    workers = workers if workers is not None else (os.cpu_count() or 1)
    starts = range(0, rows.num_rows, CHUNK_ROWS)
    results: list[ChunkResult] = []
    if workers > 1 and rows.num_rows >= PARALLEL_FROM_ROWS:
        with child_processes.pool(workers) as pool:
            futures = [
                pool.submit(_validate_in_worker, kind, start, _ipc(rows.slice(start, CHUNK_ROWS)))
                for start in starts
            ]
            for future in futures:
                results.append(future.result())
                on_progress(sum(result.rows for result in results))
    else:
        for start in starts:
            results.append(_validate_chunk(kind, start, rows.slice(start, CHUNK_ROWS)))
            on_progress(sum(result.rows for result in results))

    valid = pa.concat_tables(
        [pa.ipc.open_stream(result.valid).read_all() for result in results]
        or [_schema(kind.row_model).empty_table()]
    )
    from store.staging import pandas_dtype  # (pandas: not in the workers)

    return RowValidation(
        valid.to_pandas(types_mapper=pandas_dtype),
        [row for result in results for row in result.quarantined],
    )


@dataclass(frozen=True)
class ChunkResult:
    rows: int
    #: The valid rows, normalised and typed, as Arrow IPC (cheap to send between processes).
    valid: bytes
    quarantined: list[QuarantinedRow]


def _ipc(table: pa.Table) -> bytes:
    """A table as Arrow IPC bytes. (Pickling a slice would carry its whole parent table.)"""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _validate_in_worker(kind: ExportKind, start: int, chunk: bytes) -> ChunkResult:
    return _validate_chunk(kind, start, pa.ipc.open_stream(chunk).read_all())


def _validate_chunk(kind: ExportKind, start: int, chunk: pa.Table) -> ChunkResult:
    """The valid rows of one chunk as typed columns, and the quarantined ones."""
    model = kind.row_model
    valid: list[BaseModel] = []
    valid_rows: list[int] = []
    quarantined: list[QuarantinedRow] = []
    with _gc_paused():
        names = chunk.column_names
        cell_rows = zip(*(column.to_pylist() for column in chunk.columns), strict=True)
        for offset, cells in enumerate(dict(zip(names, row, strict=True)) for row in cell_rows):
            try:
                valid.append(model.model_validate(cells))
                valid_rows.append(start + offset)
            except ValidationError as error:
                problems = row_problems(error, model, kind.unquoted_columns)
                quarantined.append(QuarantinedRow(start + offset, tuple(problems)))
        table = _typed_table(model, valid, valid_rows)
    return ChunkResult(chunk.num_rows, _ipc(table), quarantined)


def base_types(model: type[BaseModel]) -> dict[str, type]:
    """Each field's value type, without ``Annotated`` and ``| None`` (``Sex``, ``date``, ...)."""
    types: dict[str, type] = {}
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        while get_origin(annotation) in (Annotated, Union, UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        types[name] = get_origin(annotation) or annotation
    return types


_ARROW_TYPES: dict[type, pa.DataType] = {
    datetime: pa.timestamp("us", tz="UTC"),
    date: pa.date32(),
    bool: pa.bool_(),
    int: pa.int64(),
    float: pa.float64(),
}


def _schema(model: type[BaseModel]) -> pa.Schema:
    fields = [
        pa.field(name, _ARROW_TYPES.get(kind, pa.string()))
        for name, kind in base_types(model).items()
    ]
    return pa.schema([*fields, pa.field("row", pa.int64())])


def _typed_table(model: type[BaseModel], rows: list[BaseModel], row_numbers: list[int]) -> pa.Table:
    """The rows' normalised values as typed columns: timestamps in UTC, enums by their
    normalised name (``Sex.FEMALE`` -> ``female``, whatever the form wrote), code lists as
    ``|``-joined text (``""`` = answered none, ``None`` = not answered)."""
    records = [row.__dict__ for row in rows]
    schema = _schema(model)
    columns = []
    for name, kind in base_types(model).items():
        values = [record[name] for record in records]
        if issubclass(kind, Enum):
            values = [None if v is None else v.name.lower() for v in values]
        elif kind is tuple:
            values = [None if v is None else "|".join(v) for v in values]
        columns.append(pa.array(values, schema.field(name).type))
    columns.append(pa.array(row_numbers, pa.int64()))
    return pa.Table.from_arrays(columns, schema=schema)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Validation makes millions of small objects that are never cyclic garbage; letting the
    cycle collector walk them all more than doubles the time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
