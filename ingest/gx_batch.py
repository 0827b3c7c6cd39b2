"""What crosses into the Great Expectations process and what comes back: the file as its batch
suite may see it (never contact details or free text) and the verdict. Below both
``ingest.gx_process`` (which runs the process) and ``ingest.gx_validation`` (what runs in it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

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
