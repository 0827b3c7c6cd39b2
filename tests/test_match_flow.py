"""`panel match`: the Prefect flow that matches published studies and keeps candidate lists."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from panelmatch.cli import app
from store.panel_store import PanelStore
from store.tables import Candidate, MatchRun
from tests.helpers import ingest

SAMPLES = Path(__file__).parent.parent / "data_samples"
STUDIES = SAMPLES / "studies"

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]


def panel(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_match_stores_candidates_with_explanations_and_publishes_counts(store: PanelStore) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    ingest(store, SAMPLES / "signups.csv")
    for study in sorted(STUDIES.glob("*.yaml")):
        assert panel("study", "publish", study)[0] == 0
    code, out, err = panel("match", "--all", "--as-of", "28-11-2026")
    assert code == 0, err
    assert out.count("eligible") == 3
    with store.engine.connect() as connection:
        runs = connection.scalar(select(func.count()).select_from(MatchRun))
        rls = connection.execute(
            select(Candidate).where(Candidate.study_id == "rls-magnesium")
        ).all()
    assert runs == 3 and rls
    one = rls[0]
    assert one.study_version and one.submission_id and str(one.as_of) == "2026-11-28"
    assert list(one.explanation)[:2] == ["age-18-75", "restless-legs"]
    assert all(
        outcome in ("met", "not_met", "unknown") and evidence
        for outcome, evidence in one.explanation.values()
    )
    screening = [c for c in rls if c.status == "needs_screening"]
    assert screening and all(c.unknown_criteria for c in screening)

    with get_client(sync_client=True) as client:
        (funnel,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["funnel-rls-magnesium"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert "Aged 18 to 75" in str(funnel.data) and "@" not in str(funnel.data)


def test_matching_an_unknown_study_is_one_clear_error(store: PanelStore) -> None:
    code, _, err = panel("match", "--study", "nope")
    assert code == 1 and "no published study 'nope'" in err


def test_only_recruiting_studies_are_matched(store: PanelStore, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        (STUDIES / "sleep-healthy.yaml").read_text().replace("status: recruiting", "status: draft")
    )
    assert panel("study", "publish", draft)[0] == 0
    code, _, err = panel("match", "--study", "sleep-healthy")
    assert code == 1
    assert "'sleep-healthy' is draft" in err and "panel study preview" in err
    with store.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(MatchRun)) == 0
