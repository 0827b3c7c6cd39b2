"""The answer page killed with SIGKILL in the middle of an answer: nothing half-written.

A "Kontakt mig ikke igen" writes the answer and, in the same transaction, the withdrawal. The
test holds the volunteer's row locked, so the page's transaction stops between the two (its
answer written, its withdrawal waiting), kills ``panel respond`` there, and finds neither:
no answer, no withdrawal, no run in the audit log. The same link then works as before.
PostgreSQL only: SQLite has one writer, so there is no "between" to stop in.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading

import httpx
import pytest
from sqlalchemy import func, select, text

from configuration.settings import Settings
from store.panel_store import PanelStore
from store.tables import IngestRun, InvitationAnswer, Volunteer, Withdrawal
from tests.processes import wait_until
from tests.test_contact_run import volunteer
from tests.test_respond_app import FORM_TOKEN, linked, tokens

__all__ = ["linked", "tokens"]  # fixtures, used by name


def _serve(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "panelmatch.cli", "respond", "--port", str(port)]
    server = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/static/respond.css").status_code == 200
        except httpx.HTTPError:
            return False

    assert wait_until(up, timeout=120), "the answer page did not start"
    return server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(base: str, token: str, answers: list[int]) -> None:
    with httpx.Client(base_url=base, timeout=120) as client:
        page = client.get(f"/svar/{token}")
        found = FORM_TOKEN.search(page.text)
        assert found is not None
        try:
            said = client.post(f"/svar/{token}", data={"answer": "stop", "form_token": found[1]})
            answers.append(said.status_code)
        except httpx.HTTPError:
            answers.append(0)  # the server died under it


def _written(store: PanelStore, volunteer_id: str) -> tuple[int, int, object, int]:
    with store.reading() as connection:
        return (
            connection.execute(select(func.count()).select_from(InvitationAnswer)).scalar_one(),
            connection.execute(select(func.count()).select_from(Withdrawal)).scalar_one(),
            connection.execute(
                select(Volunteer.withdrawn_at).where(Volunteer.volunteer_id == volunteer_id)
            ).scalar_one(),
            connection.execute(select(func.count()).select_from(IngestRun)).scalar_one(),
        )


def test_a_stop_killed_between_its_answer_and_its_withdrawal_leaves_neither(
    store: PanelStore, linked: Settings, tokens: dict[int, str]
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: no transaction waits half-way")
    volunteer_id = volunteer(store, 1)
    before = _written(store, volunteer_id)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _serve(port)
    answered: list[int] = []
    try:
        with store.engine.connect() as holder:
            holder.execute(
                text("SELECT 1 FROM volunteer WHERE volunteer_id = :v FOR UPDATE"),
                {"v": volunteer_id},
            )
            stopping = threading.Thread(target=_stop, args=(base, tokens[1], answered))
            stopping.start()

            def waiting_on_the_lock() -> bool:
                with store.engine.connect() as watcher:
                    return bool(
                        watcher.execute(
                            text(
                                "SELECT count(*) FROM pg_stat_activity "
                                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                            )
                        ).scalar_one()
                    )

            assert wait_until(waiting_on_the_lock, timeout=60), "the stop never reached the lock"
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(30)
            holder.rollback()
        stopping.join(60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
    assert answered == [0]
    # PostgreSQL ends the dead connection's transaction: nothing of the stop is left.
    assert wait_until(lambda: _written(store, volunteer_id) == before, timeout=30)

    port = _free_port()  # the killed server's port may still be held by its connections
    server = _serve(port)
    try:
        again: list[int] = []
        _stop(f"http://127.0.0.1:{port}", tokens[1], again)
        assert again == [200]
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)
    answers, withdrawals, withdrawn_at, runs = _written(store, volunteer_id)
    assert (answers, withdrawals, runs) == (before[0] + 1, before[1] + 1, before[3] + 1)
    assert withdrawn_at is not None
