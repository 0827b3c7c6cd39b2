"""Published studies: every definition kept as a version (a content hash), never overwritten."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Select, bindparam, func, insert, select, update

from schemas.act import Act
from schemas.study import StudyDefinition, StudyStatus
from store.tables import Study, StudyVersion


@dataclass(frozen=True)
class Published:
    study_id: str
    version: str
    number: int
    #: False when this exact definition was published before (nothing changed).
    new: bool


@dataclass(frozen=True)
class StudySummary:
    study_id: str
    title: str
    status: str
    recruitment_target: int
    version: str
    number: int
    versions: int
    published_at: datetime
    #: The candidate list's revision (``list_changed``), read with the study.
    list_revision: int


def publish(connection: Connection, study: StudyDefinition, source: str, act: Act) -> Published:
    """Store ``study`` as its study's current version (a new version if its content is new)."""
    version = study.version
    known = connection.execute(
        select(StudyVersion.number).where(
            StudyVersion.study_id == study.id, StudyVersion.version == version
        )
    ).scalar_one_or_none()
    if known is None:
        number = (
            connection.scalar(
                select(func.max(StudyVersion.number)).where(StudyVersion.study_id == study.id)
            )
            or 0
        ) + 1
    else:
        number = known
    values = {
        "title": study.title,
        "status": study.status.value,
        "recruitment_target": study.recruitment_target,
        "current_version": version,
        "updated_at": act.at,
    }
    exists = connection.scalar(select(Study.study_id).where(Study.study_id == study.id))
    if exists is None:
        connection.execute(insert(Study).values(study_id=study.id, **values))
    else:
        connection.execute(update(Study).where(Study.study_id == study.id).values(**values))
    if known is None:
        connection.execute(
            insert(StudyVersion).values(
                study_id=study.id,
                version=version,
                number=number,
                definition=study.model_dump(mode="json", by_alias=True),
                source=source,
                published_at=act.at,
                published_by=act.who,
            )
        )
    return Published(study.id, version, number, known is None)


def current_definition(connection: Connection, study_id: str) -> StudyDefinition | None:
    row = connection.execute(
        select(StudyVersion.definition)
        .join(Study, Study.study_id == StudyVersion.study_id)
        .where(Study.study_id == study_id, StudyVersion.version == Study.current_version)
    ).scalar_one_or_none()
    return None if row is None else StudyDefinition.model_validate(row)


#: Parsed definitions by (study, version). A version is a hash of the content, so an entry
#: never goes stale, whichever store it was read from.
_PARSED: dict[tuple[str, str], StudyDefinition] = {}


def definition_at(connection: Connection, study_id: str, version: str) -> StudyDefinition | None:
    """The definition as published in ``version`` (what a candidate was matched on)."""
    if (study_id, version) in _PARSED:
        return _PARSED[study_id, version]
    row = connection.execute(
        select(StudyVersion.definition).where(
            StudyVersion.study_id == study_id, StudyVersion.version == version
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    parsed = _PARSED[study_id, version] = StudyDefinition.model_validate(row)
    return parsed


def list_changed(connection: Connection, study_ids: Collection[str] | Select[str]) -> None:
    """Raise the list revision of these studies (ids, or a query of them): their candidate
    lists changed in a way a count of them can see, other than by a decision (a match, a
    candidate held back as no longer fitting, an erasure). Part of the change's transaction."""
    connection.execute(
        update(Study)
        .where(Study.study_id.in_(study_ids))
        .values(list_revision=Study.list_revision + 1)
    )


def recruiting(connection: Connection) -> list[str]:
    return list(
        connection.execute(
            select(Study.study_id)
            .where(Study.status == StudyStatus.RECRUITING.value)
            .order_by(Study.study_id)
        ).scalars()
    )


def summary(connection: Connection, study_id: str) -> StudySummary | None:
    row = connection.execute(_ONE_SUMMARY, {"study_id": study_id}).first()
    return None if row is None else StudySummary(*row)


def summaries(connection: Connection) -> list[StudySummary]:
    return [StudySummary(*row) for row in connection.execute(_SUMMARY.order_by(Study.study_id))]


_SUMMARY = select(
    Study.study_id,
    Study.title,
    Study.status,
    Study.recruitment_target,
    Study.current_version,
    StudyVersion.number,
    select(func.count())
    .where(StudyVersion.study_id == Study.study_id)
    .correlate(Study)
    .scalar_subquery()
    .label("versions"),
    StudyVersion.published_at,
    Study.list_revision,
).join(
    StudyVersion,
    (StudyVersion.study_id == Study.study_id) & (StudyVersion.version == Study.current_version),
)
_ONE_SUMMARY = _SUMMARY.where(Study.study_id == bindparam("study_id"))
