"""Reading the contactable panel from the store, as `panel match` does before it matches.

    python -m benchmarks.panel_read [--rows N] [--runs K]

Ingests a generated export of N rows (default 1,000,000; no damage) into an SQLite store
once, kept in ``benchmarks/out/``, then reads every contactable volunteer's current profile
K times (default 3) two ways, in the same run, and checks they hold the same:

* ours: ``store.candidates.contactable_profiles`` (driver rows to Arrow columns);
* the obvious alternative: the same SELECT through SQLAlchemy's result rows into a DataFrame,
  ordered in SQL.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from benchmarks.ingest_benchmark import OUT, generated_export, ingest_in_child


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    data_dir = OUT / f"store-{options.rows}-seed{options.seed}"
    if not (data_dir / "panel.db").exists():
        print("ingesting the panel (once; kept in benchmarks/out/) ...", flush=True)
        data_dir.mkdir(parents=True, exist_ok=True)
        ingest_in_child(generated_export(options.rows, options.seed, 0.0), data_dir)
    os.environ.update({"PANEL_DATA_DIR": str(data_dir), "PANEL_DATABASE_URL": ""})
    ours, theirs = _read_both_ways(data_dir, options.runs)
    best_ours, best_theirs = min(ours), min(theirs)
    print(
        f"ours (driver rows -> Arrow columns): best {best_ours:.2f} s of {options.runs}; "
        f"SQLAlchemy rows -> DataFrame: best {best_theirs:.2f} s; "
        f"{best_theirs / best_ours:.1f}x"
    )


def _read_both_ways(data_dir: Path, runs: int) -> tuple[list[float], list[float]]:
    from sqlalchemy import select

    from matching.panel import PROFILE_SCHEMA
    from store.candidates import contactable, contactable_profiles
    from store.panel_store import PanelStore
    from store.tables import Profile, Volunteer

    store = PanelStore.open()
    statement = (
        select(Volunteer.volunteer_id, *(getattr(Profile, n) for n in PROFILE_SCHEMA.names[1:]))
        .join(Profile, Profile.submission_id == Volunteer.current_submission_id)
        .where(*contactable())
        .order_by(Volunteer.volunteer_id)
    )
    ours, theirs = [], []
    for _ in range(runs):
        with store.engine.connect() as connection:
            started = time.perf_counter()
            profiles = contactable_profiles(connection)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = connection.execute(statement)
            rows = pd.DataFrame(result.all(), columns=list(result.keys()))
            theirs.append(time.perf_counter() - started)
    assert len(profiles) == len(rows), (len(profiles), len(rows))
    assert list(profiles["volunteer_id"]) == list(rows["volunteer_id"])
    assert list(profiles["submission_id"]) == list(rows["submission_id"])
    print(f"{len(profiles):,} contactable profiles read, the same both ways")
    return ours, theirs


if __name__ == "__main__":
    main()
