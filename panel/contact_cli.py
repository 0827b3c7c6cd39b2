"""``panel contact``: invite approved volunteers who still fit and still consent."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from panel.console import err, out
from panel.reports import outbox_as_json, print_outbox

if TYPE_CHECKING:
    from flows.contact_flow import ContactRun

#: Volunteer ids listed per rule in the text output (``--json`` lists all).
SHOWN = 20


def contact(
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
    exit code 1 when any could not be delivered. Volunteer ids are pseudonymous.
    """
    from flows.contact_flow import contact_volunteers
    from outreach.contact_run import configured_channels
    from panel.cli import _plainly, open_store, today
    from panel.settings import get_settings

    try:
        configured_channels(get_settings())  # a bad PANEL_SMTP_URL stops us before queueing
    except ValueError as error:
        err.print(f"[red]error:[/] PANEL_SMTP_URL: {error}")
        raise typer.Exit(1) from None
    store = open_store()
    published = {summary.study_id: summary.status for summary in store.studies()}
    unknown = [s for s in study or [] if s not in published]
    if unknown:
        err.print(f"[red]error:[/] no published study {', '.join(map(repr, unknown))}")
        raise typer.Exit(1)
    try:
        run = contact_volunteers(study or None, today(), dry_run)
    except Exception as error:
        err.print(f"[red]error:[/] the contact run stopped: {_plainly(error)}")
        raise typer.Exit(1) from None
    if as_json:
        json.dump(_as_json(run), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        _print(run, dry_run)
    if run.sent is not None and (run.sent.failed or run.sent.not_forgotten):
        raise typer.Exit(1)


def _print(run: ContactRun, dry_run: bool) -> None:
    verb = "would invite" if dry_run else "invited"
    for plan in run.plans:
        out.print(f"[bold]{plan.study_id}[/]: {verb} {len(plan.invite):,}")
        if dry_run:
            _ids(plan.invite)
        for rule, ids in plan.held_back.items():
            out.print(f"  held back, {rule.value}: {len(ids):,}")
            if dry_run:
                _ids(ids)
    if not run.plans:
        out.print("no recruiting studies")
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
            "PANEL_SEND_LEASE_SECONDS too short for the mail server?)"
        )
        _ids(report.taken_over)
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


def _ids(ids: list[str]) -> None:
    if ids:
        more = f" ... and {len(ids) - SHOWN:,} more (--json lists all)" if len(ids) > SHOWN else ""
        out.print("    " + " ".join(ids[:SHOWN]) + more, soft_wrap=True)


def _as_json(run: ContactRun) -> dict[str, object]:
    studies = [
        {
            "study_id": plan.study_id,
            "invite": plan.invite,
            "held_back": {rule.value: ids for rule, ids in plan.held_back.items()},
            "counts": plan.counts(),
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
    return {
        "dry_run": run.sent is None,
        "studies": studies,
        "delivery": sent,
        "outbox": outbox_as_json(run.outbox),
    }
