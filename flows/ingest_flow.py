"""The ingest flow: every export file given to ``panel ingest``, through its steps as tasks.

    receive -> read -> check rows -> check batch -> store | refuse

One flow run covers all the files of one command (Prefect's overhead is per run, and seconds
long); each file's steps are tasks, so the Prefect UI shows where each file went and how long
each step took. The flow publishes a summary artifact with counts only: never a name, an
e-mail or a health answer.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from ingest import batch_gate, steps
from ingest.summary import FileSummary, IngestSummary
from panel.settings import get_settings
from store.panel_store import PanelStore

# Tasks pass big in-memory objects (a whole export) to each other: no input hashing, no
# result persistence.
_task = partial(task, cache_policy=NO_CACHE, persist_result=False)

receive_file = _task(steps.receive, name="receive file")
read_export_file = _task(steps.read, name="read export")
check_rows = _task(steps.check_rows, name="validate rows")
check_batch = _task(steps.check_batch_of, name="validate batch")
store_file = _task(steps.store_accepted, name="store")
refuse_file = _task(steps.refuse, name="refuse")


@flow(name="ingest-exports", validate_parameters=False)
def ingest_exports(paths: list[Path], actor: str | None = None) -> IngestSummary:
    """Ingest the export files at ``paths``, one after the other."""
    settings = get_settings()
    store = PanelStore.open()
    batch_gate.warm_up()
    summaries = [ingest_file(store, Path(path), actor or settings.actor) for path in paths]
    summary = IngestSummary(files=summaries)
    report(summary)
    return summary


def ingest_file(store: PanelStore, path: Path, actor: str) -> FileSummary:
    settings = get_settings()
    received = receive_file(store, path, actor)
    if isinstance(received, steps.Unreadable):
        return FileSummary(file=str(path), status="refused", refusal=[received.reason])
    export = read_export_file(received)
    if isinstance(export, steps.Unreadable):
        return refuse_file(store, received, [export.reason])
    rows = check_rows(store, received, export, settings.validation_workers)
    verdict = check_batch(received, export, rows, settings.quarantine_threshold, settings.reports_dir)
    if not verdict.passed:
        return refuse_file(store, received, verdict.failures, export, verdict)
    return store_file(store, received, export, rows, verdict)


@task(name="report", cache_policy=NO_CACHE, persist_result=False)
def report(summary: IngestSummary) -> None:
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
            lines.append(f"\n{Path(file.file).name}: Great Expectations Data Docs at `{file.data_docs}`")
    create_markdown_artifact(
        key="ingest-summary", markdown="\n".join(lines), description="panel ingest: counts per file"
    )
