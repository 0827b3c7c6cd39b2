"""An accepted file on its way into the store: staged on disk, then stored a part at a time.

SQLite lets one writer in at a time. Storing a 200,000-row export in one transaction held
that lock for 8 to 16 s, and the review app, whose logins, decisions and page views all
write a little, froze for as long. So the store step writes in bounded transactions, a part
of about ``PART_ROWS`` rows each, letting other writers in between (on PostgreSQL, which
locks rows rather than the database, the whole file is one part). All of one person's rows
go in the same part (the rows are ordered by the keyed e-mail hash), so every committed
part leaves each person whole, as a smaller export would.

All or nothing still holds, as a database's own log makes it hold: before the first part,
the whole plan (the valid rows, their keyed e-mail hashes, the quarantine, the counts) is
written to ``DATA_DIR/staging/ingest-N/`` and synced to disk, and each part's transaction
records that the part is stored. A run cut short (SIGKILL, a power cut) leaves the plan and
how far it got; the next run that takes the ingest lock stores the rest from the same plan,
so the file ends stored whole, exactly once. The plan holds contact details and answers: it
is readable by its owner only and deleted as soon as the file is stored.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from schemas.exports import ExportKind
from store.quarantine import QuarantineEntry

#: Rows a part holds, about (a person's rows are never split), by database. On SQLite,
#: whose one writer at a time is why there are parts, writing a part takes some 30 to 60 ms
#: here. Elsewhere (PostgreSQL locks the rows a transaction writes, not the database, and
#: the review app writes none of the ingest's) the file is one part: storing 200,000 rows
#: took 10.0 s so, against 18.1 s in parts of 1,000.
PART_ROWS = {"sqlite": 1_000}
_HASH_COLUMN = "__email_hash"


@dataclass(frozen=True)
class AcceptedFile:
    """What an accepted export file brings to the store."""

    ingest_id: int
    kind: ExportKind
    file_sha256: str
    #: Normalised valid rows (the row model's fields) and their keyed e-mail hashes.
    valid: pd.DataFrame
    email_hashes: list[str | None]
    quarantine: list[QuarantineEntry]
    #: Records in the file, and how many of them were recognised as known before storing.
    rows: int
    known: int
    validation_result_path: str
    data_docs_path: str


@dataclass(frozen=True)
class Part:
    rows: pd.DataFrame
    email_hashes: list[str | None]
    #: A share of the file's quarantined rows (they are written a part at a time too).
    quarantine: list[QuarantineEntry]


@dataclass(frozen=True)
class Plan:
    """A file and where its parts begin and end, in its rows ordered by e-mail hash: kept
    with the staged file, so whoever stores the rest cuts it the same way."""

    file: AcceptedFile
    cuts: list[int]

    @cached_property
    def ordered(self) -> tuple[pd.DataFrame, list[str | None]]:
        """The valid rows and their hashes in the parts' order (each person's rows together)."""
        order = _by_person(self.file)
        rows = self.file.valid.iloc[order].reset_index(drop=True)
        return rows, [self.file.email_hashes[i] for i in order]

    def parts(self) -> list[Part]:
        rows, hashes = self.ordered
        count = len(self.cuts) - 1
        return [
            Part(rows.iloc[start:end], hashes[start:end], self.file.quarantine[number::count])
            for number, (start, end) in enumerate(itertools.pairwise(self.cuts))
        ]

    def rows_from(self, part: int) -> tuple[pd.DataFrame, list[str | None], np.ndarray]:
        """The valid rows of part ``part`` and those after it, their hashes, and the number
        of the part each row belongs to."""
        rows, hashes = self.ordered
        start = self.cuts[part]
        numbers = np.repeat(np.arange(len(self.cuts) - 1), np.diff(self.cuts))
        return rows.iloc[start:], hashes[start:], numbers[start:]


def plan(file: AcceptedFile, database: str) -> Plan:
    """The file's valid rows in parts of about ``PART_ROWS`` rows for ``database`` (a
    dialect's name), each person's rows in one, and enough parts for its quarantined rows
    to fit them as well (always at least one part)."""
    rows_per_part = PART_ROWS.get(database) or max(len(file.valid), len(file.quarantine)) + 1
    order = _by_person(file)
    ordered = np.array([file.email_hashes[i] or "" for i in order], dtype=object)
    cuts = [0]
    while cuts[-1] + rows_per_part < len(order):
        cut = cuts[-1] + rows_per_part
        # Move the cut past the rest of that person's rows.
        cuts.append(int(np.searchsorted(ordered, ordered[cut - 1], side="right")))
    cuts.append(len(order))
    for _ in range(len(file.quarantine) // rows_per_part + 1 - (len(cuts) - 1)):
        cuts.append(len(order))  # parts of quarantined rows only
    return Plan(file, cuts)


def _by_person(file: AcceptedFile) -> np.ndarray:
    """Row numbers ordered by keyed e-mail hash (then by row)."""
    hashes = np.array([h or "" for h in file.email_hashes], dtype=object)
    return np.lexsort((np.arange(len(hashes)), hashes))


def stage(folder: Path, plan: Plan) -> None:
    """Write the plan to ``folder``, whole or not at all, synced to disk."""
    file = plan.file
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    shutil.rmtree(folder, ignore_errors=True)  # a plan from a run that never began storing
    building = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}-"))
    table = pa.Table.from_pandas(file.valid, preserve_index=False).append_column(
        _HASH_COLUMN, pa.array(file.email_hashes, pa.string())
    )
    rows = str(building / "rows.arrow")
    with pa.OSFile(rows, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    about = {
        "ingest_id": file.ingest_id,
        "kind": file.kind.value,
        "file_sha256": file.file_sha256,
        "quarantine": [asdict(entry) for entry in file.quarantine],
        "rows": file.rows,
        "known": file.known,
        "validation_result_path": file.validation_result_path,
        "data_docs_path": file.data_docs_path,
        "cuts": plan.cuts,
    }
    _write_synced(building / "file.json", json.dumps(about, ensure_ascii=False))
    for name in os.listdir(building):
        _sync(building / name)
    os.replace(building, folder)
    _sync(folder.parent)


def load(folder: Path) -> Plan:
    """The plan staged in ``folder``."""
    with pa.OSFile(str(folder / "rows.arrow")) as source:
        table = pa.ipc.open_file(source).read_all()
    about = json.loads((folder / "file.json").read_text(encoding="utf-8"))
    about["kind"] = ExportKind(about["kind"])
    about["quarantine"] = [QuarantineEntry(**entry) for entry in about["quarantine"]]
    cuts = about.pop("cuts")
    hashes = table.column(_HASH_COLUMN).to_pylist()
    rows = table.drop_columns([_HASH_COLUMN]).to_pandas(types_mapper=pandas_dtype)
    return Plan(AcceptedFile(valid=rows, email_hashes=hashes, **about), cuts)


def is_staged(folder: Path) -> bool:
    return (folder / "file.json").is_file()


def discard(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def staged(root: Path) -> Iterator[tuple[int, Path]]:
    """The plans in ``root`` by ingest id. A plan half written by a run that died is not one
    (it never got its name): it is deleted."""
    if not root.is_dir():
        return
    for half_written in root.glob(".ingest-*"):
        shutil.rmtree(half_written, ignore_errors=True)
    for folder in sorted(root.glob("ingest-*"), key=lambda f: int(f.name.split("-")[1])):
        yield int(folder.name.removeprefix("ingest-")), folder


def pandas_dtype(arrow_type: pa.DataType) -> pd.ArrowDtype | None:
    """Arrow-backed pandas columns, but for timestamps: numpy's ``datetime64[us, UTC]``, the
    type the store's own timestamps compare and merge with. (Validated rows come as such.)"""
    return None if pa.types.is_timestamp(arrow_type) else pd.ArrowDtype(arrow_type)


def _write_synced(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
