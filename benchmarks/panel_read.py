"""Reading the contactable panel from the store, as `panel match` does before it matches.

    python -m benchmarks.panel_read [--rows N] [--runs K] [--database-url URL]

Ingests a generated export of N rows (default 1,000,000; no damage) into an SQLite store
once, kept in ``benchmarks/out/``, then reads every contactable volunteer's current profile
K times (default 3), in the same run, and checks every way holds the same:

* ours: ``store.match_runs.contactable_profiles`` (``store.arrow_read``: on SQLite the
  driver's rows turned into Arrow columns a slice at a time, on PostgreSQL its CSV parsed by
  Arrow);
* on PostgreSQL also the driver's rows, as on SQLite;
* the obvious alternative: the same SELECT through SQLAlchemy's result rows into a DataFrame,
  ordered in SQL.

With ``--database-url`` it reads that store instead, e.g. the PostgreSQL one of
``benchmarks.cycle_benchmark`` (``postgresql+psycopg://postgres@127.0.0.1:5432/panel_bench_cycle``,
1,000,000 volunteers).
"""

from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from benchmarks.ingest_benchmark import OUT, generated_export, ingest_in_child
from configuration.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="", help="read this store instead")
    options = parser.parse_args()
    data_dir = OUT / f"store-{options.rows}-seed{options.seed}"
    if options.database_url:
        data_dir = OUT / "panel-read-elsewhere"
        data_dir.mkdir(parents=True, exist_ok=True)
    elif not (data_dir / "panel.db").exists():
        print("ingesting the panel (once; kept in benchmarks/out/) ...", flush=True)
        data_dir.mkdir(parents=True, exist_ok=True)
        ingest_in_child(generated_export(options.rows, options.seed, 0.0), data_dir)
    os.environ.update({"PANEL_DATA_DIR": str(data_dir), "PANEL_DATABASE_URL": options.database_url})
    seconds = _read_every_way(options.runs)
    best = {way: min(times) for way, times in seconds.items()}
    ours = best.pop(OURS)
    print(f"{OURS}: best {ours:.2f} s of {options.runs}")
    for way, spent in best.items():
        print(f"{way}: best {spent:.2f} s: ours is {spent / ours:.1f}x faster")


OURS = "ours (store.arrow_read)"
DRIVER_ROWS = "the driver's rows -> Arrow columns"
ORM_ROWS = "SQLAlchemy's result rows -> DataFrame"


def _read_every_way(runs: int) -> dict[str, list[float]]:
    from sqlalchemy import select

    from matching.panel import PROFILE_SCHEMA
    from store.arrow_read import read_driver_rows
    from store.match_runs import contactable, contactable_profiles
    from store.panel_store import PanelStore
    from store.tables import Profile, Volunteer

    store = PanelStore.open(load_settings().store)
    statement = (
        select(Volunteer.volunteer_id, *(getattr(Profile, n) for n in PROFILE_SCHEMA.names[1:]))
        .join(Profile, Profile.submission_id == Volunteer.current_submission_id)
        .where(*contactable())
    )
    ways = {
        OURS: contactable_profiles,
        DRIVER_ROWS: lambda connection: (
            read_driver_rows(connection, statement, PROFILE_SCHEMA)
            .sort_by("volunteer_id")
            .to_pandas()
        ),
        ORM_ROWS: lambda connection: pd.DataFrame(
            (result := connection.execute(statement.order_by(Volunteer.volunteer_id))).all(),
            columns=list(result.keys()),
        ),
    }
    if store.engine.dialect.name != "postgresql":
        del ways[DRIVER_ROWS]  # that is ours there
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    read: dict[str, pd.DataFrame] = {}
    for _ in range(runs):
        for way, read_panel in ways.items():
            with store.reading() as connection:
                started = time.perf_counter()
                read[way] = read_panel(connection)
                seconds[way].append(time.perf_counter() - started)
    ours = read[OURS]
    for way, profiles in read.items():
        assert len(profiles) == len(ours), (way, len(profiles), len(ours))
        for column in ("volunteer_id", "submission_id", "birth_date"):
            assert list(profiles[column]) == list(ours[column]), (way, column)
    print(f"{len(ours):,} contactable profiles read, the same every way ({store.engine.url})")
    return seconds


if __name__ == "__main__":
    main()
