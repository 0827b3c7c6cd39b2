"""The demo: the sample exports in ``data_samples/`` through the whole ingest, with a sentence
on what each step shows."""

from __future__ import annotations

import email
import email.message
import email.policy
import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

import data_samples
from configuration.settings import Settings, load_settings
from ingest.summary import IngestSummary
from panelmatch import reports
from schemas.act import Act
from schemas.review import Action, CandidateQuery
from schemas.study_file import load_study

if TYPE_CHECKING:
    from store.panel_store import PanelStore

SAMPLES = Path(data_samples.__file__).parent
MARKER = ".made-by-panel-demo"

STEPS: list[tuple[str, str]] = [
    (
        "signups.csv",
        "A signup export: every row is validated; the few damaged rows go to quarantine with "
        "their reasons, the rest become volunteers with versioned profiles.",
    ),
    ("signups.csv", "The same export again: every row is known, nothing is added."),
    (
        "afmeldinger.csv",
        "Withdrawals: 'afmeld' stops all contact; 'slet' erases the person from the store, the "
        "quarantine and the raw archive, leaving a keyed hash and the time.",
    ),
    (
        "signups_reexport.csv",
        "A later full re-export: only new submissions are stored. Erased people in it do not "
        "come back (known), unless they signed up again after their erasure; a late-arriving "
        "older submission never replaces a newer profile.",
    ),
    (
        "broken/column_renamed.csv",
        "A damaged export (a column renamed after a form change): refused as a whole, nothing "
        "changes; exit code 1 in `panel ingest`.",
    ),
]


STUDIES = SAMPLES / "studies"
#: The study whose funnel the demo draws.
MODEL_STUDY = "rls-magnesium"


def sample_files() -> list[tuple[Path, str]]:
    return [(SAMPLES / name, what) for name, what in STEPS]


def reset_store(settings: Settings) -> str | None:
    """Empty the embedded store for a fresh demo; a reason instead when that is not safe."""
    if settings.database_url:
        return "--fresh only resets the embedded SQLite store; PANEL_DATABASE_URL is set"
    folder = settings.data_dir
    if folder.exists() and any(folder.iterdir()) and not (folder / MARKER).exists():
        return f"{folder} holds data the demo did not make; set PANEL_DATA_DIR to another folder"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / MARKER).write_text("This folder was made by `panel demo --fresh`.\n")
    return None


def narrate(
    out: Console, err: Console, files: list[tuple[Path, str]], summary: IngestSummary
) -> None:
    for step, ((path, what), file) in enumerate(zip(files, summary.files, strict=True), start=1):
        out.rule(f"step {step}: {path.relative_to(SAMPLES.parent)}", align="left")
        out.print(f"[italic]{what}[/]")
        reports.print_file(out, err, file)
    out.rule()


def publish_and_match(out: Console, err: Console, store: PanelStore, as_of: date) -> None:
    """Publish the sample studies, match them (a Prefect flow run), show the model study's
    funnel and every study's candidate counts."""
    # Deferred, here and below: Prefect (flows.*) and the store's modules cost seconds, and
    # panelmatch.cli imports this module for every command.
    from flows.match_flow import match_studies
    from store import match_runs, studies

    out.rule("step 6: studies", align="left")
    out.print(
        "[italic]The sample studies are checked and published; `panel match` matches every "
        "recruiting one against the volunteers who may be contacted, and keeps the candidate "
        "lists with why each candidate fits.[/]"
    )
    for path in sorted(STUDIES.glob("*.yaml")):
        loaded = load_study(path)
        assert loaded.definition is not None, loaded.problems
        with store.writing() as connection:
            published = studies.publish(
                connection, loaded.definition, loaded.text, Act("panel demo", datetime.now(UTC))
            )
        out.print(
            f"published {published.study_id} version {published.number} ({published.version})"
        )
    summaries = match_studies(None, as_of)
    with store.reading() as connection:
        _, panel_size = match_runs.contactable_panel(connection)
    for summary in summaries:
        if summary.study_id == MODEL_STUDY:
            with store.reading() as connection:
                definition = studies.current_definition(connection, MODEL_STUDY)
            assert definition is not None
            reports.print_funnel(out, summary.funnel, definition.title, as_of, panel_size)
    for summary in summaries:
        funnel = summary.funnel
        out.print(
            f"{summary.study_id}: {funnel.eligible:,} eligible, {funnel.needs_screening:,} need "
            f"screening (`panel candidates export {summary.study_id}`)"
        )


def approve_and_contact(out: Console, err: Console, store: PanelStore, as_of: date) -> None:
    """A coordinator approves the RLS trial's eligible candidates (as `panel candidates decide
    --all-eligible` would); the sleep study approves its eligible candidates itself; then the
    outreach flow invites those who still fit and still consent."""
    from flows.contact_flow import contact_volunteers
    from store import decisions

    out.rule("step 7: invitations", align="left")
    out.print(
        "[italic]A coordinator approves every eligible candidate of the RLS trial; the sleep "
        "study approves its eligible candidates itself. `panel contact` then checks every rule "
        "again at the moment of sending and writes each invitation as an .eml file (no mail "
        "server needed; set PANEL_SMTP_URL to send for real).[/]"
    )
    with store.writing() as connection:
        approved = decisions.decide_all(
            connection,
            MODEL_STUDY,
            CandidateQuery(status="eligible"),
            Action.APPROVE,
            act=Act("panel demo", datetime.now(UTC)),
        )
    out.print(f"{MODEL_STUDY}: {approved.decided:,} eligible candidates approved by 'panel demo'")
    run = contact_volunteers(None, as_of, actor="panel demo")
    for plan in run.plans:
        held = ", ".join(f"{rule.value} {len(ids):,}" for rule, ids in plan.held_back.items())
        out.print(f"{plan.study_id}: {len(plan.invite):,} invited; held back: {held or 'none'}")
    assert run.sent is not None
    outbox_dir = load_settings().outreach.outbox_dir
    files = sorted(outbox_dir.glob("*.eml"))
    out.print(
        f"sent {run.sent.sent:,}: {len(files):,} e-mails in {outbox_dir}, SMS invitations in "
        f"{load_settings().outreach.sms_dir}"
    )
    if files:
        _show_one(out, files[0])


def _show_one(out: Console, path: Path) -> None:
    """One invitation as the volunteer sees it: no health detail, no criteria."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    body = message.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    out.print(f"[dim]{path.name}[/]")
    for header in ("From", "To", "Subject", "Message-ID"):
        out.print(f"[bold]{header}:[/] {escape(str(message[header]))}")
    out.print(escape(text.replace("\r\n", "\n").strip()), soft_wrap=True)


def volunteers_answer(out: Console, store: PanelStore, as_of: date) -> None:
    """The invited volunteers follow their answer links; the study team gets the names of
    those who said yes (``panelmatch.demo_answers``)."""
    from panelmatch import demo_answers

    out.rule("step 8: answers", align="left")
    out.print(
        "[italic]Each invitation carries its volunteer's own answer link to the answer page "
        "(`panel respond`, served here on loopback). A coordinator approves one RLS candidate "
        "who needs screening, and they are invited too. The volunteers follow their links: some "
        "say yes, some no, one 'Kontakt mig ikke igen' (withdrawn from every study at once); "
        "the one invited while some criteria were unknown says yes and is asked exactly those "
        "questions. The study team then gets the names of those who said yes and passed, and "
        "nobody else's.[/]"
    )
    demo_answers.approve_one_to_screen(out, store, as_of)
    demo_answers.answer_invitations(out, store)
    demo_answers.study_team_takes(out, store)


def nightly_cycle(out: Console, err: Console, as_of: date) -> None:
    """The next night: a new export lands in the inbox and one cycle (the flow `panel serve`
    runs at 02:00) takes it in, matches and invites; a second cycle finds nothing to do."""
    from flows.cycle_flow import panel_cycle

    settings = load_settings()
    out.rule("step 9: the nightly cycle", align="left")
    out.print(
        "[italic]A new export arrives in the inbox. One cycle (`panel cycle`; `panel serve` "
        "runs it every night) ingests it, matches every recruiting study again and invites "
        "whoever is now due, in waves sized from the answers so far; the export moves to the "
        "processed folder. A second cycle finds nothing new and changes nothing.[/]"
    )
    settings.cycle.inbox_dir.mkdir(parents=True, exist_ok=True)
    for export in sorted((SAMPLES / "inbox").glob("*.csv")):
        shutil.copy(export, settings.cycle.inbox_dir / export.name)
    for _ in (1, 2):
        cycle = panel_cycle(as_of)
        reports.print_cycle(out, cycle)
        for plan in cycle.contact.plans if cycle.contact else []:
            if plan.wave is not None:
                out.print(f"    {plan.study_id}: {plan.wave.words()}")


def how_to_review(out: Console) -> None:
    out.rule("next: review the candidates", align="left")
    out.print(
        "[italic]The candidate lists are ready for coordinators. Create an account and start the "
        "review app:[/]\n"
        f"  panel users add you@example.dk --role coordinator --study {MODEL_STUDY}\n"
        "  panel review        # then open http://127.0.0.1:8000 and log in"
    )
