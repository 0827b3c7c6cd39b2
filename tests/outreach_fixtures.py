"""Fixtures and helpers for outreach's operation tests: a real SMTP server on loopback,
settings that send to it, and senders running at once (threads: real concurrent senders on
one store, each with its own clock)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from configuration.settings import Settings, load_settings
from outreach.contact_run import configured_channels, retry_failed, send_invitations
from outreach.sender import SendReport
from store import outbox
from store.panel_store import PanelStore
from tests.helpers import AS_OF, NOW, RLS
from tests.smtp_server import SmtpServer, start_smtp_server

#: Long enough that no sender here times out while a test holds it at DATA for another
#: sender (a process) to arrive; the lease is 20 x the timeout, as the settings require.
SMTP_TIMEOUT = 180
LEASE = 20 * SMTP_TIMEOUT


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with start_smtp_server() as running:
        yield running


@pytest.fixture
def smtp_settings(
    settings: Settings, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """The test's settings, sending over SMTP to ``server`` (as `panel` commands read them)."""
    monkeypatch.setenv("PANEL_SMTP_URL", f"{server.url}?timeout={SMTP_TIMEOUT}")
    monkeypatch.setenv("PANEL_SEND_LEASE_SECONDS", str(LEASE))
    return load_settings()


def send(store: PanelStore, settings: Settings, after: timedelta = timedelta()) -> SendReport:
    """One sender's run over the configured channels, its clock ``after`` the tests' NOW."""
    return send_invitations(
        store,
        settings.outreach,
        AS_OF,
        configured_channels(settings.outreach),
        clock=lambda: NOW + after,
    )


@dataclass
class Sender:
    """A sender running in a thread of its own."""

    thread: threading.Thread
    reports: list[SendReport] = field(default_factory=list)

    def report(self) -> SendReport:
        self.thread.join(120)
        assert not self.thread.is_alive()
        (report,) = self.reports
        return report


def start_sender(store: PanelStore, settings: Settings, after: timedelta = timedelta()) -> Sender:
    reports: list[SendReport] = []
    thread = threading.Thread(target=lambda: reports.append(send(store, settings, after)))
    thread.start()
    return Sender(thread, reports)


def statuses(store: PanelStore) -> Counter[str]:
    with store.engine.connect() as connection:
        return Counter(outbox.message_ids(connection).values())


def stored_message_ids(store: PanelStore) -> list[str]:
    with store.engine.connect() as connection:
        return sorted(outbox.message_ids(connection))


SPAWN = multiprocessing.get_context("spawn")


def _sender_process(retry_first: bool) -> None:
    """A sender run, first queueing the RLS trial's failed invitations again with
    ``retry_first``, in a process of its own (the test's PANEL_* settings are inherited)."""
    settings = Settings()
    store = PanelStore.open(settings.store)
    if retry_first:
        retry_failed(store, settings.outreach, RLS, None, AS_OF, "operator", NOW)
    send_invitations(
        store, settings.outreach, AS_OF, configured_channels(settings.outreach), clock=lambda: NOW
    )


def start_sender_process(retry_first: bool = False) -> multiprocessing.process.BaseProcess:
    process = SPAWN.Process(target=_sender_process, args=(retry_first,))
    process.start()
    return process


def kill(process: multiprocessing.process.BaseProcess) -> None:
    assert process.pid
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    assert process.exitcode == -signal.SIGKILL
