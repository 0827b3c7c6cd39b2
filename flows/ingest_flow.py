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
from typing import NamedTuple, ParamSpec, TypeVar

from prefect import Task, flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ingest import batch_gate, steps
from ingest.batch_gate import BatchVerdict
from ingest.export_file import ExportFile
from ingest.summary import FileSummary, IngestSummary
from panel.settings import Settings, get_settings
from store.panel_store import PanelStore

P = ParamSpec("P")
R = TypeVar("R")


class IngestSteps(NamedTuple):
    """The steps of one file's ingest. The flow runs them as Prefect tasks; tests of the
    store's semantics run the very same sequence as plain functions (``PLAIN_STEPS``)."""

    receive: Callable[..., steps.ReceivedFile | steps.Unreadable]
    read: Callable[..., ExportFile | steps.Unreadable]
    check_rows: Callable[..., steps.CheckedRows]
    check_batch: Callable[..., BatchVerdict]
    store: Callable[..., FileSummary]
    refuse: Callable[..., FileSummary]


PLAIN_STEPS = IngestSteps(
    receive=steps.receive,
    read=steps.read,
    check_rows=steps.check_rows,
    check_batch=steps.check_batch_of,
    store=steps.store_accepted,
    refuse=steps.refuse,
)


def _as_task(step: Callable[P, R], name: str) -> Task[P, R]:
    """Steps pass big in-memory objects (a whole export) to each other: no input hashing, no
    result persistence. The name is what the Prefect UI shows."""
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)(step)


TASK_STEPS = IngestSteps(
    receive=_as_task(steps.receive, "receive file"),
    read=_as_task(steps.read, "read export"),
    check_rows=_as_task(steps.check_rows, "validate rows"),
    check_batch=_as_task(steps.check_batch_of, "validate batch"),
    store=_as_task(steps.store_accepted, "store"),
    refuse=_as_task(steps.refuse, "refuse"),
)


@flow(name="ingest-exports", validate_parameters=False)
def ingest_exports(paths: list[Path], actor: str | None = None) -> IngestSummary:
    """Ingest the export files at ``paths``, one after the other."""
    settings = get_settings()
    store = PanelStore.open()
    batch_gate.warm_up()
    summary = IngestSummary(
        files=[ingest_file(store, Path(path), actor or settings.actor, settings) for path in paths]
    )
    report(summary)
    return summary


def ingest_file(
    store: PanelStore, path: Path, actor: str, settings: Settings, run: IngestSteps = TASK_STEPS
) -> FileSummary:
    received = run.receive(store, path, actor)
    if isinstance(received, steps.Unreadable):
        return FileSummary(file=str(path), status="refused", refusal=[received.reason])
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


@task(name="report", cache_policy=NO_CACHE, persist_result=False)
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
