"""`panel study ...` and `panel candidates export`: what researchers and coordinators type."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from panelmatch import console
from panelmatch.cli import app
from schemas.act import Act
from store import studies
from store.panel_store import PanelStore
from tests.helpers import (
    contactable,
    ingest,
    published,
    record_match,
    signup,
    study_of,
    submission_id,
    write_signups,
)

STUDIES = Path(__file__).parent.parent / "data_samples" / "studies"
SAMPLES = Path(__file__).parent.parent / "data_samples"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.out, "width", 200)
    monkeypatch.setattr(console.err, "width", 200)


def panel(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_check_passes_good_studies_and_fails_broken_ones() -> None:
    files = sorted(STUDIES.glob("*.yaml"))
    code, out, _ = panel("study", "check", *files)
    assert code == 0 and out.count("ok ") == len(files) == 5
    assert "0 error(s), 0 warning(s)" in out
    code, out, err = panel(
        "study", "check", STUDIES / "rls-magnesium.yaml", STUDIES / "broken" / "misspelt-names.yaml"
    )
    assert code == 1
    assert (
        "misspelt-names.yaml:12:12: error: inclusion[0].field: unknown field 'agee', did you mean 'age'?"
        in err
    )
    assert "5 error(s)" in out


def test_warnings_alone_do_not_fail_a_check() -> None:
    code, out, _ = panel("study", "check", STUDIES / "broken" / "contradictions.yaml")
    assert code == 0 and "0 error(s), 5 warning(s)" in out and "empty range" in out


def test_publish_refuses_a_broken_study(store: PanelStore) -> None:
    code, _, err = panel("study", "publish", STUDIES / "broken" / "bad-values.yaml")
    assert code == 1 and "'active' is not one of" in err
    assert published(store) == []


def test_publish_and_list(store: PanelStore) -> None:
    code, out, _ = panel("study", "publish", STUDIES / "rls-magnesium.yaml")
    assert code == 0 and out.startswith("published rls-magnesium version 1")
    assert panel("study", "publish", STUDIES / "rls-magnesium.yaml")[1].startswith("unchanged:")
    code, out, _ = panel("study", "list")
    assert (
        "rls-magnesium: Oral magnesium for restless legs syndrome (RLS-MAG) — recruiting, target 120; version 1 of 1"
        in out
    )


def test_preview_shows_the_funnel_and_draws_it(store: PanelStore, tmp_path: Path) -> None:
    ingest(store, SAMPLES / "signups.csv")
    for suffix in ("png", "svg"):
        chart = tmp_path / f"funnel.{suffix}"
        code, out, err = panel(
            "study",
            "preview",
            STUDIES / "rls-magnesium.yaml",
            "--as-of",
            "28-11-2026",
            "--chart",
            chart,
        )
        assert code == 0, err
        assert "Aged 18 to 75 (inclusive) on the match date" in out and "need screening" in out
        assert chart.stat().st_size > 1000
    assert chart.read_text().lstrip().startswith("<?xml")
    assert published(store) == []  # a preview publishes nothing


def test_preview_with_a_bad_date_is_one_clear_error(store: PanelStore) -> None:
    code, _, err = panel(
        "study", "preview", STUDIES / "rls-magnesium.yaml", "--as-of", "2026-13-45"
    )
    assert code == 1 and "--as-of '2026-13-45' is not a date" in err


def test_schema_is_the_published_one() -> None:
    code, out, _ = panel("study", "schema")
    assert (
        code == 0
        and out
        == (Path(__file__).parent.parent / "schemas" / "study-definition.schema.json").read_text()
    )


def test_candidates_export_is_pseudonymous_and_formula_safe(
    store: PanelStore, tmp_path: Path
) -> None:
    from datetime import UTC, date, datetime

    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.panel import prepare_panel

    people = [
        signup(indsendelse_id=submission_id(i), email=f"p{i}@example.dk", fornavn="Hemmelig")
        for i in range(3)
    ]
    ingest(store, write_signups(tmp_path / "a.csv", people))
    study = study_of(
        [{"id": "adult", "label": '=HYPERLINK("http://x")', "field": "age", "at_least": 18}],
        study_id="formula",
        status="recruiting",
    )
    with store.writing() as connection:
        studies.publish(connection, study, "", Act("test", datetime.now(UTC)))
    profiles, _ = contactable(store)
    match = match_study(study, prepare_panel(profiles, date(2026, 11, 28)))
    record_match(
        store,
        attrition_funnel(match),
        candidate_records(match),
        date(2026, 11, 28),
        "test",
        datetime.now(UTC),
    )

    code, out, _ = panel("candidates", "export", "formula")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert code == 0 and len(rows) == 3
    assert {row["status"] for row in rows} == {"eligible"}
    assert all(row["volunteer_id"].startswith("V") for row in rows)
    assert "Hemmelig" not in out and "@example.dk" not in out
    xlsx = tmp_path / "c.xlsx"
    assert panel("candidates", "export", "formula", "--format", "xlsx", "--output", xlsx)[0] == 0
    sheet = load_workbook(xlsx).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["volunteer_id", "status", "review", "to_screen"]
    assert all(
        not str(cell.value).startswith("=")
        for row in sheet.iter_rows()
        for cell in row
        if cell.value
    )


def test_export_of_an_unknown_study_is_one_clear_error(store: PanelStore) -> None:
    code, _, err = panel("candidates", "export", "nope")
    assert code == 1 and "no published study 'nope'" in err
