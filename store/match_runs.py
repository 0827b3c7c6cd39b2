"""What matching reads (the contactable panel) and writes (match runs, candidate lists).

The panel given to matching is every volunteer who may be contacted now: current consent on
their current profile, not withdrawn since it was submitted, not erased. Nobody else is ever
evaluated, whatever a study says. Contact details are never read here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    Connection,
    func,
    insert,
    or_,
    select,
    text,
)
from sqlalchemy.orm import aliased

from matching.engine import looks_back
from matching.funnel import Funnel
from matching.history import HISTORY_SCHEMA
from matching.panel import PROFILE_SCHEMA, PreparedPanel, prepare_panel
from schemas.act import Act
from schemas.study import StudyDefinition
from store.arrow_read import read_arrow
from store.bulk import record_columns
from store.candidate_changes import ListChanges, list_changes, write_changes
from store.database import begin_as_writer
from store.partitions import WHOLE, Part, in_part
from store.studies import current_definition
from store.tables import CURRENT_PROFILE, IngestRun, MatchRun, Profile, Study, Volunteer


def contactable_profiles(connection: Connection, part: Part = WHOLE) -> pd.DataFrame:
    """The current profile of every volunteer who may be contacted now, in volunteer id order
    (Arrow-backed columns: see ``store.arrow_read``); with ``part``, only those whose id is
    at least its first bound and below its second (None: open)."""
    statement = (
        select(
            Volunteer.volunteer_id,
            *(getattr(Profile, name) for name in PROFILE_SCHEMA.names[1:]),
        )
        .join(Profile, CURRENT_PROFILE)
        .where(*contactable(), *in_part(Volunteer.volunteer_id, part))
    )
    # Sorting here, not in SQL: ORDER BY walks the volunteer index row by row (2 s a million).
    table = read_arrow(connection, statement, PROFILE_SCHEMA)
    return table.sort_by("volunteer_id").to_pandas(types_mapper=pd.ArrowDtype)


def matching_panel(
    connection: Connection, as_of: date, studies: Iterable[StudyDefinition], part: Part = WHOLE
) -> PreparedPanel:
    """The contactable panel (or a part of it) prepared for matching ``studies`` as of
    ``as_of``: with every profile version when one of them looks back."""
    versions = profile_history(connection, part) if looks_back(studies) else None
    return prepare_panel(contactable_profiles(connection, part), as_of, versions)


def profile_history(connection: Connection, part: Part = WHOLE) -> pd.DataFrame:
    """Every profile version of the volunteers ``contactable_profiles`` reads, the current one
    included, that was submitted after their latest withdrawal (what someone said before
    withdrawing is never used again): what criteria with a window read (``matching.history``).
    Rows in no particular order."""
    version = aliased(Profile)
    statement = (
        select(
            Volunteer.volunteer_id,
            *(getattr(version, name) for name in HISTORY_SCHEMA.names[1:]),
        )
        .join(Profile, CURRENT_PROFILE)
        .join(version, version.volunteer_id == Volunteer.volunteer_id)
        .where(
            *contactable(),
            *in_part(Volunteer.volunteer_id, part),
            or_(Volunteer.withdrawn_at.is_(None), Volunteer.withdrawn_at < version.submitted_at),
        )
    )
    table = read_arrow(connection, statement, HISTORY_SCHEMA)
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def contactable() -> list[Any]:
    """The conditions, on ``volunteer`` joined with its current ``profile``, for being
    contactable: consent now, no withdrawal since the profile was submitted, not erased."""
    return [
        Volunteer.erased_at.is_(None),
        Profile.consent_contact.is_(True),
        or_(Volunteer.withdrawn_at.is_(None), Volunteer.withdrawn_at < Profile.submitted_at),
    ]


def panel_size(connection: Connection) -> int:
    """Every volunteer not erased (contactable or not), for the funnel's first line."""
    return int(
        connection.scalar(
            select(func.count()).select_from(Volunteer).where(Volunteer.erased_at.is_(None))
        )
        or 0
    )


def contactable_panel(connection: Connection) -> tuple[pd.DataFrame, int]:
    """The current profiles of everyone who may be contacted, and the panel's size."""
    return contactable_profiles(connection), panel_size(connection)


@dataclass(frozen=True)
class RecordedMatch:
    match_run_id: int
    #: Candidates new on the list.
    added: int


def record_match(
    connection: Connection,
    funnel: Funnel,
    candidates: pd.DataFrame,
    as_of: date,
    act: Act,
) -> RecordedMatch:
    """Record the run and bring the study's candidate list up to date: new candidates are
    added, known ones updated where their outcome changed, and those who no longer fit are
    marked, not deleted (``store.candidate_changes``).

    ``candidates``: volunteer_id, submission_id, status, unknown_criteria and explanation as
    JSON text, age, sex and region (``matching.candidates``)."""
    hold_list(connection, funnel.study_id)
    changes = list_changes(connection, funnel.study_id, funnel.study_version, candidates)
    return record_changes(connection, funnel, changes, as_of, act)


def hold_list(connection: Connection, study_id: str) -> None:
    """Hold the study's candidate list for this transaction, before it is read: two runs
    matching one study at once (two cycles, say) then record one after the other, the second
    on the list as the first left it. On SQLite the transaction becomes the writer first (a
    read-then-write transaction fails at once when another wrote in between); on PostgreSQL
    the study's row is locked (both would otherwise add the same new candidates)."""
    if connection.dialect.name == "sqlite":
        begin_as_writer(connection)
    else:
        connection.execute(
            select(Study.study_id).where(Study.study_id == study_id).with_for_update()
        )


def record_changes(
    connection: Connection,
    funnel: Funnel,
    changes: ListChanges,
    as_of: date,
    act: Act,
) -> RecordedMatch:
    """Record the run and write the changes it found to the study's list (found by
    ``list_changes`` on this list as it is now: over the whole panel, or put together from
    every part of it)."""
    run = connection.execute(
        insert(MatchRun).values(
            study_id=funnel.study_id,
            study_version=funnel.study_version,
            as_of=as_of,
            started_at=act.at,
            actor=act.who,
            evaluated=funnel.start,
            eligible=funnel.eligible,
            needs_screening=funnel.needs_screening,
            funnel=[asdict(step) for step in funnel.steps],
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    write_changes(connection, changes, funnel.study_id, funnel.study_version, run, as_of, act.at)
    if connection.dialect.name == "postgresql" and changes.written > max(
        1000, changes.listed // 10
    ):
        # Much of the list was rewritten: fresh statistics keep the review app's plans good.
        connection.execute(text("ANALYZE candidate"))
    return RecordedMatch(int(run), len(changes.new))


@dataclass(frozen=True)
class LatestMatch:
    match_run_id: int
    study_version: str
    as_of: date
    started_at: datetime
    evaluated: int
    eligible: int
    needs_screening: int
    funnel: list[dict[str, Any]]


def latest_match(connection: Connection, study_id: str) -> LatestMatch | None:
    """The study's most recent match run: its funnel and counts."""
    row = connection.execute(
        select(*record_columns(MatchRun, LatestMatch))
        .where(MatchRun.study_id == study_id)
        .order_by(MatchRun.match_run_id.desc())
        .limit(1)
    ).first()
    return None if row is None else LatestMatch(*row)


def match_is_current(connection: Connection, study_id: str, as_of: date) -> bool:
    """The study's latest match is of its current version and this date, and no export has
    been accepted since it started: matching again would find exactly the same."""
    study = current_definition(connection, study_id)
    last = latest_match(connection, study_id)
    if study is None or last is None or last.study_version != study.version or last.as_of != as_of:
        return False
    changed = connection.scalar(
        select(func.max(IngestRun.finished_at)).where(IngestRun.status == "accepted")
    )
    return changed is None or changed <= last.started_at
