"""The demo: the sample exports in ``data_samples/`` through the whole ingest, with a sentence
on what each step shows."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

import data_samples
from ingest.summary import IngestSummary
from panel import reports
from panel.settings import Settings
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
    from flows.match_flow import match_studies

    out.rule("step 6: studies", align="left")
    out.print(
        "[italic]The sample studies are checked and published; `panel match` matches every "
        "recruiting one against the volunteers who may be contacted, and keeps the candidate "
        "lists with why each candidate fits.[/]"
    )
    for path in sorted(STUDIES.glob("*.yaml")):
        loaded = load_study(path)
        assert loaded.definition is not None, loaded.problems
        published = store.publish_study(
            loaded.definition, loaded.text, "panel demo", datetime.now(UTC)
        )
        out.print(
            f"published {published.study_id} version {published.number} ({published.version})"
        )
    summaries = match_studies(None, as_of)
    _, panel_size = store.contactable_profiles()
    for summary in summaries:
        if summary.study_id == MODEL_STUDY:
            definition = store.study_definition(MODEL_STUDY)
            assert definition is not None
            reports.print_funnel(out, summary.funnel, definition.title, as_of, panel_size)
    for summary in summaries:
        funnel = summary.funnel
        out.print(
            f"{summary.study_id}: {funnel.eligible:,} eligible, {funnel.needs_screening:,} need "
            f"screening (`panel candidates export {summary.study_id}`)"
        )


def how_to_review(out: Console) -> None:
    out.rule("next: review the candidates", align="left")
    out.print(
        "[italic]The candidate lists are ready for coordinators. Create an account and start the "
        "review app:[/]\n"
        f"  panel users add you@example.dk --role coordinator --study {MODEL_STUDY}\n"
        "  panel review        # then open http://127.0.0.1:8000 and log in"
    )
