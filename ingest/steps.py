"""The steps of ingesting one export file, in order. ``flows/ingest_flow.py`` runs each as a task.

receive -> read -> check rows -> check batch -> store (or refuse)

Every record of an accepted file ends as exactly one of: stored, quarantined, or known (stored
before, or made before its author's erasure). A refused file stores nothing; only the audit log
and the raw archive remember it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ingest import progress
from ingest.batch_gate import BatchVerdict, check_batch
from ingest.row_validation import RowValidation, validate_rows
from ingest.summary import LISTED_QUARANTINE, FileSummary, QuarantinedRowReport
from schemas.act import Act
from schemas.code_lists import count_codes, unknown_icd10
from schemas.export_file import ExportFile, ExportRefused, read_export
from schemas.exports import ExportKind
from store import audit, ingest_runs
from store.panel_store import PanelStore
from store.pseudonyms import EmailHasher
from store.quarantine import QuarantineEntry
from store.staging import AcceptedFile
from store.submissions import already_stored
from store.withdrawals import erasures


@dataclass
class ReceivedFile:
    path: Path
    raw: bytes
    sha256: str
    ingest_id: int
    received_at: datetime
    #: Seconds each step took, for the summary (and the benchmark).
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def step(self, name: str, total: int = 1) -> Iterator[Callable[[int], None]]:
        """Time one step of this file's ingest, and show it on the progress bar; the block
        gets a function to report how far it got (of ``total``)."""
        label = f"{self.path.name}: {name.replace('_', ' ')}"

        def advance(done: int) -> None:
            progress.report(label, done, total)

        advance(0)
        started = time.perf_counter()
        try:
            yield advance
        finally:
            self.seconds[name] = time.perf_counter() - started
            advance(total)


@dataclass(frozen=True)
class Unreadable:
    """The file cannot be read as an export (one line says why); it is refused."""

    path: Path
    reason: str


@dataclass
class CheckedRows:
    #: Rows stored by an earlier ingest: not validated again.
    known: np.ndarray
    validation: RowValidation
    #: Every record's e-mail cell: the rows', then the malformed records' (None where absent).
    emails: list[str | None]
    hasher: EmailHasher

    @property
    def quarantined_rows(self) -> list[int]:
        return [row.row for row in self.validation.quarantined]

    def email_hashes(self, records: Iterable[int]) -> list[str | None]:
        """Keyed hashes of these records' e-mails (records past the rows are malformed ones)."""
        return self.hasher.many(self.emails[record] for record in records)


def receive(store: PanelStore, path: Path, actor: str) -> ReceivedFile | Unreadable:
    """Archive the raw file by content hash and open its audit record, before anything else."""
    started = time.perf_counter()
    try:
        raw = path.read_bytes()
    except OSError as error:
        return Unreadable(path, f"cannot read the file: {error.strerror}")
    sha256 = hashlib.sha256(raw).hexdigest()
    now = datetime.now(UTC)
    if raw:
        store.archive.keep(raw, sha256, now)
    with store.writing() as connection:
        ingest_id = audit.start_ingest(connection, path.name, sha256, Act(actor, now))
    return ReceivedFile(
        path, raw, sha256, ingest_id, now, {"receive": time.perf_counter() - started}
    )


def read(received: ReceivedFile) -> ExportFile | Unreadable:
    with received.step("parse"):
        try:
            return read_export(received.path, received.raw, received.sha256)
        except ExportRefused as refused:
            return Unreadable(received.path, str(refused))


def check_rows(
    store: PanelStore, received: ReceivedFile, export: ExportFile, workers: int
) -> CheckedRows:
    """Validate every row not stored before; index the archived file's e-mails."""
    rows = export.rows
    with received.step("validate_rows", total=rows.num_rows) as advance:
        if export.kind is ExportKind.SIGNUPS and export.columns_as_expected:
            with store.reading() as connection:
                known = already_stored(connection, rows.column("indsendelse_id"))
        else:
            known = np.zeros(rows.num_rows, dtype=bool)
        if export.columns_as_expected:
            todo = np.flatnonzero(~known)
            validation = validate_rows(
                export.kind,
                rows.take(pa.array(todo, pa.int64())),
                workers=workers,
                on_progress=lambda done: advance(int(known.sum()) + done),
            )
            _renumber(validation, todo)
        else:  # the batch gate refuses the file by its columns; its rows mean nothing yet
            validation = RowValidation(pd.DataFrame(), [])
        checked = CheckedRows(known, validation, _emails(export), store.hasher)
        if not store.archive.has_index(received.sha256):  # a file seen before has one already
            store.archive.index_emails(
                received.sha256, checked.email_hashes(range(len(checked.emails)))
            )
    return checked


def _emails(export: ExportFile) -> list[str | None]:
    rows = export.rows
    emails = (
        rows.column("email").to_pylist() if "email" in rows.column_names else [None] * rows.num_rows
    )
    at = export.header.index("email") if "email" in export.header else None
    return emails + [
        record.fields[at] if at is not None and len(record.fields) > at else None
        for record in export.malformed
    ]


def _renumber(validation: RowValidation, todo: np.ndarray) -> None:
    """Validation numbered the rows it saw; give them back their index in the file."""
    if not validation.valid.empty:
        validation.valid["row"] = todo[validation.valid["row"].to_numpy()]
    validation.quarantined[:] = [
        replace(row, row=int(todo[row.row])) for row in validation.quarantined
    ]


def check_batch_of(
    received: ReceivedFile,
    export: ExportFile,
    checked: CheckedRows,
    threshold: float,
    reports: Path,
) -> BatchVerdict:
    with received.step("batch_gate"):
        return check_batch(
            export,
            checked.quarantined_rows,
            threshold=threshold,
            received_at=received.received_at,
            report_dir=reports / f"ingest-{received.ingest_id}",
        )


def store_accepted(
    store: PanelStore,
    received: ReceivedFile,
    export: ExportFile,
    checked: CheckedRows,
    verdict: BatchVerdict,
) -> FileSummary:
    now = datetime.now(UTC)
    with received.step("store", total=100) as advance:  # per cent of the parts stored
        with store.reading() as connection:
            erased = erasures(connection)
        entries, of_erased = _set_aside_erased(quarantine_entries(export, checked), erased)
        valid = checked.validation.valid
        known_before = int(checked.known.sum())
        outcome = ingest_runs.accept(
            store,
            AcceptedFile(
                ingest_id=received.ingest_id,
                kind=export.kind,
                file_sha256=received.sha256,
                valid=valid,
                email_hashes=checked.email_hashes(valid["row"].tolist()) if len(valid) else [],
                quarantine=entries,
                rows=export.record_count,
                known=known_before + of_erased,
                validation_result_path=str(verdict.result_path),
                data_docs_path=str(verdict.docs_path),
            ),
            now,
            on_part=lambda done, total: advance(100 * done // total),
        )
        details = outcome.details()
        if export.kind is ExportKind.SIGNUPS:
            details["known_stored_before"] = known_before
        if of_erased:
            details["known_erased"] = details.get("known_erased", 0) + of_erased
        stored, known = outcome.stored, known_before + of_erased + outcome.known
    return FileSummary(
        file=str(received.path),
        status="accepted",
        kind=export.kind.value,
        sha256=received.sha256,
        ingest_id=received.ingest_id,
        rows=export.record_count,
        stored=stored,
        quarantined=len(entries),
        known=known,
        quarantine=_reports(entries),
        quarantine_listed_all=len(entries) <= LISTED_QUARANTINE,
        details=details,
        unknown_diagnoses=unknown_diagnoses(valid),
        data_docs=str(verdict.docs_path),
        validation_result=str(verdict.result_path),
        seconds=received.seconds,
    )


def unknown_diagnoses(valid: pd.DataFrame) -> dict[str, int]:
    """Per diagnosis code WHO's ICD-10 does not know, how many of the valid rows report it.
    Each distinct cell is split once, however many rows share it."""
    if "diagnoses" not in valid.columns:
        return {}
    cells = valid["diagnoses"].value_counts()  # not answered (NA) is left out
    return unknown_icd10(count_codes(zip(cells.index, cells.tolist(), strict=True)))


def refuse(
    store: PanelStore,
    received: ReceivedFile,
    reasons: list[str],
    export: ExportFile | None = None,
    verdict: BatchVerdict | None = None,
    checked: CheckedRows | None = None,
) -> FileSummary:
    """Refuse the whole file: nothing is stored; the audit log says why. The rows that failed
    validation are listed in the summary (not recorded: the file is refused as a whole)."""
    details: dict[str, object] = {"kind": export.kind.value if export else None}
    if verdict is not None:
        details |= {
            "batch_valid": False,
            "validation_result_path": str(verdict.result_path),
            "data_docs_path": str(verdict.docs_path),
        }
    with store.writing() as connection:
        audit.refuse(
            connection, received.ingest_id, "; ".join(reasons), datetime.now(UTC), **details
        )
    return FileSummary(
        file=str(received.path),
        status="refused",
        kind=export.kind.value if export else None,
        sha256=received.sha256,
        ingest_id=received.ingest_id,
        rows=export.record_count if export else 0,
        refusal=reasons,
        quarantine=_reports(quarantine_entries(export, checked)) if export and checked else [],
        data_docs=str(verdict.docs_path) if verdict else None,
        validation_result=str(verdict.result_path) if verdict else None,
        seconds=received.seconds,
    )


def fail(
    store: PanelStore, path: Path, reason: str, received: ReceivedFile | Unreadable | None = None
) -> FileSummary:
    """Set the file aside: something went wrong that is no fault found in it (a bug of ours,
    say). The audit log (once the file was received) and the summary say what happened, and
    what of it was stored: nothing, or, when it broke between two parts of storing, the parts
    before (each person whole; ingesting the file again stores the rest)."""
    if not isinstance(received, ReceivedFile):
        said = f"panelmatch could not ingest this file ({reason}); nothing of it was stored"
        return FileSummary(file=str(path), status="failed", refusal=[said])
    said = ingest_runs.fail(
        store,
        received.ingest_id,
        f"panelmatch could not ingest this file ({reason})",
        datetime.now(UTC),
    )
    return FileSummary(
        file=str(path),
        status="failed",
        sha256=received.sha256,
        ingest_id=received.ingest_id,
        refusal=[said],
        seconds=received.seconds,
    )


def quarantine_entries(export: ExportFile, checked: CheckedRows) -> list[QuarantineEntry]:
    """Every quarantined record: failed validation, or too damaged to be a row at all."""
    id_column = export.kind.id_column
    entries = []
    quarantined_rows = checked.validation.quarantined
    hashes = checked.email_hashes(row.row for row in quarantined_rows)
    malformed_hashes = checked.email_hashes(
        range(export.rows.num_rows, export.rows.num_rows + len(export.malformed))
    )
    all_cells = export.rows.take(
        pa.array([r.row for r in quarantined_rows], pa.int64())
    ).to_pylist()
    for quarantined, cells, email_hash in zip(quarantined_rows, all_cells, hashes, strict=True):
        entries.append(
            QuarantineEntry(
                line=int(export.lines[quarantined.row]),
                submission_id=cells.get(id_column) if id_column else None,
                email_hash=email_hash,
                cells=cells,
                problems=[{"column": p.column, "reason": p.reason} for p in quarantined.problems],
            )
        )
    for record, email_hash in zip(export.malformed, malformed_hashes, strict=True):
        entries.append(
            QuarantineEntry(
                line=record.line,
                submission_id=record.fields[0] if id_column and record.fields else None,
                email_hash=email_hash,
                cells={str(i): value for i, value in enumerate(record.fields)},
                problems=[{"column": "(row)", "reason": record.reason}],
            )
        )
    return sorted(entries, key=lambda entry: entry.line)


def _set_aside_erased(
    entries: list[QuarantineEntry], erasures: list[tuple[str, datetime]]
) -> tuple[list[QuarantineEntry], int]:
    """Broken rows of people erased since are not kept in quarantine (the erasure covers them):
    they count as known."""
    erased = {email_hash for email_hash, _ in erasures}
    kept = [entry for entry in entries if entry.email_hash not in erased]
    return kept, len(entries) - len(kept)


def _reports(entries: list[QuarantineEntry]) -> list[QuarantinedRowReport]:
    return [
        QuarantinedRowReport(
            line=entry.line,
            submission_id=entry.submission_id,
            problems=[f"{p['column']}: {p['reason']}" for p in entry.problems],
        )
        for entry in entries[:LISTED_QUARANTINE]
    ]
