"""Matching benchmark: studies over a generated panel of N profiles (default 1,000,000).

    python -m benchmarks.matching_benchmark [--profiles N] [--studies K] [--sample S]

Measures, on one panel prepared once:

* one study (the restless-legs trial) with explanations: evaluation, funnel, and per candidate
  every criterion's outcome and evidence, as the candidate list stores them (goal: 0.5 s);
* K studies (default 50: the samples and variants of them), each with its funnel and its
  candidates' explanations, the panel prepared once for all (goal: 15 s);
* a study that looks back (the restless-legs trial with a diagnosis ``within: 2y`` and a
  medicine ``within: 3m``) over the panel's profile history, 1.3 versions a volunteer, against
  its twin without windows: preparation (with the versions, or without) and evaluation
  (goal: at most 2x the twin);

and side by side, in the same run, the obvious alternatives, as ratios:

* DuckDB: the same criteria as SQL over the same profiles (derived fields in SQL too) and, for
  the windows, over the same versions, eligible and needs-screening counts per study, checked
  equal to the engine's;
* a plain per-row Python loop (``matching.reference``) on S profiles, extrapolated to N,
  checked equal to the engine on those rows (the study that looks back too).

The profiles are the valid rows of a generated export (``benchmarks.ingest_benchmark``'s
generator, no damage), their earlier versions drawn by ``benchmarks.profile_history``, both
made once and kept in ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from benchmarks.ingest_benchmark import OUT, generated_export

AS_OF = date(2026, 11, 28)
GOAL_ONE_STUDY = 0.5
GOAL_ALL_STUDIES = 15.0
GOAL_LOOKING_BACK = 2.0
LOOKING_BACK_ROUNDS = 5


def main() -> None:
    options = _arguments()
    profiles = _profiles(options.profiles, options.seed)
    from benchmarks.profile_history import panel_versions
    from benchmarks.study_variants import study_variants, window_study

    versions = panel_versions(profiles, options.seed)
    print(
        f"panel: {len(profiles):,} profiles, {len(versions):,} profile versions"
        f" ({len(versions) / len(profiles):.2f} a volunteer); match date {AS_OF:%d-%m-%Y}"
    )
    studies = study_variants(options.studies)
    looking_back = window_study()
    ours = _engine(profiles, studies)
    ours_back = _engine_looking_back(profiles, versions, *looking_back)
    duck = _duckdb(profiles, versions, studies, looking_back)
    loop = _per_row(profiles, versions, [studies[0], looking_back[0]], options.sample)
    _compare(ours, ours_back, duck, loop, len(profiles))


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


def _engine_looking_back(
    profiles: pd.DataFrame, versions: pd.DataFrame, study: Any, twin: Any
) -> dict[str, Any]:
    """The study that looks back, from raw profiles and versions, against its twin without
    windows from raw profiles: what a match run of each costs. The two take turns, so that
    both meet the machine's changing load alike."""
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.history import ProfileHistory
    from matching.panel import prepare_panel

    times: dict[str, list[float]] = {}

    def timed(key: str, work: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        result = work()
        times.setdefault(key, []).append(time.perf_counter() - began)
        return result

    for _ in range(LOOKING_BACK_ROUNDS):
        panel = timed("prepare twin", partial(prepare_panel, profiles, AS_OF))
        twin_match = timed("evaluate twin", partial(match_study, twin, panel))
        history_panel = timed("prepare", partial(prepare_panel, profiles, AS_OF, versions))
        match = timed("evaluate", partial(match_study, study, history_panel))
    prepare_twin, evaluate_twin = min(times["prepare twin"]), min(times["evaluate twin"])
    prepare, evaluate = min(times["prepare"]), min(times["evaluate"])
    history, _ = _best(3, lambda: ProfileHistory.of(versions, panel.volunteer_ids))
    explain_twin, _ = _best(3, lambda: candidate_records(twin_match))
    explain, records = _best(3, lambda: candidate_records(match))
    funnel = attrition_funnel(match)
    twin_funnel = attrition_funnel(twin_match)
    windows = ", ".join(
        f"{criterion.id} within {criterion.within}"
        for criterion in study.criteria()
        if getattr(criterion, "within", None)
    )
    ratio = (prepare + evaluate) / (prepare_twin + evaluate_twin)
    rounds = [
        sum(pair) / sum(twin_pair)
        for pair, twin_pair in zip(
            zip(times["prepare"], times["evaluate"], strict=True),
            zip(times["prepare twin"], times["evaluate twin"], strict=True),
            strict=True,
        )
    ]
    print(
        f"\nlooking back ({study.id}: {windows}; {len(records):,} candidates, the twin without"
        f" windows {twin_funnel.eligible + twin_funnel.needs_screening:,}):"
    )
    print(
        f"  with its profile history: prepare {prepare:.3f} s (the history alone {history:.3f})"
        f" + evaluate {evaluate:.3f} = {prepare + evaluate:.3f} s"
    )
    print(
        f"  twin without windows:     prepare {prepare_twin:.3f} s"
        f" + evaluate {evaluate_twin:.3f} = {prepare_twin + evaluate_twin:.3f} s"
    )
    print(
        f"  ratio {ratio:.2f}x, best of {LOOKING_BACK_ROUNDS} turns each (goal at most"
        f" {GOAL_LOOKING_BACK:.0f}x: {'met' if ratio <= GOAL_LOOKING_BACK else 'NOT met'});"
        f" turn by turn {min(rounds):.2f} to {max(rounds):.2f}x"
    )
    print(f"  explanations {explain:.3f} s, the twin's {explain_twin:.3f} s")
    return {
        "prepare": prepare,
        "history": history,
        "evaluate": evaluate,
        "prepare_twin": prepare_twin,
        "evaluate_twin": evaluate_twin,
        "counts": {
            study.id: (funnel.eligible, funnel.needs_screening),
            twin.id: (twin_funnel.eligible, twin_funnel.needs_screening),
        },
        "study": study,
        "panel": history_panel,
    }


def _duckdb(
    profiles: pd.DataFrame, versions: pd.DataFrame, studies: list[Any], looking_back: Any
) -> dict[str, Any]:
    import duckdb

    from benchmarks.duckdb_matching import panel_sql, status_counts_sql, versions_sql

    connection = duckdb.connect()
    connection.register("profiles", pa.Table.from_pandas(profiles, preserve_index=False))
    connection.register("history", pa.Table.from_pandas(versions, preserve_index=False))
    prepare, _ = _best(3, lambda: connection.execute(panel_sql(AS_OF)))
    prepare_versions, _ = _best(3, lambda: connection.execute(versions_sql()))
    queries = {study.id: status_counts_sql(study, AS_OF) for study in studies}
    first = studies[0].id
    evaluate_one, _ = _best(5, lambda: connection.execute(queries[first]).fetchone())
    began = time.perf_counter()
    counts = {
        ident: tuple(connection.execute(sql).fetchone() or ()) for ident, sql in queries.items()
    }
    evaluate_all = time.perf_counter() - began
    study, twin = looking_back
    back = status_counts_sql(study, AS_OF)
    evaluate_back, back_counts = _best(5, lambda: connection.execute(back).fetchone())
    twin_counts = connection.execute(status_counts_sql(twin, AS_OF)).fetchone()
    print(
        f"\nDuckDB {duckdb.__version__}: derived fields {prepare:.2f} s;"
        f" {first} {evaluate_one:.3f} s; {len(studies)} studies {evaluate_all:.2f} s;"
        f" versions' days {prepare_versions:.2f} s, {study.id} {evaluate_back:.3f} s"
    )
    return {
        "prepare": prepare,
        "evaluate_one": evaluate_one,
        "evaluate_all": evaluate_all,
        "counts": counts,
        "prepare_versions": prepare_versions,
        "evaluate_back": evaluate_back,
        "counts_back": {study.id: tuple(back_counts or ()), twin.id: tuple(twin_counts or ())},
    }


def _per_row(
    profiles: pd.DataFrame, versions: pd.DataFrame, studies: list[Any], sample: int
) -> dict[str, Any]:
    """Each study by ``matching.reference`` on ``sample`` profiles (with their versions, for
    the study that looks back), the first timed."""
    from matching.reference import evaluate

    rows = np.sort(np.random.default_rng(1).choice(len(profiles), sample, replace=False))
    records = pa.Table.from_pandas(profiles.iloc[rows], preserve_index=False).to_pylist()
    sampled = versions[versions["volunteer_id"].isin(profiles["volunteer_id"].iloc[rows])]
    history: dict[str, list[dict[str, Any]]] = {}
    for version in pa.Table.from_pandas(sampled, preserve_index=False).to_pylist():
        history.setdefault(version["volunteer_id"], []).append(version)
    for record in records:
        record["history"] = history.get(record["volunteer_id"], [])
    began = time.perf_counter()
    every = {studies[0].id: [evaluate(studies[0], record, AS_OF)[1] for record in records]}
    seconds = time.perf_counter() - began
    for study in studies[1:]:
        every[study.id] = [evaluate(study, record, AS_OF)[1] for record in records]
    print(
        f"\nper-row Python loop: {sample:,} profiles in {seconds:.2f} s"
        f" ({seconds / sample * 1e6:.0f} µs a profile)"
    )
    return {"seconds_per_row": seconds / sample, "rows": rows, "overall": every}


def _compare(
    ours: dict[str, Any],
    back: dict[str, Any],
    duck: dict[str, Any],
    loop: dict[str, Any],
    size: int,
) -> None:
    from matching import outcomes
    from matching.engine import match_study

    assert ours["counts"] == duck["counts"], "DuckDB and the engine disagree"
    assert back["counts"] == duck["counts_back"], "DuckDB and the engine disagree, looking back"
    truth = {True: outcomes.MET, None: outcomes.UNKNOWN, False: outcomes.NOT_MET}
    for study, panel in ((ours["first"], ours["panel"]), (back["study"], back["panel"])):
        match = match_study(study, panel)
        expected = np.array([truth[value] for value in loop["overall"][study.id]], dtype=np.int8)
        assert (match.overall[loop["rows"]] == expected).all(), (
            f"the per-row loop disagrees: {study.id}"
        )
    print("\nsame eligible and needs-screening counts: engine = DuckDB for every study,")
    print("the one that looks back and its twin too; engine = per-row loop on every sampled")
    print("profile (the restless-legs trial, and the same looking back)")
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
    back_ours = back["prepare"] + back["evaluate"]
    back_duck = duck["prepare"] + duck["prepare_versions"] + duck["evaluate_back"]
    for name, engine, duckdb in (
        ("looking back, preparation included", back_ours, back_duck),
        ("looking back, panel prepared", back["evaluate"], duck["evaluate_back"]),
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
