"""The matching benchmark's study that looks back compares the same work in the engine and in
DuckDB: over the sample panel and a generated profile history, the SQL translation of windows
finds the candidates the engine finds, window by window and on several match dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from benchmarks.duckdb_matching import panel_sql, status_counts_sql, versions_sql
from benchmarks.matching_benchmark import profiles_of
from benchmarks.profile_history import profile_versions
from benchmarks.study_variants import WINDOWS, window_study
from matching.engine import match_study
from matching.funnel import attrition_funnel
from matching.history import HISTORY_COLUMNS
from matching.panel import prepare_panel
from schemas.study import StudyDefinition

SIGNUPS = Path(__file__).parents[1] / "data_samples" / "signups.csv"


def _with_windows(study: StudyDefinition, within: str) -> StudyDefinition:
    document = study.model_dump(mode="json", by_alias=True, exclude_none=True)
    document["id"] = f"{study.id}-{within}"

    def walk(criterion: dict) -> None:
        if criterion["id"] in WINDOWS:
            criterion["within"] = within
        for key in ("all", "any", "of"):
            for part in criterion.get(key, []):
                walk(part)
        if "not" in criterion:
            walk(criterion["not"])

    for criterion in [*document["inclusion"], *document.get("exclusion", [])]:
        walk(criterion)
    return StudyDefinition.model_validate(document)


def test_the_generated_history_has_about_three_earlier_versions_in_ten() -> None:
    profiles = profiles_of(SIGNUPS)
    versions = profile_versions(profiles, seed=7)
    assert list(versions.columns) == list(HISTORY_COLUMNS)
    assert 1.15 < len(versions) / len(profiles) < 1.45
    latest = versions.groupby("volunteer_id")["submitted_at"].max()
    current = dict(zip(profiles["volunteer_id"], profiles["submitted_at"], strict=True))
    assert dict(latest.items()) == current  # the earlier versions come before the current
    assert versions.equals(profile_versions(profiles, seed=7))


@pytest.mark.parametrize("as_of", [date(2025, 6, 1), date(2026, 11, 28), date(2027, 2, 28)])
def test_duckdb_windows_and_the_engine_find_the_same_candidates(as_of: date) -> None:
    profiles = profiles_of(SIGNUPS)
    versions = profile_versions(profiles, seed=7)
    panel = prepare_panel(profiles, as_of, versions)
    connection = duckdb.connect()
    connection.register("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
    connection.register("history", pa.Table.from_pandas(versions, preserve_index=False))
    connection.execute(panel_sql(as_of))
    connection.execute(versions_sql())
    study, twin = window_study()
    found = []
    for variant in [study, twin, *(_with_windows(study, w) for w in ("90d", "3m", "2y", "ever"))]:
        funnel = attrition_funnel(match_study(variant, panel))
        ours = (funnel.eligible, funnel.needs_screening)
        assert connection.execute(status_counts_sql(variant, as_of)).fetchone() == ours, variant.id
        found.append(ours)
    assert len(set(found)) > 1  # the windows make a difference
