"""The panel cycle: the inbox in, every recruiting study matched, invitations out; a refused
export stops it (and is reported); a cycle with nothing new changes nothing."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from configuration.settings import Settings
from store import storing
from store.panel_store import PanelStore
from store.tables import Candidate, Invitation, MatchRun
from tests.helpers import (
    AS_OF,
    SAMPLES,
    STUDIES,
    publish,
    rls_person,
    snapshot,
    submission_id,
    write_signups,
)
from tests.test_match_flow import panel

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]
DAY = AS_OF.strftime("%d-%m-%Y")


@pytest.fixture
def inbox(store: PanelStore, settings: Settings) -> Path:
    for name in ("rls-magnesium", "sleep-healthy"):
        publish(store, STUDIES / f"{name}.yaml")
    folder = settings.cycle.inbox_dir
    folder.mkdir(parents=True)
    return folder


def first_matched(store: PanelStore) -> dict[str, object]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(Candidate.volunteer_id, Candidate.first_matched_at).where(
                Candidate.study_id == "rls-magnesium"
            )
        )
        return {volunteer_id: moment for volunteer_id, moment in rows}


def count(store: PanelStore, table: type) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def test_a_cycle_ingests_the_inbox_matches_and_invites_and_a_rerun_changes_nothing(
    store: PanelStore, settings: Settings, inbox: Path
) -> None:
    shutil.copy(SAMPLES / "signups.csv", inbox / "2026-11-27-signups.csv")
    shutil.copy(SAMPLES / "afmeldinger.csv", inbox / "2026-11-28-afmeldinger.csv")

    code, out, err = panel("cycle", "--as-of", DAY)
    assert code == 0, err
    assert "2 export(s)" in out and "rls-magnesium: 7 eligible" in out
    assert sorted(p.name for p in settings.cycle.processed_dir.iterdir()) == [
        "2026-11-27-signups.csv",
        "2026-11-28-afmeldinger.csv",
    ]
    assert list(inbox.iterdir()) == []
    invited = count(store, Invitation)
    assert invited > 0  # the sleep study approves its eligible candidates itself
    assert len(list(settings.outreach.outbox_dir.glob("*.eml"))) <= invited

    before, runs = snapshot(store), count(store, MatchRun)
    code, out, _ = panel("cycle", "--as-of", DAY)
    assert code == 0
    assert "0 export(s)" in out and "rls-magnesium: up to date" in out
    assert snapshot(store) == before and count(store, MatchRun) == runs


def test_a_new_signup_is_added_and_known_candidates_keep_their_rows(
    store: PanelStore, settings: Settings, inbox: Path, tmp_path: Path
) -> None:
    shutil.copy(SAMPLES / "signups.csv", inbox / "a.csv")
    assert panel("cycle", "--as-of", DAY)[0] == 0
    listed = first_matched(store)
    write_signups(inbox / "b.csv", [rls_person(9001, indsendelse_id=submission_id(9001))])
    code, out, _ = panel("cycle", "--as-of", DAY)
    assert code == 0 and "rls-magnesium: 8 eligible, 24 need screening, 1 new" in out
    now_listed = first_matched(store)
    assert {v: t for v, t in now_listed.items() if v in listed} == listed
    assert len(now_listed) == len(listed) + 1


class Webhook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Webhook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, object]]]:
    server = HTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("PANEL_NOTIFY_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    Webhook.received = []
    yield Webhook.received
    server.shutdown()


def test_a_refused_export_stops_the_cycle_before_matching_and_is_reported(
    store: PanelStore, settings: Settings, inbox: Path, webhook: list[dict[str, object]]
) -> None:
    shutil.copy(SAMPLES / "signups.csv", inbox / "a.csv")
    shutil.copy(SAMPLES / "broken" / "column_renamed.csv", inbox / "b.csv")

    code, _, err = panel("cycle", "--as-of", DAY)

    assert code == 1 and "cycle stopped" in err and "b.csv" in err and "postnr" in err
    assert count(store, MatchRun) == 0 and count(store, Invitation) == 0
    rejected = settings.cycle.rejected_dir
    assert sorted(p.name for p in rejected.iterdir()) == ["b.csv", "b.csv.reason.txt"]
    assert "postnr" in (rejected / "b.csv.reason.txt").read_text()
    assert [p.name for p in settings.cycle.processed_dir.iterdir()] == ["a.csv"]
    (notice,) = webhook
    assert notice["flow"] == "panel-cycle" and notice["state"] == "Failed"
    assert "b.csv" in str(notice["text"]) and "@" not in str(notice["text"])


def test_a_file_that_breaks_ingest_is_set_aside_and_the_next_cycle_goes_on(
    store: PanelStore,
    settings: Settings,
    inbox: Path,
    webhook: list[dict[str, object]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not the file's fault (a bug of ours, whose exception text even holds a person's data):
    the file goes to rejected with the reason, the cycle fails and says so, and the next
    cycle is not held up by it."""
    shutil.copy(SAMPLES / "signups.csv", inbox / "a.csv")
    personal = "Jens Hansen, 12-03-1961"

    def a_bug(*args: object) -> None:
        raise KeyError(personal)

    write = storing.write_signups
    monkeypatch.setattr(storing, "write_signups", a_bug)
    code, _, err = panel("cycle", "--as-of", DAY)

    assert code == 1 and "cycle stopped" in err and "a.csv" in err
    assert "KeyError" not in err and personal not in err
    rejected = settings.cycle.rejected_dir
    assert sorted(p.name for p in rejected.iterdir()) == ["a.csv", "a.csv.reason.txt"]
    reason = (rejected / "a.csv.reason.txt").read_text()
    assert "nothing of it was stored" in reason and personal not in reason
    assert list(inbox.iterdir()) == [] and count(store, MatchRun) == 0
    (notice,) = webhook
    assert notice["state"] == "Failed" and personal not in json.dumps(notice)

    monkeypatch.setattr(storing, "write_signups", write)
    shutil.copy(SAMPLES / "inbox" / "2026-11-30-signups.csv", inbox)
    code, _, err = panel("cycle", "--as-of", DAY)
    assert code == 0, err
    assert count(store, MatchRun) == 2  # both studies matched
    assert [p.name for p in settings.cycle.processed_dir.iterdir()] == ["2026-11-30-signups.csv"]
