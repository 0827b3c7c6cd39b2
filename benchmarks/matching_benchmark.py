"""Matching benchmark: studies over a generated panel of N profiles (default 1,000,000).

    python -m benchmarks.matching_benchmark [--profiles N] [--studies K] [--sample S]

Measures, on one panel prepared once:

* one study (the restless-legs trial) with explanations: evaluation, funnel, and per candidate
  every criterion's outcome and evidence, as the candidate list stores them (goal: 0.5 s);
* K studies (default 50: the samples and variants of them), each with its funnel and its
  candidates' explanations, the panel prepared once for all (goal: 15 s);

and side by side, in the same run, the obvious alternatives, as ratios:

* DuckDB: the same criteria as SQL over the same profiles (derived fields in SQL too), eligible
  and needs-screening counts per study, checked equal to the engine's;
* a plain per-row Python loop (``matching.reference``) on S profiles, extrapolated to N,
  checked equal to the engine on those rows.

The profiles are the valid rows of a generated export (``benchmarks.ingest_benchmark``'s
generator, no damage), made once and kept in ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks.ingest_benchmark import OUT, generated_export

AS_OF = date(2026, 11, 28)
GOAL_ONE_STUDY = 0.5
GOAL_ALL_STUDIES = 15.0


def main() -> None:
    options = _arguments()
    profiles = _profiles(options.profiles, options.seed)
    print(f"panel: {len(profiles):,} profiles; match date {AS_OF:%d-%m-%Y}")
    from benchmarks.study_variants import study_variants

    studies = study_variants(options.studies)
    ours = _engine(profiles, studies)
    duck = _duckdb(profiles, studies)
    loop = _per_row(profiles, studies[0], options.sample)
    _compare(ours, duck, loop, len(profiles))


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--studies", type=int, default=50)
    parser.add_argument("--sample", type=int, default=20_000, help="rows for the per-row loop")
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args()


def _profiles(count: int, seed: int) -> pd.DataFrame:
    """``count`` validated profiles, cached as Parquet."""
    path = OUT / f"profiles-{count}-seed{seed}.parquet"
    if not path.exists():
        print("generating the panel (once; kept in benchmarks/out/) ...", flush=True)
        profiles_of(generated_export(count, seed, 0.0)).to_parquet(path)
    return pd.read_parquet(path)


def profiles_of(export: Path) -> pd.DataFrame:
    """Every valid row of a signup export as a profile (``PROFILE_COLUMNS``), each its own
    volunteer: what the engine reads, without a store in between."""
    from ingest.row_validation import validate_rows
    from matching.panel import PROFILE_COLUMNS
    from schemas.export_file import read_export

    rows = read_export(export)
    valid = validate_rows(rows.kind, rows.rows).valid.reset_index(drop=True)
    valid["volunteer_id"] = [f"V{number:011d}" for number in range(len(valid))]
    return valid[list(PROFILE_COLUMNS)]


def _best(runs: int, work: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of ``runs`` runs (seconds) and the last result."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - began)
    return min(times), result


def _engine(profiles: pd.DataFrame, studies: list[Any]) -> dict[str, Any]:
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.panel import prepare_panel

    prepare, panel = _best(3, lambda: prepare_panel(profiles, AS_OF))
    print(f"\nengine: prepare the panel (derived fields, code index): {prepare:.2f} s")
    first = studies[0]
    evaluate, match = _best(5, lambda: match_study(first, panel))
    funnel_time, funnel = _best(5, lambda: attrition_funnel(match))
    explain, records = _best(3, lambda: candidate_records(match))
    one = evaluate + funnel_time + explain
    print(
        f"one study ({first.id}, {len(first.criteria())} criteria, {len(records):,} candidates):"
        f" {one:.3f} s = evaluate {evaluate:.3f} + funnel {funnel_time:.3f}"
        f" + explanations {explain:.3f}  (goal {GOAL_ONE_STUDY} s: {_verdict(one, GOAL_ONE_STUDY)})"
    )
    print(
        f"the same from raw profiles (the panel prepared for this study alone):"
        f" {prepare + one:.3f} s"
    )
    counts = {}
    per_study = []
    began = time.perf_counter()
    panel = prepare_panel(profiles, AS_OF)
    for study in studies:
        study_began = time.perf_counter()
        match = match_study(study, panel)
        funnel = attrition_funnel(match)
        records = candidate_records(match)
        per_study.append(time.perf_counter() - study_began)
        counts[study.id] = (funnel.eligible, funnel.needs_screening)
        assert len(records) == funnel.eligible + funnel.needs_screening
    total = time.perf_counter() - began
    candidates = sum(sum(pair) for pair in counts.values())
    print(
        f"{len(studies)} studies with funnels and explanations ({candidates:,} candidates in all):"
        f" {total:.2f} s including the preparation (median {statistics.median(per_study):.3f} s,"
        f" slowest {max(per_study):.3f} s a study)"
        f"  (goal {GOAL_ALL_STUDIES} s: {_verdict(total, GOAL_ALL_STUDIES)})"
    )
    evaluate_all, _ = _best(1, lambda: [match_study(study, panel).overall for study in studies])
    return {
        "prepare": prepare,
        "evaluate_one": evaluate,
        "evaluate_all": evaluate_all,
        "counts": counts,
        "first": first,
        "panel": panel,
    }


def _duckdb(profiles: pd.DataFrame, studies: list[Any]) -> dict[str, Any]:
    import duckdb

    from benchmarks.duckdb_matching import panel_sql, status_counts_sql

    connection = duckdb.connect()
    connection.register("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
    prepare, _ = _best(3, lambda: connection.execute(panel_sql(AS_OF)))
    queries = {study.id: status_counts_sql(study) for study in studies}
    first = studies[0].id
    evaluate_one, _ = _best(5, lambda: connection.execute(queries[first]).fetchone())
    began = time.perf_counter()
    counts = {
        ident: tuple(connection.execute(sql).fetchone() or ()) for ident, sql in queries.items()
    }
    evaluate_all = time.perf_counter() - began
    print(
        f"\nDuckDB {duckdb.__version__}: derived fields {prepare:.2f} s;"
        f" {first} {evaluate_one:.3f} s; {len(studies)} studies {evaluate_all:.2f} s"
    )
    return {
        "prepare": prepare,
        "evaluate_one": evaluate_one,
        "evaluate_all": evaluate_all,
        "counts": counts,
    }


def _per_row(profiles: pd.DataFrame, study: Any, sample: int) -> dict[str, Any]:
    from matching.reference import evaluate

    rows = np.sort(np.random.default_rng(1).choice(len(profiles), sample, replace=False))
    records = pa.Table.from_pandas(profiles.iloc[rows], preserve_index=False).to_pylist()
    began = time.perf_counter()
    overall = [evaluate(study, record, AS_OF)[1] for record in records]
    seconds = time.perf_counter() - began
    print(
        f"\nper-row Python loop: {sample:,} profiles in {seconds:.2f} s"
        f" ({seconds / sample * 1e6:.0f} µs a profile)"
    )
    return {"seconds_per_row": seconds / sample, "rows": rows, "overall": overall}


def _compare(ours: dict[str, Any], duck: dict[str, Any], loop: dict[str, Any], size: int) -> None:
    from matching import outcomes
    from matching.engine import match_study

    assert ours["counts"] == duck["counts"], "DuckDB and the engine disagree"
    match = match_study(ours["first"], ours["panel"])
    truth = {True: outcomes.MET, None: outcomes.UNKNOWN, False: outcomes.NOT_MET}
    expected = np.array([truth[value] for value in loop["overall"]], dtype=np.int8)
    assert (match.overall[loop["rows"]] == expected).all(), "the per-row loop disagrees"
    print("\nsame eligible and needs-screening counts: engine = DuckDB for every study;")
    print("engine = per-row loop on every sampled profile")
    one_ours = ours["prepare"] + ours["evaluate_one"]
    one_duck = duck["prepare"] + duck["evaluate_one"]
    all_ours = ours["prepare"] + ours["evaluate_all"]
    all_duck = duck["prepare"] + duck["evaluate_all"]
    loop_one = loop["seconds_per_row"] * size
    studies = len(ours["counts"])
    print("\nevaluation only (no explanations: DuckDB and the loop give none), seconds:")
    print(f"{'':36}{'engine':>9}{'DuckDB':>9}{'ratio':>8}")
    for name, engine, duckdb in (
        ("one study, preparation included", one_ours, one_duck),
        ("one study, panel prepared", ours["evaluate_one"], duck["evaluate_one"]),
        (f"{studies} studies, preparation included", all_ours, all_duck),
    ):
        print(f"{name:36}{engine:9.3f}{duckdb:9.3f}{duckdb / engine:7.1f}x")
    print(
        f"\nper-row loop, one study over {size:,} profiles (extrapolated): {loop_one:.0f} s;"
        f" engine {one_ours:.2f} s: {loop_one / one_ours:.0f}x (goal: 20x)"
    )


def _verdict(seconds: float, goal: float) -> str:
    return "met" if seconds <= goal else "NOT met"


if __name__ == "__main__":
    main()
