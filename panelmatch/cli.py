"""``panel``: the command line of panelmatch. This module only declares the panel's own
commands and registers the others (``study_cli``, ``review_cli``, ``contact_cli``,
``cycle_cli``); what they share is in ``command_base``, below them all.

Imports are at the top of the modules except the ones that cost start-up time, deferred into
the commands that use them (measured with ``python -X importtime -c "import panelmatch.cli"``):
Prefect and ``flows.*`` but ``flows.errors``/``flows.prefect_api`` (seconds), Great
Expectations (its own process, ``ingest.gx_process``), the store's modules (SQLAlchemy,
Alembic, NumPy, PyArrow: about three quarters of the start-up if imported here), ``matching.*``
and ``review.candidate_export`` (pandas, PyArrow), argon2, uvicorn and matplotlib. So ``panel
--help`` and ``panel config`` start in a fraction of a second.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from configuration.settings import load_settings
from flows.prefect_api import start_prefect
from ingest import gx_process
from panelmatch import demo as walkthrough
from panelmatch import demo_answers, reports
from panelmatch.command_base import (
    PanelGroup,
    notices,
    open_store,
    progress_bars,
    stopping,
    today,
)
from panelmatch.console import err, out
from panelmatch.contact_cli import contact_app
from panelmatch.cycle_cli import cycle, serve
from panelmatch.referrals_cli import referrals_app
from panelmatch.respond_cli import respond
from panelmatch.review_cli import decide, review, users_app
from panelmatch.study_cli import candidates_app, match, study_app

app = typer.Typer(
    name="panel",
    cls=PanelGroup,  # the one place where an error becomes a message and an exit code
    help="panelmatch: a Danish health research panel's volunteers, matched to studies. "
    "Configuration comes from PANEL_* environment variables (see `panel config`).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.command()
def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Export files from the signup form: `signups` and/or `afmeldinger` "
            "(told apart by their header). Processed in the order given.",
            show_default=False,
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object, nothing else.")
    ] = False,
    actor: Annotated[
        str | None,
        typer.Option(
            help="Who runs this ingest, for the audit log. Default: PANEL_ACTOR or the OS user."
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option(
            "--no-wait",
            help="If another ingest (or cycle) is running, stop at once with exit code 75 "
            "instead of waiting for it.",
        ),
    ] = False,
) -> None:
    """Validate export files and store them in the panel.

    Every row ends as exactly one of: stored, quarantined (kept with its reasons), or known
    (stored before). A file that is not an export, or fails its batch checks, is refused as a
    whole and changes nothing. One ingest runs at a time: a second one waits for the first.
    Exit code 0 when every file was accepted, 1 when any was refused or failed, 75 when
    --no-wait found another ingest running.
    """
    summary = _run_ingest(files, actor, show_progress=not as_json, wait=not no_wait)
    if as_json:
        out.print_json(summary.model_dump_json(), indent=None)
    else:
        reports.print_ingest(out, err, summary)
    raise typer.Exit(1 if summary.refused else 0)


@app.command()
def demo(
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Start from an empty store (only one the demo made).")
    ] = False,
) -> None:
    """Run the demo end to end on the samples in data_samples/.

    Ingests a signup export, the same export again, a withdrawals file, a later full re-export
    and a damaged export; publishes the sample studies and matches them (the RLS trial's
    funnel); approves the RLS trial's eligible candidates and sends the invitations (.eml
    files in the outbox folder); has the invited volunteers answer on the answer page and the
    study team take the yeses; runs the nightly cycle on a new export in the inbox; then
    shows what the panel holds.
    """
    settings = load_settings()
    if fresh:
        problem = walkthrough.reset_store(settings)
        if problem:
            err.print(f"[red]error:[/] {problem}")
            raise typer.Exit(1)
    files = walkthrough.sample_files()
    summary = _run_ingest([path for path, _ in files], None, show_progress=True, wait=True)
    walkthrough.narrate(out, err, files, summary)
    store = open_store()
    walkthrough.publish_and_match(out, err, store, today())
    with demo_answers.answer_page_served():
        walkthrough.approve_and_contact(out, err, store, today())
        walkthrough.volunteers_answer(out, store, today())
        walkthrough.nightly_cycle(out, err, today())
    status()
    walkthrough.how_to_review(out)


@app.command()
def status() -> None:
    """What the panel holds now, and the latest ingests (from the audit log)."""
    from store.audit import recent_ingests  # deferred: the store's modules (see above)
    from store.delivery_status import delivery_status
    from store.overview import overview, unknown_diagnoses
    from store.recruitment_funnel import recruitment_funnels

    store = open_store()
    with store.reading() as connection:
        now, lease = datetime.now(UTC), load_settings().outreach.send_lease_seconds
        outbox = delivery_status(connection, now, lease)
        reports.print_overview(
            out,
            overview(connection),
            outbox,
            recent_ingests(connection),
            unknown_diagnoses(connection),
            list(recruitment_funnels(connection).values()),
        )


@app.command()
def config() -> None:
    """The configuration in effect, and where each value can be changed."""
    reports.print_settings(out, load_settings())


# Study, review, contact and cycle commands live in panelmatch/study_cli.py, review_cli.py,
# contact_cli.py and cycle_cli.py; registered here, after the panel's own.
app.add_typer(study_app, name="study")
app.add_typer(candidates_app, name="candidates")
app.command("match")(match)
candidates_app.command("decide")(decide)
app.add_typer(users_app, name="users")
app.command("review")(review)
app.command("respond")(respond)
app.add_typer(referrals_app, name="referrals")
app.add_typer(contact_app, name="contact")
app.command("cycle")(cycle)
app.command("serve")(serve)


def _run_ingest(files: list[Path], actor: str | None, *, show_progress: bool, wait: bool):  # type: ignore[no-untyped-def]
    gx_process.start()  # Great Expectations imports (seconds) in its own process meanwhile
    from flows.ingest_flow import ingest_exports  # deferred: Prefect (seconds)

    shown = show_progress and err.is_terminal
    # Stopped by anything: the store unreachable, the disk full, ...
    with progress_bars(shown), notices(), stopping("the ingest stopped"):
        start_prefect()
        return ingest_exports(files, actor=actor, wait_for_lock=wait)


def main() -> None:
    """The ``panel`` console script: no traceback for anything unexpected, one line instead
    (``PANEL_DEBUG=1`` shows the traceback); ``PanelGroup`` says it."""
    app()


if __name__ == "__main__":
    main()
