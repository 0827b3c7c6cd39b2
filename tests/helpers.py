"""Helpers for tests: writing small exports, ingesting without Prefect, looking into the store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from configuration.settings import load_settings
from data_samples.export_writer import write_export
from flows.ingest_flow import PLAIN_STEPS, ingest_file
from ingest.summary import IngestSummary
from matching.candidates import candidate_records
from matching.engine import match_study
from matching.funnel import Funnel, attrition_funnel
from matching.panel import prepare_panel
from schemas.act import Act
from schemas.review import CandidateQuery, Role
from schemas.signup import SIGNUP_COLUMNS
from schemas.study import StudyDefinition
from schemas.study_file import load_study
from schemas.withdrawal import WITHDRAWAL_COLUMNS
from store import candidate_list, match_runs, studies
from store.delivery_status import StudyOutbox, delivery_status
from store.ingest_runs import ingest_lock
from store.overview import PanelOverview
from store.overview import overview as panel_overview
from store.panel_store import PanelStore
from store.tables import Base, Candidate

#: Tables holding panel data (the audit log and the archive register are not panel data).
PANEL_TABLES = [
    table
    for table in Base.metadata.sorted_tables
    if table.name not in ("ingest_run", "archived_file")
]


def signup(**cells: str) -> dict[str, str]:
    """A valid signups row; keyword arguments replace cells."""
    base = {
        "indsendelse_id": "00000000-0000-4000-8000-000000000001",
        "indsendt": "02-03-2026 21:14:05",
        "fornavn": "Søren",
        "efternavn": "Ærbø",
        "email": "soeren@example.dk",
        "telefon": "+45 20 11 22 33",
        "foedselsdato": "14-07-1961",
        "koen": "Mand",
        "postnummer": "8000",
        "hoejde_cm": "182",
        "vaegt_kg": "88,5",
        "diagnoser": "G25.8",
        "medicin": "INGEN",
        "gravid": "",
        "ryger": "Nej",
        "rls_trang": "Ja",
        "rls_hvile": "Ja",
        "rls_bevaegelse": "Ja",
        "rls_aften": "Ja",
        "rls_naetter_pr_uge": "5",
        "soevnkvalitet": "2",
        "samtykke_kontakt": "Ja",
        "kontaktform": "email",
        "andet": "",
    }
    unknown = set(cells) - set(SIGNUP_COLUMNS)
    if unknown:
        raise KeyError(f"not columns of the signups export: {sorted(unknown)}")
    return base | cells


def submission_id(number: int) -> str:
    return f"00000000-0000-4000-8000-{number:012d}"


def write_signups(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    write_export(path, SIGNUP_COLUMNS, rows)
    return path


def write_withdrawals(path: Path, rows: Sequence[tuple[str, str, str]]) -> Path:
    write_export(
        path, WITHDRAWAL_COLUMNS, [dict(zip(WITHDRAWAL_COLUMNS, row, strict=True)) for row in rows]
    )
    return path


def ingest(store: PanelStore, *paths: Path) -> IngestSummary:
    """The flow's own sequence of steps, under its lock, run as plain functions (no Prefect)."""
    settings = load_settings()
    with ingest_lock(store, wait=True, on_wait=print):
        return IngestSummary(
            files=[
                ingest_file(store, path, "test-steward", settings.ingest, run=PLAIN_STEPS)
                for path in paths
            ]
        )


def snapshot(store: PanelStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every panel table, sorted: equal snapshots mean an unchanged panel."""
    with store.engine.connect() as connection:
        return {
            table.name: sorted(
                (tuple(str(v) for v in row) for row in connection.execute(select(table))),
            )
            for table in PANEL_TABLES
        }


def study_mapping(
    inclusion: list[dict[str, Any]],
    exclusion: Sequence[dict[str, Any]] = (),
    *,
    study_id: str = "case",
    status: str = "draft",
) -> dict[str, Any]:
    """A study as a study file writes it, of these criteria, the rest filled in."""
    return {
        "id": study_id,
        "title": study_id,
        "status": status,
        "recruitment_target": 1,
        "contact": {"organiser": "x", "reply_to": "x@example.dk"},
        "inclusion": inclusion,
        "exclusion": list(exclusion),
    }


def study_of(
    inclusion: list[dict[str, Any]],
    exclusion: Sequence[dict[str, Any]] = (),
    *,
    study_id: str = "case",
    status: str = "draft",
) -> StudyDefinition:
    """A study of these criteria (dicts as a study file writes them), the rest filled in."""
    return StudyDefinition.model_validate(
        study_mapping(inclusion, exclusion, study_id=study_id, status=status)
    )


# --- studies and candidate lists ----------------------------------------------------------

SAMPLES = Path(__file__).parent.parent / "data_samples"
STUDIES = SAMPLES / "studies"
RLS = "rls-magnesium"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 28)


def publish(store: PanelStore, path: Path, text: str | None = None) -> object:
    loaded = load_study(path)
    assert loaded.definition is not None
    with store.writing() as connection:
        return studies.publish(
            connection, loaded.definition, text or loaded.text, Act("researcher", NOW)
        )


def rls_person(number: int, **cells: str) -> dict[str, str]:
    return signup(
        **{
            "indsendelse_id": submission_id(number),
            "email": f"p{number}@example.dk",
            "diagnoser": "G25.8",
            **cells,
        }
    )


def match_and_record(
    store: PanelStore, study_id: str, as_of: date = AS_OF
) -> list[tuple[str, str]]:
    profiles, _ = contactable(store)
    study = definition(store, study_id)
    assert study is not None
    match = match_study(study, prepare_panel(profiles, as_of))
    record_match(store, attrition_funnel(match), candidate_records(match), as_of, "test", NOW)
    with store.engine.connect() as connection:
        return sorted(
            (row.volunteer_id, row.status)
            for row in connection.execute(select(Candidate.volunteer_id, Candidate.status))
        )


def everyone(
    store: PanelStore, study: str = RLS, **filters: object
) -> list[candidate_list.CandidateRow]:
    """Every candidate on ``study``'s list that ``filters`` select, page by page."""
    rows, page = [], 1
    while True:
        query = CandidateQuery.model_validate({**filters, "page": page})
        with store.engine.connect() as connection:
            found = candidate_list.candidate_page(connection, study, query)
        rows += found.rows
        if page >= found.pages:
            return rows
        page += 1


#: The password of every review user the tests add.
PASSWORD = "a long enough passphrase"


def add_user(store: PanelStore, email: str, role: Role, *studies: str) -> None:
    """A review user with ``PASSWORD``, granted ``studies``."""
    from review.passwords import hash_password
    from store import review_users

    now = datetime.now(UTC)
    with store.engine.begin() as connection:
        user_id = review_users.add_user(
            connection, email, role, hash_password(PASSWORD), Act("t", now)
        )
        review_users.grant(connection, user_id, list(studies), Act("t", now))


# --- the store's reads and writes, each in a connection of its own -----------------------


def overview(store: PanelStore) -> PanelOverview:
    with store.reading() as connection:
        return panel_overview(connection)


def published(store: PanelStore) -> list[studies.StudySummary]:
    with store.reading() as connection:
        return studies.summaries(connection)


def definition(store: PanelStore, study_id: str) -> StudyDefinition | None:
    with store.reading() as connection:
        return studies.current_definition(connection, study_id)


def contactable(store: PanelStore) -> tuple[pd.DataFrame, int]:
    with store.reading() as connection:
        return match_runs.contactable_panel(connection)


def record_match(
    store: PanelStore, funnel: Funnel, found: pd.DataFrame, as_of: date, actor: str, now: datetime
) -> match_runs.RecordedMatch:
    with store.writing() as connection:
        return match_runs.record_match(connection, funnel, found, as_of, Act(actor, now))


def whole_list(store: PanelStore, study_id: str) -> pd.DataFrame:
    """The study's whole candidate list, with explanations, as a spreadsheet has it."""
    with store.reading() as connection:
        return candidate_list.export_frame(connection, study_id, CandidateQuery())


def outbox(store: PanelStore, now: datetime, lease: float) -> list[StudyOutbox]:
    with store.reading() as connection:
        return delivery_status(connection, now, lease)
