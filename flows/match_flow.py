"""The match flow: published studies against the contactable panel, on one match date.

    load panel -> prepare it for the date -> for each study: match, keep candidates

The panel is read and prepared once and shared by every study; each study is one task (never
one per volunteer), and publishes its funnel and candidate counts as artifacts: counts only,
no health data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pandas as pd
from prefect import Flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.settings import get_current_settings

from configuration.settings import load_settings
from flows.errors import FlowError
from flows.match_partitions import match_in_partitions
from flows.task_options import panel_flow, panel_task, retried_io
from matching.candidates import candidate_records
from matching.engine import looks_back, match_study
from matching.funnel import Funnel, attrition_funnel
from matching.panel import PreparedPanel, prepare_panel
from schemas.act import Act
from schemas.study import StudyDefinition
from store import match_runs, studies
from store.errors import UnknownStudy
from store.match_runs import RecordedMatch
from store.panel_store import PanelStore
from store.partitions import partitions


@dataclass(frozen=True)
class StudyMatchSummary:
    study_id: str
    study_version: str
    match_run_id: int
    funnel: Funnel
    new_candidates: int


@panel_task("load panel", **retried_io(600))
def load_panel(store: PanelStore, history: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The contactable volunteers' current profiles, and with ``history`` every version of
    them (for criteria with a window)."""
    with store.reading() as connection:
        profiles = match_runs.contactable_profiles(connection)
        return profiles, match_runs.profile_history(connection) if history else None


@panel_task("prepare panel")
def prepare(profiles: pd.DataFrame, versions: pd.DataFrame | None, as_of: date) -> PreparedPanel:
    return prepare_panel(profiles, as_of, versions)


@panel_task("match study", task_run_name="match {study.id}")
def match_one(
    store: PanelStore, panel: PreparedPanel, study: StudyDefinition, actor: str
) -> StudyMatchSummary:
    match = match_study(study, panel)
    return _keep(store, attrition_funnel(match), candidate_records(match), panel.as_of, actor)


def _definition(store: PanelStore, study_id: str) -> StudyDefinition:
    with store.reading() as connection:
        study = studies.current_definition(connection, study_id)
    if study is None:
        raise UnknownStudy([study_id], see_list=True)
    return study


def _keep(
    store: PanelStore, funnel: Funnel, candidates: pd.DataFrame, as_of: date, actor: str
) -> StudyMatchSummary:
    """Record a study's match and publish its funnel."""
    with store.writing() as connection:
        recorded = match_runs.record_match(
            connection, funnel, candidates, as_of, Act(actor, datetime.now(UTC))
        )
    return _summary(funnel, recorded, as_of)


def _summary(funnel: Funnel, recorded: RecordedMatch, as_of: date) -> StudyMatchSummary:
    _publish_funnel(funnel, as_of)
    return StudyMatchSummary(
        funnel.study_id, funnel.study_version, recorded.match_run_id, funnel, recorded.added
    )


@panel_flow("match-studies")
def match_studies(
    study_ids: list[str] | None,
    as_of: date,
    actor: str | None = None,
    only_if_changed: bool = False,
) -> list[StudyMatchSummary]:
    """Match the given studies (default: every recruiting one) as of ``as_of``; with
    ``only_if_changed``, only those whose latest match is not current (another version or
    date, or an export accepted since), so a repeated run changes nothing."""
    store = PanelStore.open(load_settings().store)
    if study_ids is not None:
        ids = study_ids
    else:
        with store.reading() as connection:
            ids = studies.recruiting(connection)
    if only_if_changed:
        ids = [study_id for study_id in ids if not _is_current(store, study_id, as_of)]
        if not ids:
            return []
    settings = load_settings()
    who = actor or settings.actor
    definitions = [_definition(store, study_id) for study_id in ids]
    if settings.matching.partitions > 1:
        return _match_partitioned(store, definitions, as_of, who)
    profiles, versions = load_panel(store, looks_back(definitions))
    panel = prepare(profiles, versions, as_of)
    return [match_one(store, panel, study, who) for study in definitions]


def _is_current(store: PanelStore, study_id: str, as_of: date) -> bool:
    with store.reading() as connection:
        return match_runs.match_is_current(connection, study_id, as_of)


def _match_partitioned(
    store: PanelStore, definitions: list[StudyDefinition], as_of: date, actor: str
) -> list[StudyMatchSummary]:
    with store.reading() as connection:
        parts = partitions(connection, load_settings().matching.partitions)
    matched = match_in_partitions(parts, definitions, as_of)
    summaries = []
    for study in definitions:
        funnel, changes = matched[study.id]
        with store.writing() as connection:
            recorded = match_runs.record_changes(
                connection, funnel, changes, as_of, Act(actor, datetime.now(UTC))
            )
        summaries.append(_summary(funnel, recorded, as_of))
    return summaries


def configured() -> Flow[..., list[StudyMatchSummary]]:
    """The match flow with the configured task runner: Dask when PANEL_DASK_ADDRESS is set
    (``local``: a temporary LocalCluster of PANEL_DASK_WORKERS workers).

    On Dask the task runs are reported by the workers, so they need a Prefect server to
    report to (PREFECT_API_URL): without one each worker would start a temporary server of
    its own, and the runs would not show in the flow's."""
    settings = load_settings().matching
    if not settings.dask_address:
        return match_studies
    from prefect_dask import DaskTaskRunner  # deferred: Dask's import costs seconds, and only
    # a panel matched on Dask needs it

    api = get_current_settings().api.url
    if api is None:
        raise FlowError(
            "matching on Dask needs a Prefect server for the workers to report to: set "
            "PREFECT_API_URL (e.g. http://127.0.0.1:4200/api after `prefect server start`)"
        )
    if settings.dask_address == "local":
        workers = {"n_workers": settings.dask_workers, "threads_per_worker": 1}
        runner = DaskTaskRunner(cluster_kwargs=workers | {"env": {"PREFECT_API_URL": api}})
    else:
        runner = DaskTaskRunner(address=settings.dask_address)
    return match_studies.with_options(task_runner=runner)  # type: ignore[arg-type]  # prefect-dask types its futures apart


def _publish_funnel(funnel: Funnel, as_of: date) -> None:
    key = f"funnel-{funnel.study_id}"
    create_table_artifact(
        key=key,
        table=[
            {
                "step": step.label,
                "kind": step.kind,
                "remaining": step.remaining,
                "lost": step.lost,
                "lost only here": step.lost_only_here,
                "unknown": step.unknown,
            }
            for step in funnel.steps
        ],
        description=f"{funnel.study_id} ({funnel.study_version}) as of {as_of}: attrition funnel",
    )
    create_markdown_artifact(
        key=f"candidates-{funnel.study_id}",
        markdown=(
            f"**{funnel.study_id}** as of {as_of}: {funnel.start:,} contactable volunteers, "
            f"{funnel.eligible:,} eligible, {funnel.needs_screening:,} need screening."
        ),
        description=f"{funnel.study_id}: candidate counts",
    )
