"""The matching benchmark's alternatives compute what the engine computes, or its ratios would
compare different work: DuckDB's SQL translation and the engine agree on every study variant."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from benchmarks.duckdb_matching import panel_sql, status_counts_sql
from benchmarks.matching_benchmark import profiles_of
from benchmarks.study_variants import study_variants
from matching.engine import match_study
from matching.funnel import attrition_funnel
from matching.panel import prepare_panel

SIGNUPS = Path(__file__).parents[1] / "data_samples" / "signups.csv"


@pytest.mark.parametrize("as_of", [date(2026, 11, 28), date(2027, 2, 28)])
def test_duckdb_sql_and_the_engine_find_the_same_candidates(as_of: date) -> None:
    profiles = profiles_of(SIGNUPS)
    panel = prepare_panel(profiles, as_of)
    connection = duckdb.connect()
    connection.register("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
    connection.execute(panel_sql(as_of))
    found = []
    for study in study_variants(24):
        funnel = attrition_funnel(match_study(study, panel))
        ours = (funnel.eligible, funnel.needs_screening)
        assert connection.execute(status_counts_sql(study)).fetchone() == ours, study.id
        found.append(ours)
    assert sum(eligible for eligible, _ in found) > 0
    assert sum(screening for _, screening in found) > 0
