"""Row validation gives the same answer on one core or many."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from data_samples.synthetic import generate_signups
from ingest import row_validation
from schemas.export_file import read_export
from tests.helpers import write_signups


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    rows = generate_signups(
        2500, seed=3, start=date(2025, 1, 1), end=date(2026, 10, 31), damage_rate=0.05
    )
    path = write_signups(tmp_path_factory.mktemp("rows") / "s.csv", [row.values for row in rows])
    return read_export(path)


@pytest.mark.slow
def test_worker_processes_give_the_same_result_as_one_process(
    export, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    serial = row_validation.validate_rows(export.kind, export.rows, workers=1)
    monkeypatch.setattr(row_validation, "PARALLEL_FROM_ROWS", 100)
    monkeypatch.setattr(row_validation, "CHUNK_ROWS", 700)
    parallel = row_validation.validate_rows(export.kind, export.rows, workers=2)
    pd.testing.assert_frame_equal(serial.valid, parallel.valid)
    assert serial.quarantined == parallel.quarantined
    assert len(serial.quarantined) > 50
    assert len(serial.valid) + len(serial.quarantined) == export.rows.num_rows


def test_progress_is_reported_up_to_every_row(export) -> None:  # type: ignore[no-untyped-def]
    seen: list[int] = []
    row_validation.validate_rows(export.kind, export.rows, workers=1, on_progress=seen.append)
    assert seen[-1] == export.rows.num_rows and seen == sorted(seen)


def test_valid_rows_keep_their_types(export) -> None:  # type: ignore[no-untyped-def]
    valid = row_validation.validate_rows(export.kind, export.rows, workers=1).valid
    assert str(valid["submitted_at"].dtype) == "datetime64[us, UTC]"
    assert set(valid["sex"]) == {"female", "male", "other"}
    assert set(valid["pregnant"].dropna()) == {"yes", "no", "unknown"}
    assert valid["diagnoses"].isna().any() and (valid["diagnoses"] == "").any()
