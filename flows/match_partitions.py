"""Matching a panel too large for one machine: in partitions of volunteers, on Dask.

The volunteers are split into ranges of ids (``store.candidates.partitions``); each range is
one task, which the flow's task runner (``DaskTaskRunner`` when ``PANEL_DASK_ADDRESS`` is
set) places on a worker. The task reads its own part of the panel from the store, so only
the bounds and the study definitions travel to it, and only candidate rows and funnel counts
come back. Funnel counts are counts of volunteers, so the parts' sum is exact
(``matching.funnel.combined``), and candidate rows are per volunteer: the result equals a
single-process match.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.task_options import retried_io
from matching.candidates import candidate_records
from matching.engine import match_study
from matching.funnel import Funnel, attrition_funnel, combined
from matching.panel import prepare_panel
from schemas.study import StudyDefinition
from store.candidates import contactable_profiles
from store.database import create_panel_engine

#: Per study id: its funnel over the part, and the part's candidate rows.
PartMatch = dict[str, tuple[Funnel, pd.DataFrame]]


@task(
    name="match partition",
    task_run_name="match volunteers {part[0]} to {part[1]}",
    cache_policy=NO_CACHE,
    persist_result=False,
    **retried_io(3600),
)
def match_partition(
    database_url: str,
    part: tuple[str | None, str | None],
    definitions: list[dict[str, Any]],
    as_of: date,
) -> PartMatch:
    engine = create_panel_engine(database_url)
    try:
        with engine.connect() as connection:
            profiles = contactable_profiles(connection, part)
    finally:
        engine.dispose()
    panel = prepare_panel(profiles, as_of)
    found: PartMatch = {}
    for definition in definitions:
        match = match_study(StudyDefinition.model_validate(definition), panel)
        found[match.study.id] = (attrition_funnel(match), candidate_records(match))
    return found


def match_in_partitions(
    database_url: str,
    parts: list[tuple[str | None, str | None]],
    studies: list[StudyDefinition],
    as_of: date,
) -> dict[str, tuple[Funnel, pd.DataFrame]]:
    """Every study matched over every part (in parallel, where the task runner runs tasks),
    the parts put together."""
    definitions = [study.model_dump(mode="json", by_alias=True) for study in studies]
    futures = [match_partition.submit(database_url, part, definitions, as_of) for part in parts]
    results = [future.result() for future in futures]
    return {
        study.id: (
            combined([result[study.id][0] for result in results]),
            pd.concat([result[study.id][1] for result in results], ignore_index=True),
        )
        for study in studies
    }
