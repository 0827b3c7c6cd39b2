"""The review app keeps answering while an ingest stores a file: a login, a page view (its
access log row) and a decision each get in between two of the file's parts, instead of
waiting for the whole file (on SQLite, one writer at a time; on PostgreSQL, no waiting)."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from configuration.settings import load_settings
from data_samples.synthetic import generate_signups
from review.app import create_app
from schemas.review import Role
from store import staging, storing
from store.panel_store import PanelStore
from store.tables import Decision, IngestRun
from tests.helpers import RLS, add_user, everyone, ingest, write_signups
from tests.processes import wait_until
from tests.review_fixtures import csrf, log_in

SPAWN = multiprocessing.get_context("spawn")
PART_ROWS = 5


def _store_in_slow_parts(export: str, ready: Any) -> None:
    """An ingest in a process of its own, each of its parts holding the writers' turn for
    0.2 s: long enough for a request to arrive while one is being written."""
    staging.PART_ROWS = {"sqlite": PART_ROWS, "postgresql": PART_ROWS}
    write = storing.write_signups
    storing.write_signups = lambda *args: (time.sleep(0.2), write(*args))[1]  # type: ignore[assignment]
    store = PanelStore.open(load_settings().store)
    ready.set()
    ingest(store, Path(export))
    # Now, not at the interpreter's exit: a spawned process joins its children (the Great
    # Expectations process) before it would shut their pool down, and waits for ever.
    os._exit(0)


@pytest.fixture
def storing_a_file(matched: PanelStore, tmp_path: Path) -> Iterator[int]:
    """An ingest storing a 300-row file in the background, under way; its parts in all."""
    rows = [
        row.values
        for row in generate_signups(300, seed=11, start=date(2025, 1, 1), end=date(2026, 10, 31))
    ]
    export = write_signups(tmp_path / "big.csv", rows)
    ready = SPAWN.Event()
    child = SPAWN.Process(target=_store_in_slow_parts, args=(str(export), ready))
    child.start()
    try:
        assert ready.wait(60)
        assert wait_until(lambda: _progress(matched)[0] == "storing", timeout=180)
        yield len(rows) // PART_ROWS
        child.join(300)
        assert child.exitcode == 0
    finally:
        child.kill()


def _progress(store: PanelStore) -> tuple[str, int]:
    """The newest ingest's status and parts stored."""
    with store.engine.connect() as connection:
        row = connection.execute(
            select(IngestRun.status, IngestRun.stored_parts).order_by(IngestRun.ingest_id.desc())
        ).first()
    return ("none", 0) if row is None else (row.status, row.stored_parts or 0)


def test_logins_page_views_and_decisions_get_in_between_an_ingests_parts(
    matched: PanelStore, storing_a_file: int
) -> None:
    add_user(matched, "coord@example.org", Role.COORDINATOR, RLS)  # (waits its turn too)
    one = everyone(matched, status="eligible")[0]
    with TestClient(create_app(matched), base_url="https://testserver") as client:
        log_in(client, "coord@example.org")
        listed = client.get(f"/studies/{RLS}/candidates")
        path = f"/studies/{RLS}/candidates/{one.volunteer_id}"
        form = {"csrf_token": csrf(client, path), "seen_version": str(one.review_version)}
        decided = client.post(f"{path}/decision", data=form | {"action": "defer"})
    status, parts = _progress(matched)

    assert listed.status_code == 200 and "page 1 of" in listed.text  # logged in, and listed
    assert decided.status_code == 200 and "Saved: deferred" in decided.text
    # All of it while the file was still being stored, not after it.
    assert status == "storing" and parts < storing_a_file, (status, parts)
    assert wait_until(lambda: _progress(matched)[0] == "accepted", timeout=300)
    with matched.engine.connect() as connection:
        assert connection.execute(select(Decision.action)).scalars().all() == ["defer"]
