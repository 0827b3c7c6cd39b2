"""Criteria with a window over real stored profile histories (SQLite and PostgreSQL): which
versions count, what withdrawals cut off, and what the evidence says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from matching.engine import match_study
from matching.evidence import evidence_frame
from panelmatch.cli import app
from store.match_runs import matching_panel, panel_size
from store.panel_store import PanelStore
from store.tables import Candidate
from tests.helpers import (
    AS_OF,
    SAMPLES,
    STUDIES,
    ingest,
    rls_person,
    study_of,
    write_signups,
    write_withdrawals,
)

MAGNESIUM = {"medicines": ["A12CC"], "id": "magnesium", "label": "magnesium"}


def _versions(store: PanelStore, tmp_path: Path) -> None:
    """Three volunteers, each with two versions (as of 28-11-2026):

    * p1 took magnesium on 14-08-2026 and reported none on 20-10-2026;
    * p2 the same, but withdrew on 01-09-2026 and signed up again on 20-10-2026;
    * p3 reported no medicines on 01-02-2026 and left the question unanswered on 20-11-2026.
    """
    rows = [
        rls_person(
            1,
            indsendt="14-08-2026 10:00:00",
            medicin="A12CC04",
            email="p1@example.dk",
            postnummer="8000",
        ),
        rls_person(
            2,
            indsendt="14-08-2026 10:00:00",
            medicin="A12CC04",
            email="p2@example.dk",
            postnummer="8200",
        ),
        rls_person(
            3,
            indsendt="01-02-2026 10:00:00",
            medicin="INGEN",
            email="p3@example.dk",
            postnummer="8210",
        ),
        rls_person(
            11,
            indsendt="20-10-2026 10:00:00",
            medicin="INGEN",
            email="p1@example.dk",
            postnummer="8000",
        ),
        rls_person(
            12,
            indsendt="20-10-2026 10:00:00",
            medicin="INGEN",
            email="p2@example.dk",
            postnummer="8200",
        ),
        rls_person(
            13, indsendt="20-11-2026 10:00:00", medicin="", email="p3@example.dk", postnummer="8210"
        ),
    ]
    ingest(store, write_signups(tmp_path / "signups.csv", rows))
    withdrawal = [("p2@example.dk", "01-09-2026 12:00:00", "afmeld")]
    ingest(store, write_withdrawals(tmp_path / "withdrawals.csv", withdrawal))


def _outcomes(store: PanelStore, within: str | None) -> dict[str, tuple[str, str]]:
    criterion = MAGNESIUM | ({"within": within} if within else {})
    study = study_of([criterion])
    with store.reading() as connection:
        panel = matching_panel(connection, AS_OF, [study])
        assert panel_size(connection) == 3
    match = match_study(study, panel)
    evidence = evidence_frame(match, np.arange(panel.size))
    person = {8000: "p1", 8200: "p2", 8210: "p3"}  # told apart by their postcodes
    postcodes = panel.fields["postcode"].values
    return {
        person[int(postcodes[row])]: (
            evidence["magnesium"][row],
            evidence["magnesium.evidence"][row],
        )
        for row in range(panel.size)
    }


@pytest.mark.parametrize(
    ("within", "expected"),
    [
        (
            None,  # the current profile only
            {
                "p1": ("not_met", "no medicines reported 20-10-2026"),
                "p2": ("not_met", "no medicines reported 20-10-2026"),
                "p3": ("unknown", "medicines not answered"),
            },
        ),
        (
            "3m",  # from 28-08-2026: the 14-08 version was current when it opened
            {
                "p1": ("met", "medicine A12CC04 reported 14-08-2026"),
                "p2": ("not_met", "none of A12CC reported in the last 3 months (1 version)"),
                "p3": (
                    "unknown",
                    "medicines not answered in 1 of 2 profile versions in the last 3 months",
                ),
            },
        ),
        (
            "30d",  # from 29-10-2026: only the 20-10 versions count for p1 and p2
            {
                "p1": ("not_met", "none of A12CC reported in the last 30 days (1 version)"),
                "p2": ("not_met", "none of A12CC reported in the last 30 days (1 version)"),
                "p3": (
                    "unknown",
                    "medicines not answered in 1 of 2 profile versions in the last 30 days",
                ),
            },
        ),
        (
            "ever",
            {
                "p1": ("met", "medicine A12CC04 reported 14-08-2026"),
                "p2": ("not_met", "none of A12CC reported at any time (1 version)"),
                "p3": (
                    "unknown",
                    "medicines not answered in 1 of 2 profile versions at any time",
                ),
            },
        ),
    ],
)
def test_a_window_reads_the_versions_in_effect_and_never_those_before_a_withdrawal(
    store: PanelStore, tmp_path: Path, within: str | None, expected: dict[str, tuple[str, str]]
) -> None:
    _versions(store, tmp_path)
    assert _outcomes(store, within) == expected


def test_a_study_that_looks_back_matches_and_previews_through_the_commands(
    store: PanelStore, tmp_path: Path
) -> None:
    """The real trial transcription (recruiting here), matched by the Prefect flow and
    previewed: both read the profile history, and the windowed criteria's evidence is
    stored with the candidates."""
    ingest(store, SAMPLES / "signups.csv")
    trial = tmp_path / "trial.yaml"
    draft = (STUDIES / f"{TRIAL}.yaml").read_text(encoding="utf-8")
    trial.write_text(draft.replace("status: draft", "status: recruiting"), encoding="utf-8")
    assert _panel("study", "publish", trial)[0] == 0
    code, out, err = _panel("study", "preview", trial, "--as-of", "28-11-2026")
    assert code == 0, err
    assert "magnesium-last-3-months (medicines): A12CC" in out
    code, _, err = _panel("match", "--study", TRIAL, "--as-of", "28-11-2026")
    assert code == 0, err
    with store.reading() as connection:
        listed = connection.execute(
            select(Candidate.explanation).where(Candidate.study_id == TRIAL)
        ).scalars()
        explanations = list(listed)
    assert explanations
    for explanation in explanations:
        outcome, evidence = explanation["magnesium-last-3-months"]
        assert outcome in ("not_met", "unknown") and (
            "in the last 3 months" in evidence or "not answered" in evidence
        )


TRIAL = "nct04462796-magnesium-citrate"


def _panel(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
