"""``panel contact``: invite approved volunteers who still fit and still consent; ``panel
contact retry``: queue failed invitations again."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from configuration.errors import SmtpUrlError
from configuration.settings import load_settings
from outreach.contact_rules import ContactPlan
from outreach.errors import NothingToRetry
from panelmatch.command_base import open_store, stopping, today
from panelmatch.console import err, out
from panelmatch.reports import outbox_as_json, print_outbox

if TYPE_CHECKING:
    from flows.contact_flow import ContactRun
    from store.panel_store import PanelStore

#: Volunteer ids listed per rule in the text output (``--json`` lists all).
SHOWN = 20


contact_app = typer.Typer(no_args_is_help=False, add_completion=False)


@contact_app.callback(invoke_without_command=True)
def contact(
    ctx: typer.Context,
    study: Annotated[
        list[str] | None,
        typer.Option("--study", help="A study id (repeatable). Default: every recruiting one."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show who would be invited and who is held back, and why."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
) -> None:
    """Invite the approved volunteers who still fit and still consent (the outreach flow).

    Every rule is checked now: approval, the current profile against the study's current
    version, consent, withdrawal, erasure, the contact policy and the study's invitation
    budget. Invitations are queued, then delivered (SMTP, or .eml files in the outbox folder);
    exit code 1 when any could not be delivered. Then each study's outbox: queued, waiting to
    retry, being sent, sent, failed, cancelled. Volunteer ids are pseudonymous.

    `panel contact retry STUDY_ID [VOLUNTEER_ID...]` queues failed invitations again.
    """
    if ctx.invoked_subcommand is not None:
        if study or dry_run or as_json:
            err.print(
                f"[red]error:[/] --study, --dry-run and --json are options of `panel contact`, "
                f"not of `panel contact {ctx.invoked_subcommand}`"
            )
            raise typer.Exit(1)
        return
    # Deferred, here and below: Prefect (flows.*) and the store's modules cost seconds of
    # start-up for every other command (see panelmatch/cli.py).
    from flows.contact_flow import contact_volunteers
    from store.studies import summaries

    store = _open_with_channels()
    with store.reading() as connection:
        published = {summary.study_id for summary in summaries(connection)}
    unknown = [s for s in study or [] if s not in published]
    if unknown:
        err.print(f"[red]error:[/] no published study {', '.join(map(repr, unknown))}")
        raise typer.Exit(1)
    with stopping("the contact run stopped"):
        run = contact_volunteers(study or None, today(), dry_run)
    _show(run, as_json, "would invite" if dry_run else "invited", list_ids=dry_run)


@contact_app.command("retry")
def retry(
    study_id: Annotated[
        str, typer.Argument(help="The study whose failed invitations to queue again.")
    ],
    volunteer_ids: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only the failed invitations of these volunteers (pseudonymous ids). "
            "Default: every failed invitation of the study.",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run as JSON.")] = False,
    actor: Annotated[
        str | None,
        typer.Option(help="Who asks for the retry, for the audit trail. Default: PANEL_ACTOR."),
    ] = None,
) -> None:
    """Queue failed invitations of STUDY_ID again, then deliver what is due.

    Each is checked again against every rule (approval, the current profile against the
    study's current version, consent, withdrawal, erasure, the contact policy, the budget) and
    keeps its Message-ID; one a rule holds back stays failed, and the rule is shown. Who asked,
    when and what came of it is recorded for each. Exit code 1, with nothing changed, when a
    named volunteer has no failed invitation of the study; 1 too when any delivery failed.
    """
    from flows.contact_flow import ContactRun, retry_invitations
    from store.delivery_status import delivery_status
    from store.invitations import failed_invitations
    from store.studies import summaries

    store = _open_with_channels()
    with store.reading() as connection:
        published = {summary.study_id for summary in summaries(connection)}
    if study_id not in published:
        err.print(f"[red]error:[/] no published study {study_id!r}")
        raise typer.Exit(1)
    with store.reading() as connection:
        failed = failed_invitations(connection, study_id)
    missing = [v for v in volunteer_ids or [] if v not in failed]
    if missing:
        err.print(f"[red]error:[/] {escape(str(NothingToRetry(study_id, missing)))}")
        raise typer.Exit(1)
    if not failed:
        if as_json:
            with store.reading() as connection:
                outbox = delivery_status(
                    connection, datetime.now(UTC), load_settings().outreach.send_lease_seconds
                )
            nothing = ContactRun([ContactPlan(study_id)], None, outbox)
            json.dump(_as_json(nothing, dry_run=False), sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            out.print(f"{study_id}: no failed invitations to retry")
        return
    with stopping("the retry stopped"):
        try:
            run = retry_invitations(study_id, volunteer_ids or None, today(), actor)
        except NothingToRetry as error:  # another retry took them meanwhile
            err.print(f"[red]error:[/] {escape(str(error))}")
            raise typer.Exit(1) from None
    _show(run, as_json, "queued again", list_ids=True)


def _open_with_channels() -> PanelStore:
    """The store, once the configured channels are known to be usable (a bad PANEL_SMTP_URL
    stops a run before anything is queued)."""
    from outreach.contact_run import configured_channels

    try:
        configured_channels(load_settings().outreach)
    except SmtpUrlError as error:
        err.print(f"[red]error:[/] PANEL_SMTP_URL: {error}")
        raise typer.Exit(1) from None
    return open_store()


def _show(run: ContactRun, as_json: bool, verb: str, list_ids: bool) -> None:
    """The run on standard output; exit code 1 when a delivery failed or a copy of an erased
    volunteer's message could not be deleted."""
    if as_json:
        json.dump(_as_json(run), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print(run, verb, list_ids)
    if run.sent is not None and (run.sent.failed or run.sent.not_forgotten):
        raise typer.Exit(1)
    if run.reminders_sent is not None and run.reminders_sent.failed:
        raise typer.Exit(1)


def _print(run: ContactRun, verb: str, list_ids: bool) -> None:
    for plan in run.plans:
        out.print(f"[bold]{plan.study_id}[/]: {verb} {len(plan.invite):,}")
        if plan.wave is not None:
            out.print(f"  {plan.wave.words()}")
        if list_ids:
            _ids(plan.invite)
        for rule, ids in plan.held_back.items():
            out.print(f"  held back, {rule.value}: {len(ids):,}")
            if list_ids:
                _ids(ids)
    if not run.plans:
        out.print("no recruiting studies")
    _print_reminders(run)
    if run.sent is None:
        out.print("dry run: nothing was queued or sent")
        print_outbox(out, run.outbox)
        return
    report = run.sent
    out.print(f"sent {report.sent:,}; waiting to retry {report.retrying:,}")
    for reason, count in report.cancelled.items():
        out.print(f"stopped at sending, {reason}: {count:,}")
    if report.taken_over:
        err.print(
            f"[yellow]taken over by another sender after the lease ran out, outcome not "
            f"recorded here:[/] {len(report.taken_over):,} (may arrive twice: "
            f"PANEL_SEND_LEASE_SECONDS too short for the mail server?): "
            f"{escape(' '.join(report.taken_over))}",
            soft_wrap=True,
        )
    if report.forgotten:
        erased = "deleted from the outbox folders (sent to volunteers erased since)"
        out.print(f"{erased}: {report.forgotten:,}")
    if report.not_forgotten:
        err.print(
            f"[red]could not delete from the outbox folders[/] (sent to volunteers erased "
            f"since; tried again at the next run): {report.not_forgotten:,}"
        )
    for failure in report.failed:
        err.print(f"[red]failed:[/] {escape(failure)}")
    print_outbox(out, run.outbox)


def _print_reminders(run: ContactRun) -> None:
    """The reminders of unanswered invitations (``outreach.reminders``): counts only."""
    if run.reminders is None:
        return
    out.print(f"reminders of unanswered invitations: {len(run.reminders.remind):,}")
    for rule, ids in run.reminders.held_back.items():
        out.print(f"  reminder held back, {rule.value}: {len(ids):,}")
    sent = run.reminders_sent
    if sent is not None:
        out.print(f"reminders sent {sent.sent:,}; waiting to retry {sent.retrying:,}")
        for reason, count in sent.cancelled.items():
            out.print(f"reminder stopped at sending, {reason}: {count:,}")
        for failure in sent.failed:
            err.print(f"[red]failed:[/] {escape(failure)}")


def _ids(ids: list[str]) -> None:
    if ids:
        more = f" ... and {len(ids) - SHOWN:,} more (--json lists all)" if len(ids) > SHOWN else ""
        out.print("    " + " ".join(ids[:SHOWN]) + more, soft_wrap=True)


def _as_json(run: ContactRun, dry_run: bool | None = None) -> dict[str, object]:
    """The run; ``delivery`` is null when nothing was sent (a dry run, or nothing to retry)."""
    studies = [
        {
            "study_id": plan.study_id,
            "invite": plan.invite,
            "held_back": {rule.value: ids for rule, ids in plan.held_back.items()},
            "counts": plan.counts(),
            "wave": None if plan.wave is None else plan.wave.words(),
        }
        for plan in run.plans
    ]
    sent = None
    if run.sent is not None:
        sent = {
            "sent": run.sent.sent,
            "retrying": run.sent.retrying,
            "failed": run.sent.failed,
            "cancelled": dict(run.sent.cancelled),
            "taken_over": run.sent.taken_over,
            "forgotten": run.sent.forgotten,
            "not_forgotten": run.sent.not_forgotten,
        }
    answer = {
        "dry_run": run.sent is None if dry_run is None else dry_run,
        "studies": studies,
        "delivery": sent,
        "outbox": outbox_as_json(run.outbox),
    }
    if run.reminders is not None:
        reminded = run.reminders_sent
        answer["reminders"] = {
            "remind": [invitation.volunteer_id for invitation in run.reminders.remind],
            "held_back": {rule.value: ids for rule, ids in run.reminders.held_back.items()},
            "delivery": None
            if reminded is None
            else {
                "sent": reminded.sent,
                "retrying": reminded.retrying,
                "failed": reminded.failed,
                "cancelled": dict(reminded.cancelled),
                "taken_over": reminded.taken_over,
            },
        }
    return answer
