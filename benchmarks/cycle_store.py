"""The cycle benchmark's stores, made once (each in a process of its own, with the store's
settings in its environment: ``PANEL_DATA_DIR``, ``PANEL_DATABASE_URL``, ``PANEL_PSEUDONYM_KEY``).

    python -m benchmarks.cycle_store panel EXPORT STUDIES AS_OF    # part 1: SQLite, via a cycle
    python -m benchmarks.cycle_store million EXPORT STUDIES AS_OF  # part 2: PostgreSQL, plainly

``panel``: the export is put in the inbox and one ``panel_cycle(AS_OF)`` runs (with Prefect's
temporary server), after STUDIES recruiting studies are published: the state "after last
night", every study matched as of AS_OF and the invitations due sent. ``million``: the export
ingested and the studies matched with the flows' own steps as plain functions (no Prefect: the
build is not measured), candidate lists stored. Both print one JSON line of what they did.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from schemas.act import Act

#: The file, in the store's data folder, that says the store is complete (what it holds).
BUILT = "built.json"


def publish_studies(count: int) -> list[str]:
    """``count`` study variants, published as recruiting into the configured store."""
    import yaml

    from benchmarks.study_variants import study_variants
    from configuration.settings import load_settings
    from schemas.study import StudyStatus
    from store import studies
    from store.panel_store import PanelStore

    store = PanelStore.open(load_settings().store)
    now = datetime.now(UTC)
    ids = []
    for definition in study_variants(count):
        study = definition.model_copy(update={"status": StudyStatus.RECRUITING})
        text = yaml.safe_dump(study.model_dump(mode="json", by_alias=True), allow_unicode=True)
        with store.writing() as connection:
            studies.publish(connection, study, text, Act("benchmark", now))
        ids.append(study.id)
    with store.reading() as connection:
        assert sorted(studies.recruiting(connection)) == sorted(ids)
    return ids


def build_panel(export: Path, studies: int, as_of: date) -> dict[str, Any]:
    from configuration.settings import load_settings
    from flows.cycle_flow import panel_cycle

    began = time.perf_counter()
    ids = publish_studies(studies)
    inbox = load_settings().cycle.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(export, inbox / "2026-10-31-signups.csv")
    summary = panel_cycle(as_of, "benchmark")
    files = summary.ingest.files
    assert [file.status for file in files] == ["accepted"], files
    assert len(summary.matched) == len(ids), summary.up_to_date
    return {
        "seconds": time.perf_counter() - began,
        "rows": files[0].rows,
        "stored": files[0].stored,
        "studies": len(ids),
        "candidates": sum(s.funnel.eligible + s.funnel.needs_screening for s in summary.matched),
        "invited": sum(len(plan.invite) for plan in summary.contact.plans)
        if summary.contact
        else 0,
    }


def build_million(export: Path, studies: int, as_of: date) -> dict[str, Any]:
    """Ingest and first match without Prefect, printing progress (it takes minutes)."""
    from ingest import gx_process

    gx_process.start()
    from configuration.settings import load_settings
    from flows.ingest_flow import PLAIN_STEPS, ingest_file
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.panel import prepare_panel
    from store import match_runs
    from store.panel_store import PanelStore
    from store.studies import current_definition

    began = time.perf_counter()
    store = PanelStore.open(load_settings().store)
    _progress(f"ingesting {export.name} into PostgreSQL (several minutes)", began)
    summary = ingest_file(store, export, "benchmark", load_settings().ingest, run=PLAIN_STEPS)
    assert summary.status == "accepted", summary.refusal
    _progress(
        f"ingested {summary.rows:,} rows, stored {summary.stored:,} "
        f"(stages: {', '.join(f'{k} {v:.1f} s' for k, v in summary.seconds.items())})",
        began,
    )
    ids = publish_studies(studies)
    with store.reading() as connection:
        profiles, _ = match_runs.contactable_panel(connection)
    panel = prepare_panel(profiles, as_of)
    _progress(f"read and prepared {len(profiles):,} contactable profiles", began)
    candidates = 0
    for number, study_id in enumerate(ids, 1):
        with store.reading() as connection:
            definition = current_definition(connection, study_id)
        assert definition is not None
        match = match_study(definition, panel)
        found = candidate_records(match)
        with store.writing() as connection:
            match_runs.record_match(
                connection,
                attrition_funnel(match),
                found,
                as_of,
                Act("benchmark", datetime.now(UTC)),
            )
        candidates += len(found)
        if number % 10 == 0:
            _progress(f"matched and stored {number} studies, {candidates:,} candidates", began)
    return {
        "seconds": time.perf_counter() - began,
        "rows": summary.rows,
        "stored": summary.stored,
        "studies": len(ids),
        "candidates": candidates,
        "invited": 0,
    }


def _progress(message: str, began: float) -> None:
    print(f"  [{time.perf_counter() - began:6.0f} s] {message}", file=sys.stderr, flush=True)


def main() -> None:
    from configuration.settings import load_settings

    kind, export, studies, as_of = sys.argv[1:5]
    build = build_panel if kind == "panel" else build_million
    built = build(Path(export), int(studies), date.fromisoformat(as_of))
    # The marker the benchmark looks for: written last, so a store half built is built again.
    (load_settings().data_dir / BUILT).write_text(json.dumps(built))
    print(json.dumps(built))


if __name__ == "__main__":
    main()
