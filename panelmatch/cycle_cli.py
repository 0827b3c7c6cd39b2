"""``panel cycle`` (one cycle, now, in this process) and ``panel serve`` (the scheduled
deployments, served by this process with Prefect's own serving)."""

from __future__ import annotations

from typing import Annotated

import typer

from configuration.settings import load_settings
from flows.errors import CycleStopped
from flows.prefect_api import start_prefect
from ingest import gx_process, inbox
from panelmatch import reports
from panelmatch.command_base import match_date, notices, stopping
from panelmatch.console import err, out

#: The served deployment of the cycle: trigger it by hand with
#: ``prefect deployment run 'panel-cycle/nightly'``.
DEPLOYMENT = "nightly"


def cycle(
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="The match date (default: today in Denmark).", show_default=False
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="If another cycle or ingest is running, stop at once with exit code 75 "
            "instead of waiting for it.",
        ),
    ] = False,
) -> None:
    """Run one cycle now: ingest the inbox, match the recruiting studies, send invitations.

    Exit code 1 when the cycle stops (an export set aside: nothing matched or sent) or fails,
    75 when --no-wait found another cycle or ingest running.
    """
    from flows.cycle_flow import panel_cycle  # deferred: Prefect (seconds)

    day = match_date(as_of)
    if inbox.waiting(load_settings().cycle.inbox_dir):
        gx_process.start()  # Great Expectations imports in its own process meanwhile
    with stopping("the cycle failed"), notices():
        try:
            start_prefect()
            summary = panel_cycle(day, wait_for_lock=not no_wait)
        except CycleStopped as refused:
            err.print(f"[red]cycle stopped:[/] {refused}")
            raise typer.Exit(1) from None
    reports.print_cycle(out, summary)
    contact = summary.contact
    if contact is not None and contact.sent is not None and contact.sent.failed:
        raise typer.Exit(1)


def serve() -> None:
    """Serve the cycle's deployment on its schedule (PANEL_CYCLE_CRON, default 02:00 Europe/
    Copenhagen) until stopped, running each scheduled or triggered run in this process.

    Needs a Prefect server (PREFECT_API_URL), e.g. `prefect server start`.
    """
    # Deferred: Prefect (seconds).
    from prefect import serve as prefect_serve
    from prefect.deployments.runner import RunnerDeployment
    from prefect.schedules import Cron

    from flows.cycle_flow import panel_cycle

    settings = load_settings().cycle
    deployment = panel_cycle.to_deployment(
        name=DEPLOYMENT,
        schedules=[Cron(settings.cron, timezone=settings.timezone)],
        description="Ingest the inbox, match every recruiting study, send the invitations due.",
        tags=["panelmatch"],
    )
    assert isinstance(deployment, RunnerDeployment)  # called from sync code: not a coroutine
    out.print(
        f"serving panel-cycle/{DEPLOYMENT}: '{settings.cron}' {settings.timezone} "
        f"(run now: prefect deployment run 'panel-cycle/{DEPLOYMENT}')"
    )
    prefect_serve(deployment, pause_on_shutdown=False, print_starting_message=False)
