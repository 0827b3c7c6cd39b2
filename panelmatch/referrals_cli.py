"""``panel referrals export``: a study's referrals (the volunteers who said yes, by name) as a
file for the study team's own systems, formula-safe, the same list the study team's page
shows. Each export writes the access log, one line per volunteer exported, under the
operator's name (``PANEL_ACTOR``, or ``--actor``)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from configuration.settings import load_settings
from panelmatch.command_base import open_store
from panelmatch.console import err, out
from schemas.act import Act

referrals_app = typer.Typer(
    help="The study team's referrals: the volunteers who said yes, by name.",
    no_args_is_help=True,
)

FORMATS = ("csv", "xlsx")


@referrals_app.command("export")
def export(
    study_id: Annotated[str, typer.Argument(help="The study's id.")],
    kind: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    output: Annotated[
        Path | None,
        typer.Option(help="The file to write (readable by its owner only).", show_default=False),
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Who exports, for the access log (default: PANEL_ACTOR).")
    ] = None,
) -> None:
    """Write a study's referrals to a file: name, e-mail, phone, preferred contact form, when
    they said yes, where the referral stands, and their screening answers.

    Only volunteers who can still be reached are in it: someone who withdraws or is erased
    after their yes is left out, and the study team must delete them from copies it took.
    """
    from review.candidate_export import write_csv, write_xlsx
    from review.referral_export import questions, referral_table
    from store import referral_list
    from store.studies import summary

    if kind not in FORMATS:
        _fail(f"--format is csv or xlsx (not '{kind}')")
    if output is None:
        _fail("say where to write it: --output FILE")
    if output.is_dir():
        _fail(f"{output} is a folder: name a file")
    act = Act(actor or load_settings().actor, datetime.now(UTC))
    with open_store().writing() as connection:
        study = summary(connection, study_id)
        if study is None:
            _fail(f"no published study {study_id!r} (see `panel study list`)")
        shown = referral_list.referral_list(connection, study_id)
        table = referral_table(shown, questions(connection, study))
        referral_list.log_shown(connection, act, study_id, f"referral export {kind}", shown)
        body = io.BytesIO()
        if kind == "csv":
            write_csv(table, body)
        else:
            write_xlsx(table, body, study_id)
        # Written before the access log commits: a file that could not be written was seen
        # by nobody, and the log rolls back with it.
        try:
            _write_private(output, body.getvalue())
        except OSError as error:
            _fail(f"cannot write {output}: {error.strerror}")
    out.print(f"{len(shown)} referrals of {study_id} written to {output}")


def _write_private(path: Path, data: bytes) -> None:
    """``data`` written to ``path``, readable and writable by its owner only (it holds names
    and contact details); an existing file is replaced."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # an existing file keeps its mode on open
        file.write(data)


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {message}")
    raise typer.Exit(1)
