"""Each study's invitations by step of delivery, as `panel status` shows them: queued, waiting
to retry (and when), being sent (and which claims a dead sender left), sent, failed and
cancelled; counts only, on SQLite and PostgreSQL, from a real SMTP server's answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from configuration.settings import Settings
from outreach.contact_run import queue_invitations
from panelmatch.cli import app
from store.delivery_status import StudyOutbox
from store.panel_store import PanelStore
from tests.helpers import AS_OF, NOW, RLS, ingest, outbox, write_withdrawals
from tests.outreach_fixtures import (
    LEASE,
    kill,
    send,
    server,
    smtp_settings,
    start_sender,
    start_sender_process,
)
from tests.smtp_server import SmtpServer
from tests.test_contact_run import LATER, approve, panel_of

__all__ = ["server", "smtp_settings"]  # fixtures


def test_the_outbox_counts_every_step_of_delivery(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 7))
    approve(store, 1, 2, 3, 4)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    ingest(store, write_withdrawals(tmp_path / "w.csv", [("p4@example.dk", LATER, "afmeld")]))
    server.refuse_next(1)  # 451: waits 60 s to retry
    server.refuse_next(1, 550, "5.1.1 <p9@example.dk> no such mailbox")
    first = send(store, smtp_settings)
    assert (first.sent, first.retrying, len(first.failed)) == (1, 1, 1)

    approve(store, 5)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.block_data(keep=False)
    sender = start_sender(store, smtp_settings)  # takes 5's invitation and waits at DATA
    assert server.data_started.wait(60)
    approve(store, 6)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    try:
        (now,) = outbox(store, NOW, LEASE)
        (later,) = outbox(store, NOW + timedelta(seconds=LEASE + 1), LEASE)
        status = CliRunner().invoke(app, ["status"])
    finally:
        server.release()
        sender.report()

    assert now == StudyOutbox(
        RLS,
        queued=1,
        waiting_to_retry=1,
        next_retry_at=NOW + timedelta(seconds=60),
        sending=1,
        sending_abandoned=0,
        takeover_at=NOW + timedelta(seconds=LEASE),
        sent=1,
        failed=1,
        cancelled=1,
    )
    assert later.sending_abandoned == 1 and later.takeover_at == now.takeover_at
    assert status.exit_code == 0
    line = next(line for line in status.stdout.splitlines() if line.startswith(f"  {RLS}:"))
    assert line.split(": ", 1)[1].split(", ") == [
        "1 queued",
        "1 waiting to retry (next 2026-11-28 12:01 UTC)",
        # `panel status` counts by today's clock: that claim's lease ran out long ago.
        "1 being sent (1 left by a sender that died: taken over by the next run)",
        "1 sent",
        "1 failed",
        "1 cancelled",
    ]
    assert "example.dk" not in status.stdout


def test_a_store_without_invitations_shows_no_outbox(store: PanelStore) -> None:
    assert outbox(store, NOW, LEASE) == []
    assert "outbox" not in CliRunner().invoke(app, ["status"]).stdout


def test_an_invitation_left_sending_by_a_killed_run_is_reported_until_taken_over(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, [1])
    approve(store, 1)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.block_data(keep=False)
    process = start_sender_process()
    assert server.data_started.wait(60)
    kill(process)
    server.release()

    (now,) = outbox(store, NOW, LEASE)
    (after_lease,) = outbox(store, NOW + timedelta(seconds=LEASE + 1), LEASE)
    assert (now.sending, now.sending_abandoned, after_lease.sending_abandoned) == (1, 0, 1)
    assert now.takeover_at == NOW + timedelta(seconds=LEASE) == after_lease.takeover_at
    status = CliRunner().invoke(app, ["status"]).stdout
    assert f"  {RLS}: 1 being sent (1 left by a sender that died: taken over by the next run)" in (
        status
    )
    assert send(store, smtp_settings, timedelta(seconds=LEASE + 1)).sent == 1
    assert outbox(store, NOW + timedelta(seconds=LEASE + 1), LEASE) == [StudyOutbox(RLS, sent=1)]
