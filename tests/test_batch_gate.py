"""The batch gate: Great Expectations decides each file as a whole, and its reports hold no
contact details."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.batch_gate import check_batch
from schemas.export_file import read_export
from schemas.exports import column_differences
from schemas.signup import SIGNUP_COLUMNS
from tests.helpers import signup, submission_id, write_signups

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def gate(
    path: Path,
    quarantined: list[int] | None = None,
    received_at: datetime = NOW,
    tmp: Path | None = None,
):  # type: ignore[no-untyped-def]
    export = read_export(path)
    return check_batch(
        export,
        quarantined or [],
        threshold=0.05,
        received_at=received_at,
        report_dir=(tmp or path.parent) / "report",
    )


def people(count: int, **cells: str) -> list[dict[str, str]]:
    return [
        signup(indsendelse_id=submission_id(i), email=f"p{i}@example.dk", **cells)
        for i in range(count)
    ]


def test_a_good_file_passes_and_leaves_a_result_and_data_docs(tmp_path: Path) -> None:
    verdict = gate(write_signups(tmp_path / "a.csv", people(20)))
    assert verdict.passed and verdict.failures == []
    assert verdict.result_path is not None and verdict.result_path.exists()
    assert verdict.docs_path is not None and verdict.docs_path.exists()


def test_reports_never_hold_contact_details_or_free_text(tmp_path: Path) -> None:
    rows = people(
        20,
        fornavn="Hemmelig",
        efternavn="Hemmeligsen",
        telefon="99 88 77 66",
        andet="mit hemmelige liv",
    )
    rows[0]["koen"] = "ukendt"  # make a failure so values are shown
    rows[1]["koen"] = "ukendt"
    verdict = gate(write_signups(tmp_path / "a.csv", rows), quarantined=[0, 1])
    assert not verdict.passed
    for page in (tmp_path / "report").rglob("*"):
        if page.is_file() and page.suffix in (".html", ".json"):
            text = page.read_text(errors="replace").lower()
            assert (
                "hemmelig" not in text and "@example.dk" not in text and "99 88 77 66" not in text
            )


def test_the_quarantine_share_must_stay_under_the_threshold(tmp_path: Path) -> None:
    path = write_signups(tmp_path / "a.csv", people(20))
    assert gate(path, quarantined=[]).passed
    verdict = gate(path, quarantined=[0])  # 1 of 20 = 5 %: not under 5 %
    assert not verdict.passed
    assert verdict.failures == [
        "1 of 20 rows (5.0%) fail validation: a file is refused when 5% or more do (PANEL_QUARANTINE_THRESHOLD)"
    ]


def test_a_repeated_submission_id_names_its_lines(tmp_path: Path) -> None:
    rows = people(20)
    rows[7]["indsendelse_id"] = rows[2]["indsendelse_id"].upper()
    verdict = gate(write_signups(tmp_path / "a.csv", rows))
    assert verdict.failures == ["indsendelse_id: the same id appears 2 times, on lines 4 and 9"]


def test_submissions_from_the_future_refuse_the_file(tmp_path: Path) -> None:
    path = write_signups(tmp_path / "a.csv", people(20, indsendt="01-12-2026 10:00:00"))
    verdict = gate(path, received_at=NOW)
    assert not verdict.passed
    assert (
        "indsendt: 20 values (100.0 %) lie outside 01-01-2015 00:00 to 29-11-2026 00:00"
        in verdict.failures
    )


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        (
            lambda c: [x if x != "postnummer" else "postnr" for x in c],
            "column 'postnummer' is renamed 'postnr'",
        ),
        (lambda c: [x for x in c if x != "telefon"], "column 'telefon' is missing"),
        (lambda c: [*c[:6], "mobil", *c[6:]], "column 'mobil' is added (after 'telefon')"),
        (lambda c: [c[1], c[0], *c[2:]], "in another order"),
    ],
)
def test_header_changes_are_named(change, sentence: str) -> None:  # type: ignore[no-untyped-def]
    assert sentence in column_differences(change(list(SIGNUP_COLUMNS)), list(SIGNUP_COLUMNS))
