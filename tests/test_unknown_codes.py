"""Volunteers' diagnoses that WHO's ICD-10 does not know (the Danish hospital code system
extends it): stored as given, never quarantined for it, counted by the ingest summary and by
`panel status`."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from panelmatch import cli, reports
from panelmatch.cli import app
from store.overview import unknown_diagnoses
from store.panel_store import PanelStore
from tests.helpers import ingest, signup, submission_id, write_signups


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.out, "width", 250)


def person(number: int, diagnoses: str, when: str = "02-03-2026 21:14:05") -> dict[str, str]:
    return signup(
        indsendelse_id=submission_id(number),
        indsendt=when,
        email=f"person{number % 100}@example.dk",
        diagnoser=diagnoses,
    )


def test_unknown_codes_are_stored_and_counted_per_code_never_quarantined(
    store: PanelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANEL_QUARANTINE_THRESHOLD", "0.5")  # one broken row of seven
    rows = [
        person(1, "G25.8A|N18.3"),
        person(2, "g25.8a"),
        person(3, "N18.31|G25.8A|I10"),
        person(4, "G25.8"),
        person(5, "INGEN"),
        person(6, ""),
        person(7, "G2X.8"),  # not a code at all: quarantined, as before
    ]
    (file,) = ingest(store, write_signups(tmp_path / "signups.csv", rows)).files
    assert (file.status, file.stored, file.quarantined) == ("accepted", 6, 1)
    assert file.unknown_diagnoses == {"G25.8A": 3, "N18.31": 1}
    assert list(file.unknown_diagnoses) == ["G25.8A", "N18.31"]  # the most frequent first
    (quarantined,) = file.quarantine
    assert quarantined.line == 8 and "G2X.8" in " ".join(quarantined.problems)

    shown = Console(width=250, record=True)
    reports.print_file(shown, shown, file)
    assert (
        "diagnoses not in WHO's ICD-10 (stored as given): G25.8A (3 rows), N18.31 (1 row)"
        in shown.export_text()
    )


def test_a_file_of_known_codes_counts_none(store: PanelStore, tmp_path: Path) -> None:
    rows = [person(1, "G25.8|N18"), person(2, "INGEN")]
    (file,) = ingest(store, write_signups(tmp_path / "signups.csv", rows)).files
    assert file.stored == 2 and file.unknown_diagnoses == {}
    shown = Console(width=250, record=True)
    reports.print_file(shown, shown, file)
    assert "WHO" not in shown.export_text()


def test_status_lists_the_most_frequent_unknown_codes_of_current_profiles(
    store: PanelStore, tmp_path: Path
) -> None:
    earlier = [
        person(1, "G25.8A|N18.3"),
        person(2, "G25.8A"),
        person(3, "N18.39|N18.31", "01-03-2026 10:00:00"),  # replaced below: not counted
        person(4, "N18.31|E11"),
    ]
    ingest(store, write_signups(tmp_path / "first.csv", earlier))
    later = [person(103, "E11.9|Z99.99", "03-03-2026 10:00:00")]  # person3@example.dk again
    ingest(store, write_signups(tmp_path / "second.csv", later))
    with store.reading() as connection:
        assert unknown_diagnoses(connection) == {"G25.8A": 2, "N18.31": 1, "Z99.99": 1}

    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.stderr
    assert (
        "diagnoses not in WHO's ICD-10 (Danish extensions, stored as given), most frequent in "
        "current profiles: G25.8A (2 volunteers), N18.31 (1 volunteer), Z99.99 (1 volunteer)"
    ) in result.stdout


def test_status_says_nothing_of_codes_when_all_are_known(store: PanelStore, tmp_path: Path) -> None:
    ingest(store, write_signups(tmp_path / "signups.csv", [person(1, "G25.8")]))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0 and "WHO" not in result.stdout
