"""What every command module shares, below them all (``cli.py`` only imports and registers):
the store, today's date and the match date, the notices and progress of long runs, and the one
place where an error becomes a message and an exit code.

**Errors.** A command does not catch errors to report them. ``PanelGroup``, the top command
group, catches whatever a command raises and says it in one line on stderr (``as_panel_error``:
never a traceback, a class name or a value it choked on; ``PANEL_DEBUG=1`` shows the traceback
instead), exiting with the error's ``exit_code`` (1; 75 for ``StoreBusy``: try again later). A
command that knows what was going on wraps that part in ``stopping("the ingest stopped")``, and
the line says so: ``error: the ingest stopped: <why>``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from configuration.errors import UnexpectedError, as_panel_error
from configuration.settings import SettingsError, load_settings
from ingest import progress
from panelmatch.console import err, out
from schemas.danish_formats import today_in_denmark

if TYPE_CHECKING:
    from store.panel_store import PanelStore

#: Typer's own ways out of a command (``typer.Exit``, usage errors, Ctrl+C): never reworded.
_TYPERS_OWN = (typer.Exit, typer.Abort, typer.TyperException)


class Stopped(Exception):
    """``what`` stopped because of ``error`` (raised by ``stopping``, said by ``PanelGroup``)."""

    def __init__(self, what: str, error: Exception) -> None:
        super().__init__(what)
        self.what, self.error = what, error


@contextmanager
def stopping(what: str) -> Iterator[None]:
    """An error inside is said as ``what: <why>`` by the one handler (``PanelGroup``)."""
    try:
        yield
    except (*_TYPERS_OWN, Stopped):
        raise
    except Exception as error:
        raise Stopped(what, error) from error


class PanelGroup(TyperGroup):
    """The ``panel`` command group: every command runs inside ``invoke``, so this is the one
    place where an error becomes a message and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # ctx: click's Context, as Typer vendors it
        try:
            return super().invoke(ctx)
        except _TYPERS_OWN:
            raise
        except Stopped as stopped:
            fail(stopped.error, stopped.what)
        except Exception as error:
            if os.environ.get("PANEL_DEBUG"):
                raise
            fail(error, hint=True)


def fail(error: BaseException, what: str | None = None, *, hint: bool = False) -> NoReturn:
    """Say in one line why the command (or ``what``) stopped, and exit with the error's code."""
    said = as_panel_error(error)
    text = said.message
    # A setting to change is what to say, whatever step read the settings first.
    if what is not None and not isinstance(error, SettingsError):
        text = f"{what}: {text}"
    if hint and isinstance(said, UnexpectedError):
        text += " (PANEL_DEBUG=1 shows where)"
    err.print(f"[red]error:[/] {text}")
    raise typer.Exit(said.exit_code)


def open_store() -> PanelStore:
    """The configured store; one clear line and exit code 1 when it cannot be opened."""
    # Deferred, like every store module in the commands: the store brings SQLAlchemy, Alembic,
    # NumPy and PyArrow (about 1 s, three quarters of `panel --help`'s start-up if imported).
    from store.panel_store import PanelStore

    with stopping("cannot open the panel store"):
        return PanelStore.open(load_settings().store)


def today() -> date:
    """Today in Denmark: the default match date."""
    return today_in_denmark()


def match_date(text: str | None) -> date:
    """``--as-of`` (dd-mm-yyyy or yyyy-mm-dd), or today in Denmark."""
    if text is None:
        return today()
    for shape in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, shape).date()
        except ValueError:  # Python's own contract: not this shape, try the next
            continue
    err.print(f"[red]error:[/] --as-of {text!r} is not a date (dd-mm-yyyy or yyyy-mm-dd)")
    raise typer.Exit(1)


@contextmanager
def notices() -> Iterator[None]:
    """Print what a long run says on the way ("waiting for another ingest") on stderr."""
    progress.set_notices(lambda text: err.print(f"[yellow]{text}[/]"))
    try:
        yield
    finally:
        progress.set_notices(None)


@contextmanager
def progress_bars(enabled: bool) -> Iterator[None]:
    """Progress bars on stderr for the stages a long run reports (``ingest.progress``)."""
    if not enabled:
        yield
        return
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


#: How long uvicorn waits for a worker's health check before replacing it (see ``serve``).
WORKER_HEALTHCHECK_SECONDS = 60


def serve(factory: str, host: str, port: int, workers: int, what: str) -> None:
    """Serve the web app ``factory`` makes (``module:function``) on ``host``:``port`` with
    ``workers`` processes, until Ctrl+C; a port that cannot be listened on is one line."""
    import socket

    import uvicorn  # deferred: uvicorn only for the commands that serve

    open_store()  # migrated once, here, with one clear line if it cannot be opened
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:  # uvicorn would say so too, in a log line among others
            probe.bind((host, port))
        except OSError as error:
            err.print(f"[red]error:[/] cannot listen on {host}:{port}: {error.strerror}")
            raise typer.Exit(1) from None
    out.print(f"{what} on http://{host}:{port}/ (Ctrl+C stops it)")
    # No access log: an answer page's addresses hold volunteers' tokens, and who saw whom is
    # logged by the apps themselves. A worker importing the app on a busy machine may hold
    # the GIL for seconds: uvicorn's default 5 s health check then kills it and starts
    # another, over and over, and the app never comes up; a minute still replaces a hung one.
    uvicorn.run(
        factory, factory=True, host=host, port=port, workers=workers,
        log_level="warning", access_log=False,
        timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )  # fmt: skip
