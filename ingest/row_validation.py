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
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from multiprocessing import get_context
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import numpy as np
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, ValidationError

from schemas.exports import ExportKind
from schemas.row_problems import RowProblem, row_problems

#: Below this many rows, starting worker processes costs more than it saves.
PARALLEL_FROM_ROWS = 40_000
CHUNK_ROWS = 50_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that failed validation: where it was, and everything wrong with it."""

    row: int  # index into the export's rows
    problems: tuple[RowProblem, ...]


@dataclass
class RowValidation:
    #: Normalised values of the valid rows, English column names, plus ``row``: the row index.
    valid: pd.DataFrame
    quarantined: list[QuarantinedRow]


def validate_rows(
    kind: ExportKind,
    rows: pa.Table,
    *,
    workers: int | None = None,
    on_progress: Callable[[int], None] = lambda done: None,
) -> RowValidation:
    """Validate ``rows`` (text cells of one export) with ``kind``'s row model."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    chunks = [
        (start, rows.slice(start, CHUNK_ROWS)) for start in range(0, rows.num_rows, CHUNK_ROWS)
    ]
    if workers > 1 and rows.num_rows >= PARALLEL_FROM_ROWS:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(_validate_ipc_chunk, kind, start, _ipc_bytes(chunk))
                for start, chunk in chunks
            ]
            results = []
            for future in futures:
                results.append(future.result())
                on_progress(sum(done for _, _, done in results))
    else:
        results = []
        for start, chunk in chunks:
            results.append(_validate_chunk(kind, start, chunk))
            on_progress(sum(done for _, _, done in results))
    return _combine(kind, results)


def _ipc_bytes(table: pa.Table) -> bytes:
    """A table slice as Arrow IPC: unlike pickle, it carries only the slice's own data."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _validate_ipc_chunk(
    kind: ExportKind, start: int, chunk: bytes
) -> tuple[dict[str, list[Any]], list[QuarantinedRow], int]:
    return _validate_chunk(kind, start, pa.ipc.open_stream(chunk).read_all())


def _validate_chunk(
    kind: ExportKind, start: int, chunk: pa.Table
) -> tuple[dict[str, list[Any]], list[QuarantinedRow], int]:
    """Runs in a worker: columns of the valid rows, and the quarantined ones, of one chunk."""
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
        columns = _plain_columns(model, valid)
    columns["row"] = valid_rows
    return columns, quarantined, chunk.num_rows


def base_types(model: type[BaseModel]) -> dict[str, type]:
    """Each field's value type, without ``Annotated`` and ``| None`` (``Sex``, ``date``, ...)."""
    types: dict[str, type] = {}
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        while get_origin(annotation) in (Annotated, Union, UnionType):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        types[name] = get_origin(annotation) or annotation
    return types


def _plain_columns(model: type[BaseModel], rows: list[BaseModel]) -> dict[str, list[Any]]:
    """Columns of plain values, cheap to send between processes: enums by their normalised
    name (``Sex.FEMALE`` -> ``female``, whatever the form wrote),
    timestamps as UTC epoch microseconds, dates as epoch days, code lists as ``|``-joined text
    (``""`` = answered none, ``None`` = not answered)."""
    records = [row.__dict__ for row in rows]
    columns: dict[str, list[Any]] = {}
    for name, kind in base_types(model).items():
        values = [record[name] for record in records]
        if kind is datetime:
            values = [None if v is None else round(v.timestamp() * 1_000_000) for v in values]
        elif kind is date:
            values = [None if v is None else v.toordinal() - _EPOCH_ORDINAL for v in values]
        elif issubclass(kind, Enum):
            values = [None if v is None else v.name.lower() for v in values]
        elif kind is tuple:
            values = [None if v is None else "|".join(v) for v in values]
        columns[name] = values
    return columns


def _combine(
    kind: ExportKind, results: list[tuple[dict[str, list[Any]], list[QuarantinedRow], int]]
) -> RowValidation:
    types = {**base_types(kind.row_model), "row": np.int64}
    frame = pd.DataFrame(
        {
            name: _typed(value_type, [v for columns, _, _ in results for v in columns[name]])
            for name, value_type in types.items()
        }
    )
    quarantined = [row for _, rows, _ in results for row in rows]
    return RowValidation(frame, quarantined)


def _typed(value_type: type, values: list[Any]) -> Any:
    """A pandas column of the right dtype for one field's plain values."""
    if value_type is np.int64:
        return np.array(values, dtype=np.int64)
    if value_type is datetime:
        return pd.to_datetime(pd.array(values, dtype="Int64"), unit="us", utc=True)
    if value_type is date:
        return pd.array(
            pa.array(values, pa.int32()).cast(pa.date32()), dtype=pd.ArrowDtype(pa.date32())
        )
    if value_type is bool:
        return pd.array(values, dtype="boolean")
    if value_type is int:
        return pd.array(values, dtype="Int64")
    if value_type is float:
        return pd.array(values, dtype="Float64")
    return pd.array(values, dtype="string")


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
