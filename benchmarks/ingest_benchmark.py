"""Ingest benchmark: a generated export of N rows (default 1,000,000) into a fresh SQLite store.

    python -m benchmarks.ingest_benchmark [--rows N] [--seed S] [--damage-rate R]

Reports rows/s for the whole ingest and per stage (parse, row validation, GX batch gate,
store), the same file ingested again, peak memory, and, in the same run, the obvious
alternatives to each choice the ingest makes, as ratios:

* parsing: pandas' C ``read_csv`` against the pyarrow reader the ingest uses;
* row validation: pydantic in one process against the ingest's worker processes;
* storing: SQLAlchemy Core ``insert()`` with row dicts against the ingest's bulk insert.

Each ingest runs in a child process, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

OUT = Path(__file__).parent / "out"


def main() -> None:
    options = _arguments()
    export = generated_export(options.rows, options.seed, options.damage_rate)
    print(f"export: {export} ({export.stat().st_size / 1e6:,.0f} MB, {options.rows:,} rows)")
    with tempfile.TemporaryDirectory(prefix="panel-bench-") as data_dir:
        first, again = (ingest_in_child(export, Path(data_dir)) for _ in range(2))
    _report_ingest("first ingest", first)
    _report_ingest("same file again", again)
    print(f"re-ingest speed-up: {first['seconds'] / again['seconds']:.1f}x (goal: at least 5x)")
    print()
    _compare_alternatives(export, options.sample)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--damage-rate", type=float, default=0.01)
    parser.add_argument(
        "--sample", type=int, default=100_000, help="rows for the alternative-vs-ours comparisons"
    )
    parser.add_argument("--child", nargs=2, metavar=("EXPORT", "DATA_DIR"), help=argparse.SUPPRESS)
    return parser.parse_args()


def generated_export(rows: int, seed: int, damage_rate: float) -> Path:
    """The generated export, made once and kept in benchmarks/out/ (it is reproducible)."""
    path = OUT / f"signups-{rows}-seed{seed}-damage{damage_rate}.csv"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "data_samples.generate",
                "signups",
                str(path),
                "--rows",
                str(rows),
                "--seed",
                str(seed),
                "--damage-rate",
                str(damage_rate),
            ],
            check=True,
        )
    return path


def ingest_in_child(export: Path, data_dir: Path) -> dict[str, Any]:
    """Ingest in a fresh process (as ``panel ingest`` would), returning what it measured."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.ingest_benchmark",
            "--child",
            str(export),
            str(data_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PANEL_DATA_DIR": str(data_dir), "PANEL_DATABASE_URL": ""},
    )
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def _child(export: Path) -> None:
    """Runs in the child: the flow's own steps, timed, without a Prefect server."""
    started = time.perf_counter()
    from ingest import gx_process

    gx_process.start()  # as `panel ingest` does, before the heavy imports
    from configuration.settings import load_settings
    from flows.ingest_flow import PLAIN_STEPS, ingest_file
    from store.panel_store import PanelStore

    store = PanelStore.open(load_settings().store)
    summary = ingest_file(store, export, "benchmark", load_settings().ingest, run=PLAIN_STEPS)
    seconds = time.perf_counter() - started
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    result = {
        "status": summary.status,
        "rows": summary.rows,
        "stored": summary.stored,
        "quarantined": summary.quarantined,
        "known": summary.known,
        "seconds": seconds,
        "stages": summary.seconds,
        "peak_rss_mb": peak / 1024,
    }
    print(json.dumps(result))


def _report_ingest(label: str, result: dict[str, Any]) -> None:
    rows, seconds = int(result["rows"]), float(result["seconds"])
    stages: dict[str, float] = result["stages"]
    print(
        f"{label}: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s end to end "
        f"(stored {result['stored']:,}, quarantined {result['quarantined']:,}, known "
        f"{result['known']:,}); peak memory {float(result['peak_rss_mb']):,.0f} MB"
    )
    other = seconds - sum(stages.values())
    for stage, spent in [*stages.items(), ("start-up (imports, store)", other)]:
        print(f"  {stage:26s} {spent:6.1f} s  {rows / max(spent, 1e-9):>12,.0f} rows/s")


def _compare_alternatives(export: Path, sample: int) -> None:
    """Each choice the ingest makes, against the obvious alternative, on the same rows."""
    import io

    import pandas as pd

    from ingest.row_validation import validate_rows
    from schemas.export_file import read_export

    raw = export.read_bytes()
    cut = _first_rows(raw, sample)
    print(f"alternatives, on the first {sample:,} rows:")

    started = time.perf_counter()
    pd.read_csv(io.BytesIO(cut), sep=";", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    pandas_seconds = time.perf_counter() - started
    started = time.perf_counter()
    read_export(export, cut)
    arrow_seconds = time.perf_counter() - started
    _ratio(
        "parse",
        "pandas read_csv (C engine)",
        pandas_seconds,
        "pyarrow + line numbers",
        arrow_seconds,
        sample,
    )

    # Worker processes pay off only on big files (PARALLEL_FROM_ROWS): compare on 300,000 rows.
    big = read_export(export, _first_rows(raw, max(sample, 300_000)))
    started = time.perf_counter()
    validate_rows(big.kind, big.rows, workers=1)
    one = time.perf_counter() - started
    started = time.perf_counter()
    validated = validate_rows(big.kind, big.rows, workers=os.cpu_count() or 1)
    many = time.perf_counter() - started
    _ratio(
        "row validation",
        "pydantic, one process",
        one,
        f"{os.cpu_count()} worker processes",
        many,
        big.rows.num_rows,
    )

    core, bulk = _insert_both_ways(validated.valid)
    _ratio(
        "store profiles",
        "SQLAlchemy Core insert()",
        core,
        "driver executemany, key order",
        bulk,
        len(validated.valid),
    )


def _first_rows(raw: bytes, rows: int) -> bytes:
    end = 0
    for _ in range(rows + 1):  # the header, then the rows (sample rows hold no line breaks)
        end = raw.index(b"\n", end) + 1
    return raw[:end]


def _insert_both_ways(valid: pd.DataFrame) -> tuple[float, float]:
    """Seconds to insert the rows as profiles: SQLAlchemy Core with row dicts, then ours."""
    from sqlalchemy import insert

    from store.bulk import insert_frame
    from store.database import create_panel_engine, migrate
    from store.tables import IngestRun, Profile

    columns = [
        c.name for c in Profile.__table__.columns if c.name not in ("volunteer_id", "ingest_id")
    ]
    frame = valid[columns].assign(volunteer_id="V0", ingest_id=1)
    times: list[float] = []
    for way in ("core", "bulk"):
        with tempfile.TemporaryDirectory() as folder:
            engine = create_panel_engine(f"sqlite:///{folder}/panel.db")
            migrate(engine)
            with engine.begin() as connection:
                connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
                connection.execute(
                    insert(IngestRun).values(
                        ingest_id=1,
                        file_name="x",
                        file_sha256="x",
                        actor="x",
                        started_at=datetime.now(UTC),
                        status="running",
                    )
                )
                started = time.perf_counter()
                if way == "core":
                    records: list[dict[str, Any]] = (
                        frame.astype(object).where(frame.notna(), None).to_dict("records")  # type: ignore[assignment]
                    )
                    for record in records:
                        record["submitted_at"] = record["submitted_at"].to_pydatetime()
                    connection.execute(insert(Profile), records)
                else:
                    insert_frame(connection, Profile, frame)
                times.append(time.perf_counter() - started)
                connection.rollback()
            engine.dispose()
    return times[0], times[1]


def _ratio(
    what: str, theirs: str, their_seconds: float, ours: str, our_seconds: float, rows: int
) -> None:
    print(
        f"  {what:15s} {theirs:28s} {rows / their_seconds:>10,.0f} rows/s | {ours:30s} "
        f"{rows / our_seconds:>10,.0f} rows/s | {their_seconds / our_seconds:4.1f}x"
    )


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["--child"]:
        _child(Path(arguments[1]))
    else:
        main()
