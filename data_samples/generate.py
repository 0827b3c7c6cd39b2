"""Command line: large synthetic exports, and the committed sample files.

python -m data_samples.generate signups OUT --rows N --seed S [--damage-rate R]
python -m data_samples.generate withdrawals OUT --rows N --seed S [--signup-rows M]
python -m data_samples.generate samples [OUT_DIR]
"""

from __future__ import annotations

import math
import random
import time
from datetime import date, datetime
from datetime import time as clock
from itertools import islice
from pathlib import Path
from typing import Annotated

import typer

from data_samples.export_writer import SIGNUP_COLUMNS, WITHDRAWAL_COLUMNS, ExportWriter
from data_samples.form_values import parse_timestamp
from data_samples.synthetic import SignupFactory, generate_signups, generate_withdrawals

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)

_DEFAULT_START = "2025-01-01"
_DEFAULT_END = "2026-10-31"

Out = Annotated[Path, typer.Argument(help="File to write.")]
Seed = Annotated[int, typer.Option(help="Random seed (of the signups export, for withdrawals).")]
FirstDay = Annotated[str, typer.Option(help="Signups' first day (yyyy-mm-dd).")]
LastDay = Annotated[str, typer.Option(help="Signups' last day (yyyy-mm-dd).")]


def _volunteers_for(rows: int, resubmission_rate: float) -> int:
    """Enough volunteers that their submissions surely reach ``rows``."""
    return math.ceil(rows / (1 + resubmission_rate) * 1.01) + 10


@app.command()
def signups(
    out: Out,
    *,
    rows: Annotated[int, typer.Option(help="Number of rows.")] = 1000,
    seed: Seed = 1,
    damage_rate: Annotated[float, typer.Option(help="Share of damaged rows.")] = 0.0,
    resubmission_rate: Annotated[float, typer.Option(help="Share who submit again.")] = 0.1,
    start: FirstDay = _DEFAULT_START,
    end: LastDay = _DEFAULT_END,
) -> None:
    """Stream a signups export of exactly ROWS rows (the earliest ones of a larger population)."""
    began = time.perf_counter()
    generated = SignupFactory(seed).signup_records(
        _volunteers_for(rows, resubmission_rate),
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
        resubmission_rate=resubmission_rate,
        damage_rate=damage_rate,
    )
    with ExportWriter(out, SIGNUP_COLUMNS) as writer:
        written = writer.write_records(record for record, _, _ in islice(generated, rows))
    _report(written, began, out)


@app.command()
def withdrawals(
    out: Out,
    *,
    rows: Annotated[int, typer.Option(help="Number of withdrawals.")] = 100,
    seed: Seed = 1,
    signup_rows: Annotated[int, typer.Option(help="Rows of that signups export.")] = 1000,
    start: FirstDay = _DEFAULT_START,
    end: LastDay = _DEFAULT_END,
    until: Annotated[str, typer.Option(help="Last withdrawal day (yyyy-mm-dd).")] = "2026-11-20",
) -> None:
    """Withdrawals by ROWS people of the signups export made with the same seed and rows."""
    began = time.perf_counter()
    latest: dict[str, tuple[str, datetime]] = {}
    generated = generate_signups(
        _volunteers_for(signup_rows, 0.1),
        seed=seed,
        start=date.fromisoformat(start),
        end=date.fromisoformat(end),
    )
    for row in islice(generated, signup_rows):
        email = row.values["email"]
        latest[email.lower()] = (email, parse_timestamp(row.values["indsendt"]))
    people = sorted(latest.values())
    chosen = [people[i] for i in _spread(len(people), min(rows, len(people)), seed)]
    withdrawn = generate_withdrawals(
        chosen,
        seed=seed,
        start=datetime.combine(date.fromisoformat(start), clock()),
        end=datetime.combine(date.fromisoformat(until), clock(23, 59, 59)),
    )
    with ExportWriter(out, WITHDRAWAL_COLUMNS) as writer:
        written = writer.write_all(row.values for row in withdrawn)
    _report(written, began, out)


def _spread(population: int, k: int, seed: int) -> list[int]:
    return sorted(random.Random(seed).sample(range(population), k))


@app.command()
def samples(
    out_dir: Annotated[
        Path, typer.Argument(help="Directory to write into (default: the package's own).")
    ] = Path(__file__).parent,
) -> None:
    """Regenerate the committed sample files, their manifest and broken/ (deterministic)."""
    from data_samples.samples import write_samples

    manifest = write_samples(out_dir)
    typer.echo(f"wrote {len(manifest['files'])} files to {out_dir}")


def _report(rows: int, began: float, out: Path) -> None:
    seconds = time.perf_counter() - began
    typer.echo(
        f"{rows:,} rows in {seconds:.1f} s ({rows / max(seconds, 1e-9):,.0f} rows/s) -> {out}"
    )


if __name__ == "__main__":
    app()
