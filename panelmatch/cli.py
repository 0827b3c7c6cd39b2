"""``panel``: the command line of panelmatch.

Commands that run a Prefect flow (``ingest``, ``match``, ``demo``) import Prefect only when
they run: ``panel --help``, ``panel status`` and ``panel config`` start in a fraction of a
second.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from configuration.errors import UnexpectedError, as_panel_error
from configuration.settings import load_settings
from flows.prefect_api import start_prefect
from panelmatch import reports
from panelmatch.console import err, out
from panelmatch.contact_cli import contact_app
from panelmatch.cycle_cli import cycle, serve
from panelmatch.review_cli import decide, review, users_app
from panelmatch.study_cli import candidates_app, match, study_app
from schemas.danish_formats import today_in_denmark

if TYPE_CHECKING:
    from store.panel_store import PanelStore

app = typer.Typer(
    name="panel",
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
    files in the outbox folder); runs the nightly cycle on a new export in the inbox; then
    shows what the panel holds.
    """
    from panelmatch import demo as walkthrough

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
    walkthrough.approve_and_contact(out, err, store, today())
    walkthrough.nightly_cycle(out, err, today())
    status()
    walkthrough.how_to_review(out)


@app.command()
def status() -> None:
    """What the panel holds now, and the latest ingests (from the audit log)."""
    store = open_store()
    outbox = store.outbox(datetime.now(UTC), load_settings().send_lease_seconds)
    reports.print_overview(out, store.overview(), outbox, store.recent_ingests())


@app.command()
def config() -> None:
    """The configuration in effect, and where each value can be changed."""
    reports.print_settings(out, load_settings())


# Study, review, contact and cycle commands live in panel/study_cli.py, panel/review_cli.py,
# panel/contact_cli.py and panel/cycle_cli.py; registered here, after the panel's own.
app.add_typer(study_app, name="study")
app.add_typer(candidates_app, name="candidates")
app.command("match")(match)
candidates_app.command("decide")(decide)
app.add_typer(users_app, name="users")
app.command("review")(review)
app.add_typer(contact_app, name="contact")
app.command("cycle")(cycle)
app.command("serve")(serve)


def _run_ingest(files: list[Path], actor: str | None, *, show_progress: bool, wait: bool):  # type: ignore[no-untyped-def]
    from ingest import gx_process

    gx_process.start()  # Great Expectations imports (seconds) in its own process meanwhile
    from flows.ingest_flow import ingest_exports

    with _progress(enabled=show_progress and err.is_terminal), notices():
        try:
            start_prefect()
            return ingest_exports(files, actor=actor, wait_for_lock=wait)
        except Exception as error:  # the store unreachable, the disk full, ...
            stopped("the ingest stopped", error)


def open_store() -> PanelStore:
    """The configured store, or one clear line and exit code 1 when it cannot be opened."""
    from store.panel_store import PanelStore

    try:
        return PanelStore.open(load_settings().store)
    except Exception as error:
        stopped("cannot open the panel store", error)


def _plainly(error: BaseException) -> str:
    """An error as one line for the terminal: what went wrong and where, never a class name or
    a value it choked on (``configuration.errors``)."""
    return as_panel_error(error).message


def stopped(what: str, error: BaseException) -> NoReturn:
    """Say in one line why ``what`` stopped, and exit: code 75 when the store was busy (try
    again later), else 1."""
    from configuration.settings import SettingsError

    # A setting to change is what to say, whatever step read the settings first.
    said = _plainly(error) if isinstance(error, SettingsError) else f"{what}: {_plainly(error)}"
    err.print(f"[red]error:[/] {said}")
    raise typer.Exit(getattr(error, "exit_code", 1)) from None


@contextmanager
def notices() -> Iterator[None]:
    """Print what a long run says on the way ("waiting for another ingest") on stderr."""
    from ingest import progress

    progress.set_notices(lambda text: err.print(f"[yellow]{text}[/]"))
    try:
        yield
    finally:
        progress.set_notices(None)


@contextmanager
def _progress(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ingest import progress

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    stages: dict[str, object] = {}

    def show(stage: str, done: int, total: int) -> None:
        if stage not in stages:
            stages[stage] = bar.add_task(stage, total=total)
        bar.update(stages[stage], completed=done, total=total)  # type: ignore[arg-type]

    progress.set_reporter(show)
    try:
        with bar:
            yield
    finally:
        progress.set_reporter(None)


def today() -> date:
    """Today in Denmark: the default match date."""
    return today_in_denmark()


def main() -> None:
    """The ``panel`` console script: no traceback for anything unexpected, one line instead
    (``PANEL_DEBUG=1`` shows the traceback)."""
    try:
        app()
    except Exception as error:
        if os.environ.get("PANEL_DEBUG"):
            raise
        said = as_panel_error(error)
        hint = " (PANEL_DEBUG=1 shows where)" if isinstance(said, UnexpectedError) else ""
        err.print(f"[red]error:[/] {said.message}{hint}")
        sys.exit(getattr(said, "exit_code", 1))


if __name__ == "__main__":
    main()
