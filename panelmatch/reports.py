"""How the CLI shows things on a terminal. Only counts, pseudonymous ids and reasons: never a
name, an e-mail address or a health answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from configuration.errors import SmtpUrlError
from outreach.channels import SmtpChannel
from panelmatch.recruitment_report import print_recruitment

if TYPE_CHECKING:
    from datetime import date

    from configuration.settings import Settings
    from flows.cycle_flow import CycleSummary
    from ingest.summary import FileSummary, IngestSummary
    from matching.funnel import Funnel
    from schemas.study import StudyDefinition
    from schemas.study_file import LoadedStudy
    from store.audit import IngestRecord
    from store.delivery_status import StudyOutbox
    from store.overview import PanelOverview
    from store.recruitment_funnel import RecruitmentFunnel
    from store.studies import StudySummary

#: Quarantined rows listed per file on the terminal (``--json`` lists up to 1,000).
SHOWN_QUARANTINE = 20
#: Codes listed where the terminal counts codes WHO's ICD-10 does not know.
SHOWN_CODES = 10


def print_ingest(out: Console, err: Console, summary: IngestSummary) -> None:
    for file in summary.files:
        print_file(out, err, file)
    if len(summary.files) > 1:
        out.print(
            f"[bold]total[/]: {summary.rows:,} rows of accepted files = {summary.stored:,} stored"
            f" + {summary.quarantined:,} quarantined + {summary.known:,} known;"
            f" {summary.refused} of {len(summary.files)} files refused"
            f" ({summary.refused_rows:,} rows)"
            + (f", {summary.failed} failed" if summary.failed else "")
        )


def print_file(out: Console, err: Console, file: FileSummary) -> None:
    name = escape(file.file)
    if file.status != "accepted":
        for reason in file.refusal:
            err.print(f"[red]{file.status}[/] {name}: {escape(reason)}")
        _print_row_problems(err, file, "invalid")
        if file.data_docs:
            err.print(f"  Data Docs: {escape(file.data_docs)}")
        return
    out.print(f"[green]accepted[/] {name} ({file.kind} export, sha256 {(file.sha256 or '')[:12]})")
    out.print(
        f"  rows {file.rows:,} = stored {file.stored:,} + quarantined {file.quarantined:,}"
        f" + known {file.known:,}"
    )
    details = ", ".join(
        f"{key.replace('_', ' ')} {value:,}" for key, value in file.details.items() if value
    )
    if details:
        out.print(f"  [dim]{escape(details)}[/]")
    if file.unknown_diagnoses:
        out.print(
            f"  diagnoses not in WHO's ICD-10 (stored as given): "
            f"{escape(_most_frequent(file.unknown_diagnoses, 'row', 'rows'))}"
        )
    _print_row_problems(out, file, "quarantined")
    if file.data_docs:
        out.print(f"  Data Docs: {escape(file.data_docs)}")


def _print_row_problems(console: Console, file: FileSummary, label: str) -> None:
    for row in file.quarantine[:SHOWN_QUARANTINE]:
        ident = f" {row.submission_id}" if row.submission_id else ""
        for problem in row.problems:
            console.print(f"  [yellow]{label}[/] line {row.line}{escape(ident)}: {escape(problem)}")
    if len(file.quarantine) > SHOWN_QUARANTINE or not file.quarantine_listed_all:
        console.print(f"  ... and more {label} rows (--json lists up to 1,000)")


def _most_frequent(counts: Mapping[str, int], one: str, many: str) -> str:
    """``G25.8A (3 rows), DE119 (1 row) and 4 more codes``: the first ``SHOWN_CODES``."""
    shown = [
        f"{code} ({count:,} {one if count == 1 else many})"
        for code, count in list(counts.items())[:SHOWN_CODES]
    ]
    rest = len(counts) - len(shown)
    return ", ".join(shown) + (f" and {rest:,} more code{'s' * (rest != 1)}" if rest else "")


def print_overview(
    out: Console,
    overview: PanelOverview,
    outbox: Sequence[StudyOutbox],
    ingests: list[IngestRecord],
    unknown_diagnoses: Mapping[str, int] | None = None,
    recruitment: Sequence[RecruitmentFunnel] = (),
) -> None:
    out.print(
        f"[bold]panel[/]: {overview.volunteers:,} volunteers ({overview.contactable:,} may be "
        f"contacted, {overview.withdrawn:,} withdrawn), {overview.erased:,} erased, "
        f"{overview.profiles:,} profile versions, {overview.quarantined_open:,} rows in quarantine"
    )
    if unknown_diagnoses:
        out.print(
            "diagnoses not in WHO's ICD-10 (Danish extensions, stored as given), most frequent "
            f"in current profiles: "
            f"{escape(_most_frequent(unknown_diagnoses, 'volunteer', 'volunteers'))}"
        )
    print_outbox(out, outbox)
    print_recruitment(out, recruitment)
    if not ingests:
        return
    out.print("latest ingests (audit log):")
    for run in ingests:
        when = run.started_at.strftime("%Y-%m-%d %H:%M UTC")
        if run.rows is not None:
            counts = (
                f": {run.rows:,} rows = {run.stored:,} stored + {run.quarantined:,} quarantined"
                f" + {run.known:,} known"
            )
        else:
            counts = f" ({escape(run.message)})" if run.message else ""
        out.print(
            f"  #{run.ingest_id} {when} {escape(run.file_name)} ({run.kind or 'not an export'})"
            f" {run.status}{counts}, by {escape(run.actor)}"
        )


def print_outbox(out: Console, outbox: Sequence[StudyOutbox]) -> None:
    """Each study's invitations by step of delivery, one line a study (steps with none left
    out)."""
    if not outbox:
        return
    out.print("invitations by study (outbox):")
    for study in outbox:
        steps = [f"{study.queued:,} queued"] if study.queued else []
        if study.waiting_to_retry:
            steps.append(
                f"{study.waiting_to_retry:,} waiting to retry (next {_when(study.next_retry_at)})"
            )
        if study.sending:
            abandoned = study.sending_abandoned
            steps.append(
                f"{study.sending:,} being sent ({abandoned:,} left by a sender that died: "
                f"taken over by the next run)"
                if abandoned
                else f"{study.sending:,} being sent (taken over from {_when(study.takeover_at)}"
                " if its sender dies)"
            )
        steps += [
            f"{count:,} {step}"
            for step, count in (
                ("sent", study.sent),
                ("failed", study.failed),
                ("cancelled", study.cancelled),
            )
            if count
        ]
        out.print(f"  {study.study_id}: {', '.join(steps)}")


def outbox_as_json(outbox: Sequence[StudyOutbox]) -> list[dict[str, object]]:
    return [
        {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in asdict(study).items()
        }
        for study in outbox
    ]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def print_settings(out: Console, settings: Settings) -> None:
    table = Table(
        title="configuration (environment variables PANEL_*, or a .env file)", title_justify="left"
    )
    table.add_column("variable")
    table.add_column("value")
    table.add_column("meaning")
    values = {
        "PANEL_DATA_DIR": str(settings.data_dir),
        "PANEL_DATABASE_URL": _hide_password(settings.store.database_url),
        "PANEL_QUARANTINE_THRESHOLD": f"{settings.quarantine_threshold:g}",
        "PANEL_PSEUDONYM_KEY": "(set)"
        if settings.pseudonym_key
        else f"(from {settings.data_dir / 'pseudonym.key'})",
        "PANEL_ACTOR": settings.actor,
        "PANEL_VALIDATION_WORKERS": str(settings.validation_workers),
        "PANEL_SMTP_URL": _smtp(settings),
        "PANEL_OUTBOX_DIR": str(settings.outreach.outbox_dir),
        "PANEL_SMS_DIR": str(settings.outreach.sms_dir),
        "PANEL_MAIL_FROM": settings.mail_from,
        "PANEL_UNSUBSCRIBE": settings.unsubscribe or "(none)",
        "PANEL_STOP_CONTACT": settings.stop_contact,
        "PANEL_TEMPLATE_DIR": str(settings.template_dir or "(the built-in templates)"),
        "PANEL_PUBLIC_URL": settings.public_url or "(none: invitations carry no answer link)",
        "PANEL_ANSWER_DAYS": str(settings.answer_days),
        **{
            f"PANEL_{name.upper()}": f"{getattr(settings, name):g}"
            for name in (
                "contact_min_days",
                "contact_max_per_window",
                "contact_window_days",
                "send_max_attempts",
                "send_backoff_seconds",
                "send_lease_seconds",
            )
        },
    }
    for name, value in values.items():
        field = type(settings).model_fields[name.removeprefix("PANEL_").lower()]
        table.add_row(name, escape(value), escape(field.description or ""))
    out.print(table)


def _smtp(settings: Settings) -> str:
    if settings.smtp_url is None:
        return "(none: e-mails are written as .eml files to the outbox folder)"
    try:
        return SmtpChannel(settings.smtp_url.get_secret_value()).describe()
    except SmtpUrlError as error:
        return f"(not usable: {error})"


def _hide_password(url: str) -> str:
    from sqlalchemy.engine import make_url  # deferred: SQLAlchemy costs `panel config` ~0.3 s

    return make_url(url).render_as_string(hide_password=True)


def print_study_check(out: Console, err: Console, loaded: LoadedStudy) -> None:
    for problem in loaded.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        (err if problem.severity == "error" else out).print(f"[{colour}]{escape(str(problem))}[/]")
    if loaded.definition is not None:
        definition = loaded.definition
        out.print(
            f"[green]ok[/] {escape(str(loaded.path))}: study {definition.id} "
            f"({definition.status.value}), version {definition.version}, "
            f"{len(definition.criteria())} criteria"
        )
        print_codes(out, definition)


def print_codes(out: Console, definition: StudyDefinition) -> None:
    """Each code criterion's codes with what they mean (WHO's ICD-10 titles; for ATC, whose
    titles are licensed and not shipped, the level), so a researcher sees what they wrote."""
    from schemas.code_lists import described
    from schemas.codes import CodeSystem
    from schemas.study import CodeCriterion

    lines = []
    for criterion in definition.criteria():
        if not isinstance(criterion, CodeCriterion):
            continue
        system = CodeSystem.ICD10 if criterion.system == "diagnoses" else CodeSystem.ATC
        said = "; ".join(described(system, code) for code in criterion.codes.any_of)
        if criterion.codes.except_:
            said += "; except " + "; ".join(
                described(system, code) for code in criterion.codes.except_
            )
        if criterion.window is not None:
            said += f"; {criterion.window}"
        if criterion.if_met.value == "screen":
            said += "; if met: screen"
        lines.append(f"  {criterion.id} ({criterion.system}): {escape(said)}")
    if lines:
        out.print("codes:")
        for line in lines:
            out.print(line, soft_wrap=True)


def print_studies(out: Console, studies: list[StudySummary]) -> None:
    if not studies:
        out.print("no published studies (publish one with `panel study publish FILE`)")
        return
    for study in studies:
        out.print(
            f"{study.study_id}: {escape(study.title)} — {study.status}, target "
            f"{study.recruitment_target:,}; version {study.number} of {study.versions} "
            f"({study.version}), published {study.published_at:%Y-%m-%d %H:%M} UTC"
        )


def print_funnel(out: Console, funnel: Funnel, title: str, as_of: date, panel_size: int) -> None:
    table = Table(
        title=f"{escape(title)} ({funnel.study_id}, version {funnel.study_version}) as of "
        f"{as_of:%d-%m-%Y}",
        title_justify="left",
    )
    for column, justify in (
        ("step", "left"),
        ("remaining", "right"),
        ("lost", "right"),
        ("lost only here", "right"),
        ("unknown", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    table.add_row("panel (not erased)", f"{panel_size:,}", "", "", "")
    table.add_row(
        "may be contacted (consent, not withdrawn)",
        f"{funnel.start:,}",
        f"{panel_size - funnel.start:,}",
        "",
        "",
    )
    for step in funnel.steps:
        name = step.label if step.kind == "inclusion" else f"not: {step.label}"
        table.add_row(
            escape(name),
            f"{step.remaining:,}",
            f"{step.lost:,}",
            f"{step.lost_only_here:,}",
            f"{step.unknown:,}",
        )
    out.print(table)
    out.print(
        f"[bold]{funnel.eligible:,} eligible[/], {funnel.needs_screening:,} need screening "
        "(an unknown answer decides: the coordinator asks)"
    )


def print_cycle(out: Console, cycle: CycleSummary) -> None:
    """A cycle in a few lines: the exports, each recruiting study, the invitations."""
    files = ", ".join(Path(f.file).name for f in cycle.ingest.files) or "nothing new"
    out.print(
        f"cycle of {cycle.as_of:%d-%m-%Y}: {len(cycle.ingest.files)} export(s) ({files}), "
        f"{cycle.ingest.stored:,} rows stored"
    )
    for matched in cycle.matched:
        funnel = matched.funnel
        out.print(
            f"  {matched.study_id}: {funnel.eligible:,} eligible, {funnel.needs_screening:,} "
            f"need screening, {matched.new_candidates:,} new"
        )
    for study_id in cycle.up_to_date:
        out.print(f"  {study_id}: up to date")
    if cycle.contact is not None and cycle.contact.sent is not None:
        sent = cycle.contact.sent
        queued = sum(len(plan.invite) for plan in cycle.contact.plans)
        out.print(
            f"  invitations: {queued:,} queued, {sent.sent:,} sent, {len(sent.failed)} failed"
        )
    reminded = None if cycle.contact is None else cycle.contact.reminders_sent
    if reminded is not None and (reminded.sent or reminded.failed):
        out.print(f"  reminders: {reminded.sent:,} sent, {len(reminded.failed)} failed")
