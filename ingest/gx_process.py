"""The process Great Expectations runs in, and what crosses into it.

Importing Great Expectations takes several seconds (it pulls in scipy and much more). It runs
in a process of its own, started as early as a command knows it will ingest: the import then
happens on another core while Prefect starts and the file is read. This module stays light
(nothing heavy is imported here) so that starting the process early costs nothing.
"""

from __future__ import annotations

from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingest import child_processes
from schemas.exports import ExportKind

#: The export columns the batch suites read (the expectations' own, and those the derived
#: columns come from). Only these cross into the Great Expectations process: never contact
#: details or free text.
SUITE_READS: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.SIGNUPS: (
        "indsendelse_id",
        "indsendt",
        "foedselsdato",
        "koen",
        "postnummer",
        "hoejde_cm",
        "vaegt_kg",
        "gravid",
        "ryger",
        "rls_trang",
        "rls_hvile",
        "rls_bevaegelse",
        "rls_aften",
        "samtykke_kontakt",
        "kontaktform",
    ),
    ExportKind.WITHDRAWALS: ("tidspunkt", "handling"),
}


@dataclass(frozen=True)
class BatchInput:
    """One file, as the batch suite may see it: never contact details or free text."""

    kind: ExportKind
    file_name: str
    sha256: str
    header: list[str]
    #: An Arrow IPC file holding the rows' ``SUITE_READS`` columns (a file, not a pipe: a
    #: million rows cross in a fraction of a second). The suite's process deletes it.
    rows: Path
    #: Physical line of each row, then of each malformed record.
    lines: list[int]
    malformed: int
    quarantined_rows: list[int]
    threshold: float
    received_at: datetime
    report_dir: Path

    @property
    def columns_as_expected(self) -> bool:
        return self.header == list(self.kind.columns)


@dataclass
class BatchVerdict:
    passed: bool
    #: One plain sentence per failed expectation.
    failures: list[str] = field(default_factory=list)
    result_path: Path | None = None
    docs_path: Path | None = None


_executor: ProcessPoolExecutor | None = None


def start() -> None:
    """Start the Great Expectations process (once), which imports it straight away."""
    global _executor  # noqa: PLW0603 (one such process per process)
    if _executor is None:
        _executor = child_processes.pool(1)
        _executor.submit(_prepare)


def run(batch: BatchInput) -> BatchVerdict:
    """Run the file's suite in the Great Expectations process."""
    global _executor  # noqa: PLW0603
    start()
    assert _executor is not None
    future: Future[BatchVerdict] = _executor.submit(_run_suite, batch)
    try:
        return future.result()
    except BrokenProcessPool:  # the process died (killed, out of memory): start anew next time
        _executor = None
        raise


def _prepare() -> None:
    import ingest.gx_validation  # noqa: F401 (imports Great Expectations)


def _run_suite(batch: BatchInput) -> BatchVerdict:
    from ingest.gx_validation import run_suite

    return run_suite(batch)
