"""``panel ingest`` end to end: the Prefect flow, the CLI's summary, exit codes and artifacts."""

from __future__ import annotations

import csv
import email
import email.policy
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from panelmatch.cli import app
from store.database import create_panel_engine
from store.panel_store import PanelStore
from store.tables import (
    Candidate,
    Contact,
    Invitation,
    InvitationAnswer,
    ScreeningAnswer,
    Volunteer,
)
from tests.helpers import snapshot

SAMPLES = Path(__file__).parent.parent / "data_samples"
BROKEN = sorted((SAMPLES / "broken").iterdir())

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]


def panel(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_prints_counts_that_add_up_and_exits_0(store: PanelStore) -> None:
    code, out, _ = panel("ingest", SAMPLES / "signups.csv")
    assert code == 0
    assert "rows 441 = stored 432 + quarantined 9 + known 0" in out
    assert "quarantined line 82" in out and "vaegt_kg: '" in out
    assert "Data Docs:" in out


def test_json_summary_is_one_object_with_the_counts(store: PanelStore) -> None:
    code, out, _ = panel("ingest", "--json", SAMPLES / "signups.csv", SAMPLES / "signups.csv")
    summary = json.loads(out)
    assert code == 0
    assert {key: summary[key] for key in ("rows", "stored", "quarantined", "known")} == {
        "rows": 882,
        "stored": 432,
        "quarantined": 18,
        "known": 432,
    }
    assert all(isinstance(summary[key], int) for key in ("rows", "stored", "quarantined", "known"))
    docs = Path(summary["files"][0]["data_docs"])
    assert docs.name == "index.html" and docs.exists()
    assert json.loads(Path(summary["files"][0]["validation_result"]).read_text())["success"] is True


def test_every_broken_file_is_refused_with_one_line_and_exit_1(store: PanelStore) -> None:
    before = snapshot(store)
    code, out, err = panel("ingest", *BROKEN)
    assert code == 1
    refused_lines = [line for line in err.splitlines() if line.startswith("refused ")]
    assert {line.split(":")[0].removeprefix("refused ") for line in refused_lines} == {
        str(p) for p in BROKEN
    }
    assert "Traceback" not in out + err
    assert snapshot(store) == before


def test_a_missing_file_is_refused_not_a_traceback(store: PanelStore, tmp_path: Path) -> None:
    code, _, err = panel("ingest", tmp_path / "nowhere.csv")
    assert code == 1
    assert "cannot read the file: No such file or directory" in err


def test_the_flow_publishes_a_summary_artifact_without_personal_data(store: PanelStore) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    panel("ingest", SAMPLES / "signups.csv", SAMPLES / "broken" / "duplicate_id.csv")
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ingest-summary"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    markdown = artifacts[0].data
    assert "| signups.csv | signups | accepted | 441 | 432 | 9 | 0 |" in markdown
    assert "duplicate_id.csv refused" in markdown
    assert "@" not in markdown  # no e-mail address, nor any other contact detail


def test_the_demo_runs_end_to_end_on_the_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANEL_DATA_DIR", str(tmp_path / "demo"))
    monkeypatch.delenv("PANEL_DATABASE_URL", raising=False)
    code, out, err = panel("demo", "--fresh")
    assert code == 0, err
    assert len(re.findall(r"^step \d: ", out, flags=re.MULTILINE)) == 9
    assert "0 export(s) (nothing new)" in out and "rls-magnesium: up to date" in out
    assert "rows 441 = stored 432 + quarantined 9 + known 0" in out
    assert "rows 441 = stored 0 + quarantined 9 + known 432" in out
    assert "column 'postnummer' is renamed 'postnr'" in err
    assert "volunteers" in out and "latest ingests" in out
    assert "Oral magnesium for restless legs syndrome (RLS-MAG)" in out  # the model study's funnel
    assert "rls-magnesium: " in out and " eligible, " in out
    assert_invited_exactly_the_approved_who_fit(tmp_path / "demo")
    assert "rls-magnesium: of 8 invited, 4 yes, 2 no, 1 stop answered; " in out
    assert_referred_exactly_those_who_said_yes(tmp_path / "demo")
    # Again: --fresh starts over from the same empty store.
    assert panel("demo", "--fresh")[1].count("stored 432") == 1


def assert_referred_exactly_those_who_said_yes(data_dir: Path) -> None:
    """The study team's export holds the RLS trial's volunteers whose answer is yes (the one
    asked screening questions among them, having answered them), by name, and nobody else;
    the one who answered stop is withdrawn."""
    engine = create_panel_engine(f"sqlite:///{data_dir / 'panel.db'}")
    with engine.connect() as connection:
        latest = {
            invitation_id: answer
            for invitation_id, answer in connection.execute(
                select(InvitationAnswer.invitation_id, InvitationAnswer.answer).order_by(
                    InvitationAnswer.answered_at, InvitationAnswer.answer_id
                )
            )
        }
        invited = connection.execute(
            select(Invitation.invitation_id, Contact.email, Volunteer.withdrawn_at)
            .join(Contact, Contact.volunteer_id == Invitation.volunteer_id)
            .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
            .where(Invitation.study_id == "rls-magnesium")
        ).all()
        asked = connection.execute(select(ScreeningAnswer.invitation_id).distinct()).scalars()
        asked_of = set(asked)
    engine.dispose()
    said_yes = {row.email for row in invited if latest.get(row.invitation_id) == "yes"}
    with (data_dir / "referrals-rls-magnesium.csv").open(encoding="utf-8-sig") as exported:
        assert {row["email"] for row in csv.DictReader(exported)} == said_yes
    assert len(said_yes) == 4 and len(asked_of) == 1
    assert asked_of <= {row.invitation_id for row in invited if row.email in said_yes}
    stopped = [row for row in invited if latest.get(row.invitation_id) == "stop"]
    assert len(stopped) == 1 and stopped[0].withdrawn_at is not None


def assert_invited_exactly_the_approved_who_fit(data_dir: Path) -> None:
    """The demo approves the RLS trial's eligible candidates and the sleep study approves its
    own (also those the nightly cycle adds): exactly those (all consent: the panel matched
    holds only those who may be contacted) have an invitation, each e-mail one is an .eml file
    in the outbox, and no file names a criterion or a diagnosis."""
    engine = create_panel_engine(f"sqlite:///{data_dir / 'panel.db'}")
    with engine.connect() as connection:
        eligible = set(
            connection.execute(
                select(Candidate.volunteer_id).where(
                    (
                        (Candidate.study_id == "rls-magnesium")
                        & (Candidate.review_state == "approved")
                        & Candidate.status.in_(["eligible", "needs_screening"])
                    )
                    | ((Candidate.study_id == "sleep-healthy") & (Candidate.status == "eligible")),
                )
            ).scalars()
        )
        sent = connection.execute(
            select(
                Invitation.volunteer_id, Invitation.channel, Contact.email, Volunteer.withdrawn_at
            )
            .join(Contact, Contact.volunteer_id == Invitation.volunteer_id)
            .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
            .where(Invitation.status == "sent")
        ).all()
    engine.dispose()
    # Whoever answered stop on the answer page has withdrawn: off every list since.
    still = {row.volunteer_id for row in sent if row.withdrawn_at is None}
    assert eligible and still == eligible
    files = list((data_dir / "outbox").glob("*.eml"))
    addressed = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["To"] for f in files
    ]
    assert sorted(addressed) == sorted(row.email for row in sent if row.channel == "email")
    texts = " ".join(f.read_text(encoding="utf-8", errors="replace") for f in files).lower()
    for health_word in ("g25", "restless", "magnesium", "diagnos", "irlssg", "søvnkvalitet"):
        assert health_word not in texts
