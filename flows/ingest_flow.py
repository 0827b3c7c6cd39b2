"""The ingest flow: every export file given to ``panel ingest``, through its steps as tasks.

    receive -> read -> check rows -> check batch -> store | refuse

One flow run covers all the files of one command (Prefect's overhead is per run, and seconds
long); each file's steps are tasks, so the Prefect UI shows where each file went and how long
each step took. The flow publishes a summary artifact with counts only: never a name, an
e-mail or a health answer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from prefect.artifacts import create_markdown_artifact

from configuration.errors import as_panel_error
from configuration.settings import IngestSettings, load_settings
from flows.task_options import panel_flow, panel_task
from ingest import batch_gate, progress, steps
from ingest.batch_gate import BatchVerdict
from ingest.summary import FileSummary, IngestSummary
from schemas.export_file import ExportFile
from store.ingest_runs import ingest_lock
from store.panel_store import PanelStore


class IngestSteps(NamedTuple):
    """The steps of one file's ingest. The flow runs them as Prefect tasks; tests of the
    store's semantics run the very same sequence as plain functions (``PLAIN_STEPS``)."""

    receive: Callable[..., steps.ReceivedFile | steps.Unreadable]
    read: Callable[..., ExportFile | steps.Unreadable]
    check_rows: Callable[..., steps.CheckedRows]
    check_batch: Callable[..., BatchVerdict]
    store: Callable[..., FileSummary]
    refuse: Callable[..., FileSummary]
    fail: Callable[..., FileSummary]


PLAIN_STEPS = IngestSteps(
    receive=steps.receive,
    read=steps.read,
    check_rows=steps.check_rows,
    check_batch=steps.check_batch_of,
    store=steps.store_accepted,
    refuse=steps.refuse,
    fail=steps.fail,
)


# Steps pass big in-memory objects (a whole export) to each other: ``panel_task`` hashes no
# input and persists no result. The name is what the Prefect UI shows.
TASK_STEPS = IngestSteps(
    receive=panel_task("receive file")(steps.receive),
    read=panel_task("read export")(steps.read),
    check_rows=panel_task("validate rows")(steps.check_rows),
    check_batch=panel_task("validate batch")(steps.check_batch_of),
    store=panel_task("store")(steps.store_accepted),
    refuse=panel_task("refuse")(steps.refuse),
    fail=panel_task("set aside")(steps.fail),
)


@panel_flow("ingest-exports")
def ingest_exports(
    paths: list[Path], actor: str | None = None, wait_for_lock: bool = True
) -> IngestSummary:
    """Ingest the export files at ``paths``, one after the other, holding the store's ingest
    lock (waiting for another ingest to finish, unless ``wait_for_lock`` is false)."""
    settings = load_settings()
    store = PanelStore.open(settings.store)
    batch_gate.warm_up()
    with ingest_lock(store, wait=wait_for_lock, on_wait=progress.notice):
        batch_gate.forget_handoffs(settings.ingest.reports_dir)
        summary = IngestSummary(
            files=[
                ingest_file(store, Path(path), actor or settings.actor, settings.ingest)
                for path in paths
            ]
        )
    report(summary)
    return summary


def ingest_file(
    store: PanelStore,
    path: Path,
    actor: str,
    settings: IngestSettings,
    run: IngestSteps = TASK_STEPS,
) -> FileSummary:
    """One file through its steps. Whatever goes wrong on the way that is not a passing
    trouble of the store or the disk (those stop the run, and the file waits for the next),
    the file is set aside as ``failed`` with the reason, and the next file goes on."""
    received: steps.ReceivedFile | steps.Unreadable | None = None
    try:
        received = run.receive(store, path, actor)
        return _checked_and_stored(store, received, settings, run)
    except Exception as error:
        problem = as_panel_error(error)
        if problem.transient:
            raise
        return run.fail(store, path, problem.message, received)


def _checked_and_stored(
    store: PanelStore,
    received: steps.ReceivedFile | steps.Unreadable,
    settings: IngestSettings,
    run: IngestSteps,
) -> FileSummary:
    if isinstance(received, steps.Unreadable):
        return FileSummary(file=str(received.path), status="refused", refusal=[received.reason])
    export = run.read(received)
    if isinstance(export, steps.Unreadable):
        return run.refuse(store, received, [export.reason])
    rows = run.check_rows(store, received, export, settings.validation_workers)
    verdict = run.check_batch(
        received, export, rows, settings.quarantine_threshold, settings.reports_dir
    )
    if not verdict.passed:
        return run.refuse(store, received, verdict.failures, export, verdict, rows)
    return run.store(store, received, export, rows, verdict)


@panel_task("report")
def report(summary: IngestSummary) -> None:
    create_markdown_artifact(
        key="ingest-summary",
        markdown=summary_markdown(summary),
        description="panel ingest: counts per file",
    )


def summary_markdown(summary: IngestSummary) -> str:
    """The files' counts, refusals and Data Docs, in Markdown: counts only, no row's data."""
    lines = [
        "| file | kind | outcome | rows | stored | quarantined | known |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for file in summary.files:
        lines.append(
            f"| {Path(file.file).name} | {file.kind or '-'} | {file.status} | {file.rows:,} "
            f"| {file.stored:,} | {file.quarantined:,} | {file.known:,} |"
        )
    for file in summary.files:
        if file.refusal:
            lines.append(f"\n**{Path(file.file).name} refused:** " + "; ".join(file.refusal))
        if file.data_docs:
            lines.append(
                f"\n{Path(file.file).name}: Great Expectations Data Docs at `{file.data_docs}`"
            )
    return "\n".join(lines)
