"""Exactly once, with real faults: a real SMTP server on loopback that refuses, drops the
connection or hangs, contact runs killed with SIGKILL between queueing and sending and in
the middle of sending, and two contact runs at once, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.synchronize import Barrier, Event
from pathlib import Path

import pytest
from sqlalchemy import select

from configuration.settings import Settings
from outreach.contact_run import configured_channels, queue_invitations, send_invitations
from outreach.sender import SendReport
from store import outbox
from store.panel_store import PanelStore
from store.tables import Invitation
from tests.helpers import AS_OF, NOW, RLS
from tests.smtp_server import SmtpServer, start_smtp_server
from tests.test_contact_run import approve, panel_of

SPAWN = multiprocessing.get_context("spawn")
LEASE = 600


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with start_smtp_server() as running:
        yield running


@pytest.fixture
def smtp_settings(
    settings: Settings, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("PANEL_SMTP_URL", server.url + "?timeout=5")
    monkeypatch.setenv("PANEL_SEND_LEASE_SECONDS", str(LEASE))
    return Settings()


def send(store: PanelStore, settings: Settings, after: timedelta = timedelta()) -> SendReport:
    return send_invitations(
        store,
        settings.outreach,
        AS_OF,
        configured_channels(settings.outreach),
        clock=lambda: NOW + after,
    )


def statuses(store: PanelStore) -> Counter[str]:
    with store.engine.connect() as connection:
        return Counter(outbox.message_ids(connection).values())


def stored_message_ids(store: PanelStore) -> list[str]:
    with store.engine.connect() as connection:
        return sorted(outbox.message_ids(connection))


@pytest.fixture
def approved(store: PanelStore, smtp_settings: Settings, tmp_path: Path) -> PanelStore:
    """Three volunteers approved for the RLS trial."""
    panel_of(store, tmp_path, range(1, 4))
    approve(store, 1, 2, 3)
    return store


def test_a_refusal_is_retried_later_and_delivered_once(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    queue_invitations(approved, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.refuse_next(1)  # 451: try again later
    first = send(approved, smtp_settings)
    too_soon = send(approved, smtp_settings, timedelta(seconds=30))
    later = send(approved, smtp_settings, timedelta(minutes=2))

    assert (first.sent, first.retrying, too_soon.sent, later.sent) == (2, 1, 0, 1)
    assert sorted(server.message_ids()) == stored_message_ids(approved)
    assert statuses(approved) == {"sent": 3}


def test_a_dropped_connection_is_retried_and_delivered_once(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    queue_invitations(approved, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.drop_next(2)
    send(approved, smtp_settings)
    send(approved, smtp_settings, timedelta(minutes=10))
    assert sorted(server.message_ids()) == stored_message_ids(approved)
    assert len(server.received) == 3 and statuses(approved) == {"sent": 3}


def test_a_permanent_refusal_fails_with_the_servers_answer_and_is_not_resent(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    queue_invitations(approved, smtp_settings.outreach, [RLS], AS_OF, "t", NOW)
    server.refuse_next(1, 550, "5.1.1 no such mailbox")
    report = send(approved, smtp_settings)
    again = send(approved, smtp_settings, timedelta(days=1))
    (failure,) = report.failed
    assert "550" in failure and "no such mailbox" in failure
    assert (report.sent, again.sent) == (2, 0)
    assert statuses(approved) == {"sent": 2, "failed": 1}


def test_retries_stop_after_the_configured_attempts(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    settings = smtp_settings.model_copy(update={"send_max_attempts": 2})
    queue_invitations(approved, settings.outreach, [RLS], AS_OF, "t", NOW)
    server.refuse_next(10)
    send(approved, settings)
    last = send(approved, settings, timedelta(hours=1))
    assert len(last.failed) == 3 and server.received == []
    assert statuses(approved) == {"failed": 3}


def _contact_run(stop_after_queueing: bool, ready: Event, start: Barrier | None) -> None:
    """A contact run in its own process (the test's PANEL_* settings are inherited)."""
    settings = Settings()
    store = PanelStore.open(settings.store)
    if start is not None:
        start.wait()
    queue_invitations(store, settings.outreach, [RLS], AS_OF, f"run {os.getpid()}", NOW)
    ready.set()
    if stop_after_queueing:
        time.sleep(120)  # the test kills us here
    send_invitations(
        store, settings.outreach, AS_OF, configured_channels(settings.outreach), clock=lambda: NOW
    )


def _start(stop_after_queueing: bool, start: Barrier | None = None) -> tuple[object, Event]:
    ready = SPAWN.Event()
    process = SPAWN.Process(target=_contact_run, args=(stop_after_queueing, ready, start))
    process.start()
    return process, ready


def _kill(process: object) -> None:
    assert isinstance(process, multiprocessing.process.BaseProcess) and process.pid
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    assert process.exitcode == -signal.SIGKILL


def test_a_run_killed_between_queueing_and_sending_loses_nothing(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    process, ready = _start(stop_after_queueing=True)
    assert ready.wait(60)
    _kill(process)
    assert statuses(approved) == {"queued": 3} and server.received == []

    assert send(approved, smtp_settings).sent == 3
    assert sorted(server.message_ids()) == stored_message_ids(approved)


def test_a_run_killed_mid_send_is_taken_over_after_its_lease_and_sent_once(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    server.block_data(keep=False)  # the kill comes before the server accepts the message
    process, _ = _start(stop_after_queueing=False)
    assert server.data_started.wait(60)
    _kill(process)
    server.release()
    assert statuses(approved) == {"sending": 1, "queued": 2}

    # Its claim is respected until the lease runs out: that sender might still be at work.
    assert send(approved, smtp_settings).sent == 2
    assert send(approved, smtp_settings, timedelta(seconds=LEASE + 1)).sent == 1
    assert sorted(server.message_ids()) == stored_message_ids(approved)


def test_the_one_window_a_kill_after_the_server_accepted_resends_with_the_same_message_id(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    server.block_data(keep=True)  # the server has the message; the sender never hears so
    process, _ = _start(stop_after_queueing=False)
    assert server.data_started.wait(60)
    _kill(process)
    server.release()

    send(approved, smtp_settings, timedelta(seconds=LEASE + 1))
    delivered = Counter(server.message_ids())
    assert sorted(delivered) == stored_message_ids(approved)
    assert sorted(delivered.values()) == [1, 1, 2]  # the duplicate carries the same Message-ID
    assert statuses(approved) == {"sent": 3}


def test_two_contact_runs_at_once_invite_everyone_exactly_once(
    approved: PanelStore, smtp_settings: Settings, server: SmtpServer
) -> None:
    start = SPAWN.Barrier(2)
    runs = [_start(False, start) for _ in range(2)]  # keep the events alive for the children
    for process, _ in runs:
        assert isinstance(process, multiprocessing.process.BaseProcess)
        process.join(120)
        assert process.exitcode == 0
    with approved.engine.connect() as connection:
        queued_by = set(connection.execute(select(Invitation.queued_by)).scalars())
    assert len(queued_by) == 1  # the second run found them queued already
    assert sorted(server.message_ids()) == stored_message_ids(approved)
    assert len(server.received) == 3 and statuses(approved) == {"sent": 3}
