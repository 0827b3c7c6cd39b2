"""``panel study ...``, ``panel match`` and ``panel candidates ...``: writing, checking and
publishing study definitions, previewing their reach, matching, and exporting candidates.

Only ``panel match`` runs a Prefect flow; the others never import Prefect.
"""

from __future__ import annotations

import json
import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from configuration.settings import load_settings
from flows.prefect_api import start_prefect
from panelmatch import reports
from panelmatch.command_base import match_date, open_store, stopping
from panelmatch.console import err, out
from schemas.act import Act
from schemas.review import CandidateQuery
from schemas.study import StudyDefinition
from schemas.study_file import LoadedStudy, load_study

study_app = typer.Typer(
    help="Write, check, publish and preview study definitions.", no_args_is_help=True
)
candidates_app = typer.Typer(help="Candidate lists of published studies.", no_args_is_help=True)

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="The match date (dd-mm-yyyy or yyyy-mm-dd): ages and months are counted on it. "
        "Default: today in Denmark.",
        show_default=False,
    ),
]


@study_app.command("check")
def check(
    files: Annotated[
        list[Path], typer.Argument(help="Study definition files (YAML).", show_default=False)
    ],
) -> None:
    """Check study files, reporting every error at once.

    Each error names file:line:column and the key, with a suggestion for a misspelt name;
    warnings point out contradictions and criteria nobody can meet. A valid file's codes are
    listed with what they mean (WHO's ICD-10 titles). Exit code 1 on errors.
    """
    loaded = [load_study(path) for path in files]
    for study in loaded:
        reports.print_study_check(out, err, study)
    errors = sum(len(study.errors) for study in loaded)
    warnings = sum(len(study.problems) for study in loaded) - errors
    out.print(f"{len(files)} file(s): {errors} error(s), {warnings} warning(s)")
    raise typer.Exit(1 if errors else 0)


@study_app.command("publish")
def publish(file: Annotated[Path, typer.Argument(help="A study definition file (YAML).")]) -> None:
    """Check a study file and store it as the study's current version.

    A changed file becomes a new version; the old ones are kept. A broken file is refused.
    """
    study = _valid(file)
    assert study.definition is not None  # _valid exits on errors
    from store.studies import publish as publish_study

    with open_store().writing() as connection:
        published = publish_study(
            connection, study.definition, study.text, Act(load_settings().actor, datetime.now(UTC))
        )
    if published.new:
        out.print(
            f"published {published.study_id} version {published.number} ({published.version})"
        )
    else:
        out.print(
            f"unchanged: {published.study_id} version {published.number} "
            f"({published.version}) is this very definition"
        )


@study_app.command("list")
def list_studies() -> None:
    """The published studies, their status and current version."""
    from store.studies import summaries

    with open_store().reading() as connection:
        reports.print_studies(out, summaries(connection))


@study_app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(help="A study definition file (YAML).")],
    as_of: AsOf = None,
    chart: Annotated[
        Path | None, typer.Option(help="Also draw the funnel into this file (.png or .svg).")
    ] = None,
) -> None:
    """How many volunteers a study would reach: its attrition funnel.

    Evaluated against the current panel, without publishing or storing anything; the codes
    the study uses are listed with what they mean.
    """
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from store.match_runs import matching_panel, panel_size

    study = _valid(file)
    assert study.definition is not None
    day = match_date(as_of)
    if chart is not None and chart.suffix.lower() not in (".png", ".svg"):
        err.print(f"[red]error:[/] --chart: {chart} must end in .png or .svg")
        raise typer.Exit(1)
    with open_store().reading() as connection:
        panel = matching_panel(connection, day, [study.definition])
        volunteers = panel_size(connection)
    funnel = attrition_funnel(match_study(study.definition, panel))
    reports.print_funnel(out, funnel, study.definition.title, day, volunteers)
    reports.print_codes(out, study.definition)
    if chart is not None:
        from panelmatch.funnel_chart import write_funnel_chart

        write_funnel_chart(funnel, study.definition.title, chart)
        out.print(f"chart: {chart}")


@study_app.command("schema")
def schema(
    output: Annotated[
        Path | None, typer.Option(help="Write it here instead of printing it.")
    ] = None,
) -> None:
    """The JSON Schema of study files, for editors' autocompletion."""
    text = json.dumps(StudyDefinition.json_schema(), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def match(
    study: Annotated[
        list[str] | None,
        typer.Option("--study", help="A study id (repeatable).", show_default=False),
    ] = None,
    all_studies: Annotated[
        bool, typer.Option("--all", help="Every recruiting study (the default without --study).")
    ] = False,
    as_of: AsOf = None,
) -> None:
    """Match published studies and store their candidate lists.

    Each candidate is kept with why they fit. Runs as a Prefect flow, one task per study.
    """
    from flows.match_flow import match_studies  # deferred: Prefect (seconds)
    from store.studies import summaries as published_studies

    day = match_date(as_of)
    if study and all_studies:
        err.print("[red]error:[/] give --study or --all, not both")
        raise typer.Exit(1)
    with open_store().reading() as connection:
        published = {summary.study_id: summary for summary in published_studies(connection)}
    unknown = [s for s in study or [] if s not in published]
    if unknown:
        err.print(
            f"[red]error:[/] no published study {', '.join(map(repr, unknown))} "
            "(see `panel study list`)"
        )
        raise typer.Exit(1)
    resting = [s for s in study or [] if published[s].status != "recruiting"]
    if resting:
        said = ", ".join(f"'{s}' is {published[s].status}" for s in resting)
        err.print(
            f"[red]error:[/] {said}: only recruiting studies are matched "
            "(`panel study preview FILE` shows any study's funnel)"
        )
        raise typer.Exit(1)
    with stopping("matching stopped"):
        start_prefect()
        summaries = match_studies(study or None, day)
    if not summaries:
        out.print("no recruiting studies to match (publish one with status: recruiting)")
    for summary in summaries:
        funnel = summary.funnel
        out.print(
            f"{summary.study_id} (version {summary.study_version}) as of {day:%d-%m-%Y}: "
            f"{funnel.eligible:,} eligible, {funnel.needs_screening:,} need screening, "
            f"of {funnel.start:,} contactable volunteers (match run {summary.match_run_id})"
        )


@candidates_app.command("export")
def export(
    study_id: Annotated[str, typer.Argument(help="The study's id.")],
    format: Annotated[str, typer.Option("--format", help="csv or xlsx.")] = "csv",
    output: Annotated[
        Path | None, typer.Option(help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Export a study's current candidates (CSV or XLSX).

    Pseudonymous volunteer id, status, what to screen, and per criterion the outcome and
    evidence. No names or contact details; cells are safe against formula injection.
    """
    from review.candidate_export import candidate_table, write_csv, write_xlsx
    from store.candidate_list import export_frame
    from store.studies import current_definition

    if format not in ("csv", "xlsx"):
        err.print(f"[red]error:[/] --format must be csv or xlsx, not {format!r}")
        raise typer.Exit(1)
    store = open_store()
    with store.reading() as connection:
        known = current_definition(connection, study_id) is not None
    if not known:
        err.print(f"[red]error:[/] no published study {study_id!r} (see `panel study list`)")
        raise typer.Exit(1)
    with store.reading() as connection:
        table = candidate_table(export_frame(connection, study_id, CandidateQuery()))
    if format == "xlsx" and output is None and sys.stdout.isatty():
        err.print("[red]error:[/] an XLSX file is binary: give --output or redirect the output")
        raise typer.Exit(1)
    with output.open("wb") if output else nullcontext(sys.stdout.buffer) as sink:
        if format == "csv":
            write_csv(table, sink)
        else:
            write_xlsx(table, sink, study_id)
    if output is not None:
        err.print(f"{len(table):,} candidates written to {output}")


def _valid(file: Path) -> LoadedStudy:
    study = load_study(file)
    if study.errors:
        reports.print_study_check(out, err, study)
        raise typer.Exit(1)
    for warning in study.problems:
        err.print(f"[yellow]{warning}[/]")
    return study
