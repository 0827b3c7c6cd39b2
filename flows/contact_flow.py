"""The outreach flows: invite the approved volunteers who still fit and still consent
(``contact-volunteers``), and queue failed invitations again (``retry-invitations``).

    queue invitations (re-evaluate, apply the rules, write the outbox) -> send invitations
    then queue the reminders of unanswered invitations                 -> send reminders
    queue failed invitations again (the same rules)                     -> send invitations

Their artifacts hold counts per study and rule, each study's outbox, and the failures by
study, pseudonymous volunteer id and Message-ID (the server's answer without the addresses
it quotes): never a name, an address or a health detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from prefect.artifacts import create_markdown_artifact

from configuration.settings import load_settings
from flows.task_options import panel_flow, panel_task, retried_io
from outreach.contact_rules import ContactPlan
from outreach.contact_run import (
    queue_invitations,
    retry_failed,
    send_invitations,
    send_reminders,
)
from outreach.reminders import ReminderPlan, queue_reminders
from outreach.sender import SendReport
from store.delivery_status import StudyOutbox, delivery_status
from store.panel_store import PanelStore


@dataclass(frozen=True)
class ContactRun:
    plans: list[ContactPlan]
    #: None for a dry run.
    sent: SendReport | None
    #: Each study's invitations by step of delivery, after the run.
    outbox: list[StudyOutbox] = field(default_factory=list)
    #: The reminders of unanswered invitations queued, held back, and delivered (None: not
    #: looked at, or, for ``reminders_sent``, a dry run).
    reminders: ReminderPlan | None = None
    reminders_sent: SendReport | None = None


@panel_task("queue invitations", **retried_io(600))
def queue(
    store: PanelStore, study_ids: list[str] | None, as_of: date, actor: str, dry_run: bool
) -> list[ContactPlan]:
    settings = load_settings().outreach
    now = datetime.now(UTC)
    return queue_invitations(store, settings, study_ids, as_of, actor, now, dry_run)


@panel_task("send invitations", **retried_io(3600))
def send(store: PanelStore, as_of: date) -> SendReport:
    return send_invitations(store, load_settings().outreach, as_of)


@panel_task("queue reminders", **retried_io(600))
def queue_due_reminders(
    store: PanelStore, study_ids: list[str] | None, actor: str, dry_run: bool
) -> ReminderPlan:
    settings = load_settings().outreach
    return queue_reminders(store, settings, study_ids, actor, datetime.now(UTC), dry_run)


@panel_task("send reminders", **retried_io(3600))
def send_due(store: PanelStore) -> SendReport:
    return send_reminders(store, load_settings().outreach)


@panel_task("queue failed invitations again", timeout_seconds=600)
def requeue(
    store: PanelStore, study_id: str, volunteer_ids: list[str] | None, as_of: date, actor: str
) -> ContactPlan:
    # Not retried: NothingToRetry says the same again, and a lost connection rolls back.
    settings, now = load_settings().outreach, datetime.now(UTC)
    return retry_failed(store, settings, study_id, volunteer_ids, as_of, actor, now)


@panel_task("outbox status", **retried_io(60))
def outbox_status(store: PanelStore) -> list[StudyOutbox]:
    lease = load_settings().outreach.send_lease_seconds
    with store.reading() as connection:
        return delivery_status(connection, datetime.now(UTC), lease)


@panel_flow("contact-volunteers")
def contact_volunteers(
    study_ids: list[str] | None, as_of: date, dry_run: bool = False, actor: str | None = None
) -> ContactRun:
    """Queue the invitations due for the given studies (default: every recruiting one) and
    deliver everything due in the outbox; with ``dry_run`` only say what would happen."""
    store = PanelStore.open(load_settings().store)
    who = actor or load_settings().actor
    plans = queue(store, study_ids, as_of, who, dry_run)
    # After the invitations: one queued now counts against a reminder to the same person.
    reminders = queue_due_reminders(store, study_ids, who, dry_run)
    report = None if dry_run else send(store, as_of)
    reminded = None if dry_run else send_due(store)
    outbox = outbox_status(store)
    markdown = run_summary(plans, report, outbox) + reminder_summary(reminders, reminded)
    create_markdown_artifact(key="contact-run", markdown=markdown, description="contact run")
    return ContactRun(plans, report, outbox, reminders, reminded)


@panel_flow("retry-invitations")
def retry_invitations(
    study_id: str, volunteer_ids: list[str] | None, as_of: date, actor: str | None = None
) -> ContactRun:
    """Queue the study's failed invitations again (those of ``volunteer_ids``, or all), each
    only if every rule holds now and keeping its Message-ID, then deliver everything due."""
    store = PanelStore.open(load_settings().store)
    plan = requeue(store, study_id, volunteer_ids, as_of, actor or load_settings().actor)
    report = send(store, as_of)
    outbox = outbox_status(store)
    create_markdown_artifact(
        key="contact-retry",
        markdown=run_summary([plan], report, outbox),
        description="failed invitations queued again",
    )
    return ContactRun([plan], report, outbox)


def run_summary(
    plans: list[ContactPlan], report: SendReport | None, outbox: list[StudyOutbox] | None = None
) -> str:
    """The run in Markdown: per study, invited and held back by rule; then delivery, and each
    study's outbox after the run."""
    lines = ["| study | invited | held back, by rule | wave |", "|---|---:|---|---|"]
    for plan in plans:
        held = ", ".join(f"{rule.value}: {len(ids)}" for rule, ids in plan.held_back.items())
        wave = plan.wave.words() if plan.wave is not None else "-"
        lines.append(f"| {plan.study_id} | {len(plan.invite)} | {held or '-'} | {wave} |")
    lines += _outbox_table(outbox or [])
    if report is None:
        lines.append("\nDry run: nothing was queued or sent.")
        return "\n".join(lines)
    lines.append(
        f"\nSent {report.sent}; waiting to retry {report.retrying}; failed {len(report.failed)}."
    )
    lines += [
        f"- stopped at sending, {reason}: {count}" for reason, count in report.cancelled.items()
    ]
    lines += [f"- failed: {failure}" for failure in report.failed]
    if report.taken_over:
        lines.append(
            f"- taken over by another sender after the lease ran out (may arrive twice): "
            f"{', '.join(report.taken_over)}"
        )
    if report.forgotten:
        lines.append(f"- deleted from the outbox folders (erased since): {report.forgotten}")
    if report.not_forgotten:
        lines.append(f"- could not delete from the outbox folders: {report.not_forgotten}")
    return "\n".join(lines)


def reminder_summary(plan: ReminderPlan, report: SendReport | None) -> str:
    """The reminders in Markdown: queued, held back by rule, delivered (counts and ids only)."""
    held = ", ".join(f"{rule.value}: {len(ids)}" for rule, ids in plan.held_back.items())
    lines = [f"\n\nReminders queued {len(plan.remind)}; held back: {held or '-'}."]
    if report is not None:
        lines.append(
            f"Reminders sent {report.sent}; waiting to retry {report.retrying}; "
            f"failed {len(report.failed)}."
        )
        lines += [f"- reminder stopped at sending, {r}: {n}" for r, n in report.cancelled.items()]
        lines += [f"- failed: {failure}" for failure in report.failed]
        lines += [f"- reminder taken over: {message_id}" for message_id in report.taken_over]
    return "\n".join(lines)


def _outbox_table(outbox: list[StudyOutbox]) -> list[str]:
    if not outbox:
        return []
    lines = [
        "\n| study | queued | waiting to retry | being sent (abandoned) | sent | failed "
        "| cancelled |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for study in outbox:
        lines.append(
            f"| {study.study_id} | {study.queued} | {study.waiting_to_retry} | {study.sending} "
            f"({study.sending_abandoned}) | {study.sent} | {study.failed} | {study.cancelled} |"
        )
    return lines
