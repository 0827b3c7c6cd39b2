"""Failed invitations queued again: every rule checked again, the same Message-ID, delivered
exactly once by the normal sender, even with other senders at work (threads and real
processes), with who asked recorded; against aiosmtpd, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from configuration.settings import Settings
from outreach.contact_rules import HeldBack
from outreach.contact_run import queue_invitations, retry_failed
from outreach.errors import NothingToRetry
from store.panel_store import PanelStore
from store.tables import Invitation, InvitationRetry
from tests.helpers import (
    AS_OF,
    NOW,
    RLS,
    ingest,
    match_and_record,
    rls_person,
    snapshot,
    write_signups,
    write_withdrawals,
)
from tests.outreach_fixtures import (
    LEASE,
    send,
    server,
    smtp_settings,
    start_sender,
    start_sender_process,
    statuses,
    stored_message_ids,
)
from tests.smtp_server import SmtpServer
from tests.test_contact_run import LATER, approve, panel_of, volunteer
from tests.test_contact_takeover import wait_for

__all__ = ["server", "smtp_settings"]  # fixtures


def retry(
    store: PanelStore, settings: Settings, *volunteer_ids: str, after: timedelta = timedelta()
) -> list[str]:
    """Queue failed invitations again; the volunteers queued."""
    chosen = list(volunteer_ids) or None
    plan = retry_failed(store, settings.outreach, RLS, chosen, AS_OF, "operator", NOW + after)
    return plan.invite


def one_failed(store: PanelStore, settings: Settings, server: SmtpServer, tmp_path: Path) -> str:
    """p1 and p2 invited; the server refuses one of them for good: that volunteer's id."""
    panel_of(store, tmp_path, [1, 2])
    approve(store, 1, 2)
    queue_invitations(store, settings.outreach, [RLS], AS_OF, "t", NOW)
    server.refuse_next(1, 550, "5.1.1 no such mailbox")
    report = send(store, settings)
    assert (report.sent, len(report.failed)) == (1, 1)
    with store.engine.connect() as connection:
        return connection.execute(
            select(Invitation.volunteer_id).where(Invitation.status == "failed")
        ).scalar_one()


def message_of(store: PanelStore, volunteer_id: str) -> str:
    with store.engine.connect() as connection:
        return connection.execute(
            select(Invitation.message_id).where(Invitation.volunteer_id == volunteer_id)
        ).scalar_one()


def retries(store: PanelStore) -> list[tuple[str, str, str]]:
    with store.engine.connect() as connection:
        return [
            (volunteer_id, by, outcome)
            for volunteer_id, by, outcome in connection.execute(
                select(
                    Invitation.volunteer_id, InvitationRetry.requested_by, InvitationRetry.outcome
                )
                .join(Invitation, Invitation.invitation_id == InvitationRetry.invitation_id)
                .order_by(InvitationRetry.retry_id)
            )
        ]


def test_a_failed_invitation_retried_is_delivered_once_with_its_message_id(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    failed = one_failed(store, smtp_settings, server, tmp_path)
    message_id = message_of(store, failed)
    (again,) = queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    assert again.held_back[HeldBack.ALREADY_INVITED] and not again.invite  # runs leave it

    assert retry(store, smtp_settings) == [failed]
    report = send(store, smtp_settings)
    assert (report.sent, report.failed, report.taken_over) == (1, [], [])
    assert send(store, smtp_settings, timedelta(days=1)).sent == 0
    assert Counter(server.message_ids()) == Counter(stored_message_ids(store))
    assert message_of(store, failed) == message_id and statuses(store) == {"sent": 2}
    assert retries(store) == [(failed, "operator", "queued")]
    assert retry(store, smtp_settings) == []  # nothing failed is left


def test_a_retry_checks_every_rule_again_and_leaves_what_a_rule_holds_back_failed(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    failed = one_failed(store, smtp_settings, server, tmp_path)
    number = next(n for n in (1, 2) if volunteer(store, n) == failed)
    rows = [(f"p{number}@example.dk", LATER, "afmeld")]
    ingest(store, write_withdrawals(tmp_path / "w.csv", rows))

    (plan,) = queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    assert failed in plan.held_back[HeldBack.ALREADY_INVITED]
    plan = retry_failed(store, smtp_settings.outreach, RLS, None, AS_OF, "operator", NOW)
    assert plan.invite == [] and plan.held_back == {HeldBack.WITHDRAWN: [failed]}
    assert statuses(store) == {"sent": 1, "failed": 1}
    assert retries(store) == [(failed, "operator", "withdrawn")]


def test_naming_a_volunteer_without_a_failed_invitation_changes_nothing(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    failed = one_failed(store, smtp_settings, server, tmp_path)
    sent = next(volunteer(store, n) for n in (1, 2) if volunteer(store, n) != failed)
    before = snapshot(store)
    with pytest.raises(NothingToRetry, match=f"to retry for {sent}, V0000000000; nothing"):
        retry(store, smtp_settings, failed, sent, "V0000000000")
    assert snapshot(store) == before


def test_a_sender_that_lost_its_claim_cannot_finish_the_claim_made_after_a_retry(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    """A sender waits at DATA past its lease; a second takes over and the server refuses it
    for good; the operator retries; a third sender takes it. The first may not record its
    outcome on the third's claim (the numbers of claims go on across a retry)."""
    panel_of(store, tmp_path, [1])
    approve(store, 1)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.block_data(keep=False)
    stale = start_sender(store, smtp_settings)
    assert server.data_started.wait(60)
    server.refuse_next(1, 550, "5.1.1 no such mailbox")  # refusals come before holding
    assert len(send(store, smtp_settings, timedelta(seconds=LEASE + 1)).failed) == 1

    assert retry(store, smtp_settings, after=timedelta(seconds=LEASE + 1)) == [volunteer(store, 1)]
    third = start_sender(store, smtp_settings, timedelta(seconds=LEASE + 2))
    wait_for(lambda: server.holding == 2)
    server.release()

    (message_id,) = stored_message_ids(store)
    assert stale.report().taken_over == [message_id] and stale.report().sent == 0
    assert third.report().sent == 1 and statuses(store) == {"sent": 1}


def test_a_retry_while_another_sender_runs_sends_each_message_once(
    store: PanelStore, smtp_settings: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    failed = one_failed(store, smtp_settings, server, tmp_path)
    ingest(store, write_signups(tmp_path / "p3.csv", [rls_person(3)]))
    match_and_record(store, RLS)
    approve(store, 3)
    queue_invitations(store, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.block_data(keep=False)
    running = start_sender_process()  # takes p3's invitation and waits at DATA
    assert server.data_started.wait(60)
    retrying = start_sender_process(retry_first=True)  # takes the failed one, waits at DATA
    wait_for(lambda: server.holding == 2, 120)
    server.release()
    for process in (running, retrying):
        process.join(120)
        assert process.exitcode == 0

    assert Counter(server.message_ids()) == Counter(stored_message_ids(store))
    assert statuses(store) == {"sent": 3} and retries(store) == [(failed, "operator", "queued")]
