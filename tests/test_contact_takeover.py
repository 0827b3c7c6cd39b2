"""A sender counts an outcome only where it still held its claim: real races, with the first
sender held at DATA by a real SMTP server while a second one takes the invitation over after
the lease, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest

from configuration.settings import Settings
from outreach.contact_run import queue_invitations
from store.panel_store import PanelStore
from tests.helpers import AS_OF, NOW, RLS
from tests.outreach_fixtures import (
    LEASE,
    server,
    smtp_settings,
    start_sender,
    statuses,
    stored_message_ids,
)
from tests.smtp_server import SmtpServer
from tests.test_contact_run import approve, panel_of

__all__ = ["server", "smtp_settings"]  # fixtures


def wait_for(condition: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("reply", "outcome", "status"),
    [
        ("250 2.0.0 OK", "sent", "sent"),
        ("451 4.3.0 try again later", "retrying", "queued"),
        ("550 5.1.1 no such mailbox", "failed", "failed"),
    ],
)
def test_a_sender_whose_claim_was_taken_over_counts_nothing(
    store: PanelStore,
    smtp_settings: Settings,
    server: SmtpServer,
    tmp_path: Path,
    reply: str,
    outcome: str,
    status: str,
) -> None:
    panel_of(store, tmp_path, [1])
    approve(store, 1)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.block_data(keep=False)
    first = start_sender(store, smtp_settings)
    assert server.data_started.wait(60)
    # The first sender still waits for the server when its lease runs out: a second one
    # takes the invitation over, and reaches DATA too.
    second = start_sender(store, smtp_settings, timedelta(seconds=LEASE + 1))
    wait_for(lambda: server.holding == 2)
    server.release(reply)

    (message_id,) = stored_message_ids(store)
    lost, held = first.report(), second.report()
    assert lost.taken_over == [message_id]
    assert (lost.sent, lost.retrying, lost.failed) == (0, 0, [])
    counted = {"sent": held.sent, "retrying": held.retrying, "failed": len(held.failed)}
    assert counted == {"sent": 0, "retrying": 0, "failed": 0} | {outcome: 1}
    assert held.taken_over == []
    assert statuses(store) == {status: 1}
    if status == "sent":  # what a lease too short for the server costs: a duplicate
        assert server.message_ids() == [message_id, message_id]
