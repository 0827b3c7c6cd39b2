"""Matching on Dask: the panel in partitions on a two-worker LocalCluster, against
PostgreSQL, gives exactly the single-process result."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from store.panel_store import PanelStore
from store.tables import Candidate
from tests.helpers import AS_OF, SAMPLES, STUDIES, definition, ingest, match_and_record, publish

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]

COLUMNS = (
    Candidate.study_id,
    Candidate.volunteer_id,
    Candidate.status,
    Candidate.submission_id,
    Candidate.study_version,
    Candidate.unknown_criteria,
    Candidate.explanation,
    Candidate.age,
    Candidate.sex,
    Candidate.region,
)
#: A second match day, late enough for birthdays to change ages and lists.
LATER = AS_OF + timedelta(days=3 * 365)


def candidate_rows(store: PanelStore) -> list[tuple[Any, ...]]:
    with store.engine.connect() as connection:
        return sorted(tuple(map(str, row)) for row in connection.execute(select(*COLUMNS)))


def test_a_two_worker_local_cluster_matches_exactly_as_one_process(
    store: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("Dask workers read their partitions from PostgreSQL")
    from distributed import Client, LocalCluster

    from flows import match_flow

    ingest(store, SAMPLES / "signups.csv", SAMPLES / "afmeldinger.csv")
    for path in sorted(STUDIES.glob("*.yaml")):
        publish(store, path)
    # Two days of matching: a first list, then one with new, changed and dropped candidates.
    single = [match_flow.match_studies(None, day) for day in (AS_OF, LATER)]
    expected = candidate_rows(store)
    with store.engine.begin() as connection:
        connection.execute(delete(Candidate))

    from prefect.settings import PREFECT_API_URL

    # The workers report their task runs to the test's Prefect server, as to a real one.
    reporting = {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=reporting
    ) as cluster:
        monkeypatch.setenv("PANEL_DASK_ADDRESS", cluster.scheduler_address)
        monkeypatch.setenv("PANEL_MATCH_PARTITIONS", "4")
        parted = [match_flow.configured()(None, day) for day in (AS_OF, LATER)]
        with Client(cluster) as client:
            ran = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))

    assert "match_partition" in ran  # the partitions ran on the cluster
    assert [summaries(day) for day in parted] == [summaries(day) for day in single]
    assert candidate_rows(store) == expected and len(expected) > 100
    assert {row[2] for row in expected} >= {"eligible", "needs_screening", "no_longer_eligible"}
    first = parted[0]
    assert all(s.new_candidates == s.funnel.eligible + s.funnel.needs_screening for s in first)


def summaries(day: list[Any]) -> dict[str, Any]:
    return {s.study_id: (asdict(s.funnel), s.new_candidates) for s in day}


def test_the_parts_changes_put_together_are_the_whole_lists_changes(store: PanelStore) -> None:
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.panel import prepare_panel
    from store.candidate_changes import ListChanges, list_changes
    from store.match_runs import contactable_profiles
    from store.partitions import partitions

    ingest(store, SAMPLES / "signups.csv", SAMPLES / "afmeldinger.csv")
    publish(store, STUDIES / "rls-magnesium.yaml")
    match_and_record(store, "rls-magnesium", AS_OF)
    study = definition(store, "rls-magnesium")
    assert study is not None

    def changes_in(connection: Any, part: Any) -> ListChanges:
        panel = prepare_panel(contactable_profiles(connection, part), LATER)
        found = candidate_records(match_study(study, panel))
        return list_changes(connection, study.id, study.version, found, part)

    def rows(changes: ListChanges) -> tuple[Any, ...]:
        def ordered(frame: Any) -> list[Any]:
            return frame.sort_values("volunteer_id").astype(str).to_numpy().tolist()

        return ordered(changes.new), ordered(changes.changed), changes.dropped, changes.listed

    with store.engine.connect() as connection:
        whole = changes_in(connection, (None, None))
        parts = [changes_in(connection, part) for part in partitions(connection, 3)]
    assert rows(ListChanges.combined(parts)) == rows(whole)
    assert len(whole.changed) and len(whole.dropped)  # birthdays: older, and too old


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_partitions_cover_every_volunteer_once_and_their_funnels_add_up_to_the_whole(
    store: PanelStore, count: int
) -> None:
    from matching.engine import match_study
    from matching.funnel import attrition_funnel, combined
    from matching.panel import prepare_panel
    from store.match_runs import contactable_profiles
    from store.partitions import partitions

    ingest(store, SAMPLES / "signups.csv")
    publish(store, STUDIES / "rls-magnesium.yaml")
    study = definition(store, "rls-magnesium")
    assert study is not None
    with store.engine.connect() as connection:
        whole = contactable_profiles(connection)
        parts = [contactable_profiles(connection, part) for part in partitions(connection, count)]
    ids = [v for part in parts for v in part["volunteer_id"].tolist()]
    assert len(parts) == count and sorted(ids) == sorted(whole["volunteer_id"].tolist())
    assert all(len(part) > 0 for part in parts)

    def funnel_of(profiles: Any) -> Any:
        return attrition_funnel(match_study(study, prepare_panel(profiles, AS_OF)))

    assert combined([funnel_of(part) for part in parts]) == funnel_of(whole)
