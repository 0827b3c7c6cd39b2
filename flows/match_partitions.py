"""Matching a panel too large for one machine: in partitions of volunteers, on Dask.

The volunteers are split into ranges of ids (``store.partitions``); each range is
one task, which the flow's task runner (``DaskTaskRunner`` when ``PANEL_DASK_ADDRESS`` is
set) places on a worker. The task opens the store from the worker's own configuration (its
``PANEL_*`` environment: no database URL or secret is ever a task's parameter) and reads its
own part of the panel, so only the bounds and the study definitions travel to it. It also
compares what it found with its part of each candidate list, so only funnel counts and the
candidates whose outcome changed come back (a day's match finds nearly every candidate as
the day before; sending all their rows back to be compared in one process made the cluster
slower than one process).

Funnel counts are counts of volunteers, so the parts' sum is exact
(``matching.funnel.combined``); candidate rows are per volunteer and the parts cover every
volunteer id once, so the changes put together equal a single-process match's. The workers
read the lists and the flow writes the changes right after, as a single-process match reads
the panel before it writes: coordinators' decisions in between do not touch what a match
compares (status, outcome, hold).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from configuration.settings import load_settings
from flows.task_options import panel_task, retried_io
from matching.candidates import candidate_records
from matching.engine import match_study
from matching.funnel import Funnel, attrition_funnel, combined
from schemas.study import StudyDefinition
from store.candidate_changes import ListChanges, list_changes
from store.match_runs import matching_panel
from store.panel_store import PanelStore
from store.partitions import Part

#: Per study id: its funnel over the part, and the changes to the part of its list.
PartMatch = dict[str, tuple[Funnel, ListChanges]]


@panel_task(
    "match partition", task_run_name="match volunteers {part[0]} to {part[1]}", **retried_io(3600)
)
def match_partition(part: Part, definitions: list[dict[str, Any]], as_of: date) -> PartMatch:
    store = PanelStore.open(load_settings().store)
    found: PartMatch = {}
    try:
        studies = [StudyDefinition.model_validate(definition) for definition in definitions]
        with store.reading() as connection:
            panel = matching_panel(connection, as_of, studies, part)
            for study in studies:
                match = match_study(study, panel)
                changes = list_changes(
                    connection, study.id, study.version, candidate_records(match), part
                )
                found[study.id] = (attrition_funnel(match), changes)
    finally:
        store.close()
    return found


def match_in_partitions(
    parts: list[Part], studies: list[StudyDefinition], as_of: date
) -> dict[str, tuple[Funnel, ListChanges]]:
    """Every study matched over every part (in parallel, where the task runner runs tasks),
    the parts put together."""
    definitions = [study.model_dump(mode="json", by_alias=True) for study in studies]
    futures = [match_partition.submit(part, definitions, as_of) for part in parts]
    results = [future.result() for future in futures]
    return {
        study.id: (
            combined([result[study.id][0] for result in results]),
            ListChanges.combined([result[study.id][1] for result in results]),
        )
        for study in studies
    }
