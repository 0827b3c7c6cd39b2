"""The batch gate: every export file must pass its Great Expectations suite as a whole.

The suite runs in the Great Expectations process (``ingest.gx_process``). It never sees
contact details or free text: those columns do not leave this process.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pyarrow as pa

from ingest import gx_process
from ingest.gx_batch import SUITE_READS, BatchInput, BatchVerdict
from schemas.export_file import ExportFile

__all__ = ["BatchVerdict", "check_batch", "forget_handoffs", "warm_up"]

#: The file the rows cross to the Great Expectations process in, inside the ingest's reports.
HANDOFF = "rows.arrow"

#: Start the Great Expectations process early: it imports while other work goes on.
warm_up = gx_process.start


def check_batch(
    export: ExportFile,
    quarantined_rows: list[int],
    *,
    threshold: float,
    received_at: datetime,
    report_dir: Path,
) -> BatchVerdict:
    """Validate ``export`` as a whole; results and Data Docs go to ``report_dir``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    rows = export.rows.select([name for name in SUITE_READS[export.kind] if name in export.header])
    handoff = report_dir / HANDOFF
    with pa.OSFile(str(handoff), "wb") as sink, pa.ipc.new_file(sink, rows.schema) as writer:
        writer.write_table(rows)
    try:
        return _run(export, quarantined_rows, threshold, received_at, report_dir, handoff)
    finally:  # the rows hold answers: they never outlive the check (see also forget_handoffs)
        handoff.unlink(missing_ok=True)


def forget_handoffs(reports: Path) -> None:
    """Delete the rows handed to checks that never finished (their process was killed)."""
    for leftover in reports.glob(f"*/{HANDOFF}"):
        leftover.unlink(missing_ok=True)


def _run(
    export: ExportFile,
    quarantined_rows: list[int],
    threshold: float,
    received_at: datetime,
    report_dir: Path,
    handoff: Path,
) -> BatchVerdict:
    return gx_process.run(
        BatchInput(
            kind=export.kind,
            file_name=export.path.name,
            sha256=export.sha256,
            header=export.header,
            rows=handoff,
            lines=[*export.lines.tolist(), *(record.line for record in export.malformed)],
            malformed=len(export.malformed),
            quarantined_rows=quarantined_rows,
            threshold=threshold,
            received_at=received_at,
            report_dir=report_dir,
        )
    )
