"""`panel contact`: the outreach flow from the command line, with its Prefect artifact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from configuration.settings import Settings
from store.panel_store import PanelStore
from store.tables import Invitation, InvitationRetry
from tests.helpers import RLS, snapshot
from tests.smtp_server import start_smtp_server
from tests.test_contact_run import approve, panel_of, volunteer
from tests.test_match_flow import panel

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]


@pytest.fixture
def approved(store: PanelStore, settings: Settings, tmp_path: Path) -> PanelStore:
    panel_of(store, tmp_path, range(1, 5))
    approve(store, 1, 2)
    return store


def test_a_dry_run_lists_who_would_be_invited_and_who_is_held_back_and_changes_nothing(
    approved: PanelStore,
) -> None:
    before = snapshot(approved)
    code, out, err = panel("contact", "--study", RLS, "--dry-run")
    assert code == 0, err
    assert f"{RLS}: would invite 2" in out and "held back, not approved: 2" in out
    for number in (1, 2, 3, 4):
        assert volunteer(approved, number) in out
    assert "dry run: nothing was queued or sent" in out
    assert snapshot(approved) == before

    code, out, _ = panel("contact", "--dry-run", "--json")
    (study,) = json.loads(out)["studies"]
    assert sorted(study["invite"]) == sorted([volunteer(approved, 1), volunteer(approved, 2)])
    assert study["counts"] == {"invite": 2, "not approved": 2}


def test_a_run_sends_reports_failures_with_exit_code_1_and_publishes_counts_only(
    approved: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with start_smtp_server() as server:
        monkeypatch.setenv("PANEL_SMTP_URL", server.url)
        server.refuse_next(1, 550, "5.1.1 no such mailbox")
        code, out, err = panel("contact")
        received = server.received
    assert code == 1
    assert "sent 1" in out and "550" in err
    assert f"  {RLS}: 1 sent, 1 failed" in out  # the study's outbox after the run
    assert [r.rcpt_tos for r in received] in (
        [["p1@example.dk"]],
        [["p2@example.dk"]],
    )
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["contact-run"])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    summary = str(artifact.data)
    assert f"| {RLS} | 2 | not approved: 2 |" in summary and "failed 1" in summary
    assert "example.dk" not in summary  # no address, no name: Message-IDs only

    assert panel("contact")[1].count("held back, already invited to this study: 2") == 1
    code, out, _ = panel("contact", "--json")
    assert code == 0
    run = json.loads(out)
    assert run["delivery"]["taken_over"] == [] and run["delivery"]["sent"] == 0
    assert run["outbox"] == [
        {
            "study_id": RLS,
            "queued": 0,
            "waiting_to_retry": 0,
            "next_retry_at": None,
            "sending": 0,
            "sending_abandoned": 0,
            "takeover_at": None,
            "sent": 1,
            "failed": 1,
            "cancelled": 0,
        }
    ]


def test_an_unknown_study_is_refused_with_a_clear_message(approved: PanelStore) -> None:
    code, _, err = panel("contact", "--study", "nope")
    assert code == 1 and "no published study 'nope'" in err


def test_a_bad_smtp_url_stops_the_run_before_anything_is_queued(
    approved: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANEL_SMTP_URL", "smtp+starttls://anna:hemmelig@")
    before = snapshot(approved)
    code, _, err = panel("contact")
    assert code == 1 and "PANEL_SMTP_URL" in err and "hemmelig" not in err
    assert snapshot(approved) == before


def test_retry_queues_failed_invitations_again_and_delivers_them_once(
    approved: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_smtp_server() as server:
        monkeypatch.setenv("PANEL_SMTP_URL", server.url)
        server.refuse_next(1, 550, "5.1.1 <p1@example.dk>, <p2@example.dk>: no such mailbox")
        code, _, err = panel("contact")
        assert code == 1 and "[address]" in err and "example.dk" not in err
        (failed,) = [v for v in (volunteer(approved, 1), volunteer(approved, 2)) if v in err]
        before = snapshot(approved)

        code, out, err = panel("contact", "retry", RLS, failed, "V0000000000")
        assert (code, out) == (1, "")
        assert err.strip() == (
            f"error: no failed invitation of {RLS} to retry for V0000000000; nothing was "
            f"changed (`panel contact retry {RLS}` retries every failed one)"
        )
        assert snapshot(approved) == before
        code, _, err = panel("contact", "--dry-run", "retry", RLS)
        assert code == 1 and "are options of `panel contact`" in err
        code, _, err = panel("contact", "retry", "nope")
        assert code == 1 and err.strip() == "error: no published study 'nope'"

        code, out, err = panel("contact", "retry", RLS, "--actor", "ops@example.dk")
        assert code == 0, err
        assert f"{RLS}: queued again 1" in out and failed in out and "sent 1;" in out
        assert f"  {RLS}: 2 sent" in out
        messages = server.message_ids()
    assert len(messages) == 2 and len(set(messages)) == 2
    with approved.engine.connect() as connection:
        ids = dict(connection.execute(select(Invitation.volunteer_id, Invitation.message_id)).all())
        (asked,) = connection.execute(select(InvitationRetry.requested_by)).scalars()
    assert ids[failed] in messages and asked == "ops@example.dk"
    assert panel("contact", "retry", RLS)[1] == f"{RLS}: no failed invitations to retry\n"
    nothing = json.loads(panel("contact", "retry", RLS, "--json")[1])
    assert nothing["studies"][0]["invite"] == [] and nothing["delivery"] is None
    assert nothing["outbox"][0]["sent"] == 2 and nothing["dry_run"] is False
    assert "retry" in panel("contact", "--help")[1]
