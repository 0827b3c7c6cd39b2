"""The panel's cycle: everything new in, then match, then invite. What `panel serve` runs
nightly and `panel cycle` runs now.

    [ingest lock: pick up the inbox -> ingest (subflow) -> file the exports away]
      -> stop here if any export was set aside (refused, or failed to ingest)
      -> match every recruiting study (subflow; only those whose match is not current)
      -> invite who is due (subflow) -> overview artifact -> recruitment funnel artifact

Withdrawals arrive as exports like the signups, so they are applied before anything is
matched. An export set aside moves to the rejected folder with its reason and stops this
cycle: nothing downstream runs, the run fails with the reasons, and the failure is reported
(``flows.notify``). The next cycle no longer sees it, so one poisoned export never blocks the
nights after it. A cycle with nothing new changes nothing: every study's match is current,
and everyone due has been invited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from prefect.artifacts import create_markdown_artifact

from configuration.settings import load_settings
from flows import match_flow
from flows.contact_flow import ContactRun, contact_volunteers, reminder_summary, run_summary
from flows.errors import CycleStopped
from flows.ingest_flow import ingest_exports, summary_markdown
from flows.match_flow import StudyMatchSummary
from flows.notify import report_failure
from flows.recruitment_artifact import count_recruitment, publish_recruitment
from flows.task_options import panel_flow, panel_task, retried_io
from ingest import inbox, progress
from ingest.summary import FileSummary, IngestSummary
from schemas.danish_formats import today_in_denmark
from store import studies
from store.ingest_runs import ingest_lock
from store.panel_store import PanelStore


@dataclass
class CycleSummary:
    as_of: date
    ingest: IngestSummary
    #: Where each export went: processed or rejected.
    filed: dict[str, str] = field(default_factory=dict)
    matched: list[StudyMatchSummary] = field(default_factory=list)
    #: Recruiting studies whose match was current already.
    up_to_date: list[str] = field(default_factory=list)
    contact: ContactRun | None = None


@panel_task("pick up the inbox", **retried_io(60))
def pick_up(folder: Path) -> list[Path]:
    return inbox.waiting(folder)


@panel_task("file the exports away", **retried_io(300))
def file_away(store: PanelStore, summary: IngestSummary, now: datetime) -> dict[str, str]:
    """Move each export out of the inbox; the raw archive registers the moved file as a copy
    of its own, so that an erasure reaches it too."""
    settings = load_settings()
    filed = {}
    for file in summary.files:
        path = Path(file.file)
        if file.status == "accepted":
            moved = inbox.move_processed(path, settings.cycle.processed_dir, now)
        else:
            moved = inbox.move_rejected(path, settings.cycle.rejected_dir, file.refusal, now)
        if file.sha256:
            store.archive.keep_copy(file.sha256, moved)
        filed[path.name] = str(moved)
    return filed


@panel_flow("panel-cycle", on_failure=[report_failure], on_crashed=[report_failure])
def panel_cycle(
    as_of: date | None = None, actor: str | None = None, wait_for_lock: bool = True
) -> CycleSummary:
    """One cycle: ingest the inbox, match the recruiting studies, send the invitations due.

    The inbox is picked up, ingested and filed away under the store's ingest lock: a second
    cycle waits (or, without ``wait_for_lock``, stops at once) and then finds the files gone."""
    settings = load_settings()
    day = as_of or today_in_denmark()
    who = actor or settings.actor
    store = PanelStore.open(load_settings().store)
    with ingest_lock(store, wait=wait_for_lock, on_wait=progress.notice):
        files = pick_up(settings.cycle.inbox_dir)
        ingested = ingest_exports(files, actor=who) if files else IngestSummary(files=[])
        cycle = CycleSummary(day, ingested, file_away(store, ingested, datetime.now(UTC)))
    set_aside = ingested.set_aside
    if set_aside:
        _publish(cycle)
        raise CycleStopped(_stopped_by(set_aside))
    with store.reading() as connection:
        recruiting = studies.recruiting(connection)
    cycle.matched = match_flow.configured()(None, day, who, only_if_changed=True)
    matched = {summary.study_id for summary in cycle.matched}
    cycle.up_to_date = [study_id for study_id in recruiting if study_id not in matched]
    cycle.contact = contact_volunteers(None, day, actor=who)
    _publish(cycle)
    publish_recruitment(count_recruitment(store))
    return cycle


def _stopped_by(set_aside: list[FileSummary]) -> str:
    """Why the cycle stopped, the consequence first (the message may be cut at its end)."""
    said = "; ".join(f"{Path(f.file).name} {f.status}: {' '.join(f.refusal)}" for f in set_aside)
    return (
        f"nothing was matched or sent this cycle: {len(set_aside)} export(s) set aside in the "
        f"rejected folder, each with its reason: {said}"
    )


def _publish(cycle: CycleSummary) -> None:
    """The overview a data steward reads in Prefect's UI: counts only."""
    lines = [f"# Panel cycle, {cycle.as_of:%d-%m-%Y}", "", "## Exports"]
    lines.append(summary_markdown(cycle.ingest) if cycle.ingest.files else "Nothing new.")
    lines += ["", "## Matching"]
    for summary in cycle.matched:
        funnel = summary.funnel
        lines.append(
            f"- {summary.study_id} (version {summary.study_version}): {funnel.start:,} "
            f"contactable, {funnel.eligible:,} eligible, {funnel.needs_screening:,} need "
            f"screening, {summary.new_candidates:,} new candidates"
        )
    lines += [f"- {study_id}: up to date, not matched again" for study_id in cycle.up_to_date]
    if cycle.contact is not None:
        lines += ["", "## Invitations", run_summary(cycle.contact.plans, cycle.contact.sent)]
        if cycle.contact.reminders is not None:
            reminded = reminder_summary(cycle.contact.reminders, cycle.contact.reminders_sent)
            lines.append(reminded)
    create_markdown_artifact(
        key="panel-cycle", markdown="\n".join(lines), description="panel cycle: overview"
    )
