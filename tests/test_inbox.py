"""The cycle's inbox: which files it takes, in which order, and where they go after."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ingest import inbox

NOW = datetime(2026, 12, 2, 2, 0, 5, tzinfo=UTC)


def test_exports_are_taken_in_name_order_and_hidden_or_partial_files_are_left(
    tmp_path: Path,
) -> None:
    for name in ("2026-12-02-signups.csv", "2026-12-01-afmeldinger.csv", ".DS_Store", "x.part"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in inbox.waiting(tmp_path)] == [
        "2026-12-01-afmeldinger.csv",
        "2026-12-02-signups.csv",
    ]
    assert inbox.waiting(tmp_path / "missing") == []


def test_a_name_taken_in_the_processed_folder_keeps_both_files(tmp_path: Path) -> None:
    processed = tmp_path / "processed"
    for content in ("first", "second"):
        (tmp_path / "signups.csv").write_text(content)
        inbox.move_processed(tmp_path / "signups.csv", processed, NOW)
    files = list(processed.iterdir())
    assert sorted(f.read_text() for f in files) == ["first", "second"]
    assert (processed / "signups.csv").read_text() == "first"
    assert not (tmp_path / "signups.csv").exists()


def test_a_refused_export_goes_to_rejected_with_its_reasons_next_to_it(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("x")
    moved = inbox.move_rejected(
        tmp_path / "b.csv", tmp_path / "rejected", ["column 'postnummer' is renamed"], NOW
    )
    reason = (tmp_path / "rejected" / "b.csv.reason.txt").read_text()
    assert moved == tmp_path / "rejected" / "b.csv"
    assert "b.csv was refused" in reason and "column 'postnummer' is renamed" in reason
