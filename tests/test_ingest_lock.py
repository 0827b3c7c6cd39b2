"""One ingest at a time, with real processes: two ingests or two cycles at once both end well
with the right counts; a second one waits and says so, or with --no-wait stops at once (exit
code 75); a killed ingest leaves neither processes nor a run marked running for ever."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from configuration.settings import Settings
from ingest import child_processes
from store.ingest_runs import ingest_lock
from store.panel_store import PanelStore
from store.tables import IngestRun
from tests.helpers import SAMPLES, STUDIES, overview, publish, snapshot
from tests.processes import group_members, run_panel, start_panel, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("prefect")]
SIGNUPS = SAMPLES / "signups.csv"


def audit(store: PanelStore) -> list[str]:
    with store.engine.connect() as connection:
        return list(
            connection.execute(select(IngestRun.status).order_by(IngestRun.ingest_id)).scalars()
        )


def test_two_ingests_of_one_file_at_once_both_end_well_and_store_it_once(
    store: PanelStore, prefect_api_url: str
) -> None:
    runs = [start_panel("ingest", "--json", SIGNUPS, api_url=prefect_api_url) for _ in range(2)]
    results = [(run.wait(300), *run.communicate()) for run in runs]

    assert [code for code, _, _ in results] == [0, 0], results
    summaries = [json.loads(out) for _, out, _ in results]
    assert sorted(summary["stored"] for summary in summaries) == [0, 432]
    assert sorted(summary["known"] for summary in summaries) == [0, 432]
    assert all(summary["quarantined"] == 9 for summary in summaries)
    assert audit(store) == ["accepted", "accepted"]
    assert overview(store).profiles == 432


def test_a_second_ingest_waits_and_says_so_or_stops_at_once_with_no_wait(
    store: PanelStore, prefect_api_url: str
) -> None:
    before = snapshot(store)
    with ingest_lock(store, wait=False, on_wait=print):
        code, out, err = run_panel("ingest", "--no-wait", SIGNUPS, api_url=prefect_api_url)
        assert code == 75, err
        assert err.count("\n") == 1 and "another ingest is running" in err
        assert "--no-wait" in err and "Traceback" not in out + err
        assert snapshot(store) == before

        waiting = start_panel("ingest", SIGNUPS, api_url=prefect_api_url)
        assert waiting.stderr is not None
        said = waiting.stderr.readline()
        assert "another ingest is running" in said and "waiting" in said
        assert waiting.poll() is None  # still waiting, while we hold the lock
    out, err = waiting.communicate(timeout=300)
    assert waiting.returncode == 0, err
    assert "stored 432" in out
    assert audit(store) == ["accepted"]


def test_two_cycles_at_once_ingest_the_inbox_once_and_both_end_well(
    store: PanelStore, settings: Settings, prefect_api_url: str
) -> None:
    publish(store, STUDIES / "rls-magnesium.yaml")
    inbox = settings.cycle.inbox_dir
    inbox.mkdir(parents=True)
    shutil.copy(SIGNUPS, inbox / "2026-11-30-signups.csv")

    runs = [start_panel("cycle", api_url=prefect_api_url) for _ in range(2)]
    results = [(run.wait(600), *run.communicate()) for run in runs]

    assert [code for code, _, _ in results] == [0, 0], results
    assert audit(store) == ["accepted"]
    assert list(inbox.iterdir()) == []
    assert [p.name for p in settings.cycle.processed_dir.iterdir()] == ["2026-11-30-signups.csv"]


def test_a_killed_ingest_leaves_no_process_and_the_next_run_marks_it_interrupted(
    store: PanelStore, prefect_api_url: str
) -> None:
    run = start_panel("ingest", SIGNUPS, api_url=prefect_api_url)
    assert wait_until(lambda: audit(store) == ["running"], timeout=120)
    assert wait_until(lambda: len(group_members(run.pid)) > 1, timeout=60)  # GX's process

    os.kill(run.pid, signal.SIGKILL)
    run.wait(10)
    assert wait_until(lambda: group_members(run.pid) == [], timeout=10), group_members(run.pid)
    assert audit(store) == ["running"]

    code, _, err = run_panel("ingest", SIGNUPS, api_url=prefect_api_url)
    assert code == 0, err
    assert audit(store) == ["interrupted", "accepted"]
    assert overview(store).profiles == 432


def test_an_ingest_that_ends_leaves_no_process_behind(
    store: PanelStore, prefect_api_url: str
) -> None:
    run = start_panel("ingest", SIGNUPS, api_url=prefect_api_url)
    run.communicate(timeout=300)
    assert run.returncode == 0
    assert wait_until(lambda: group_members(run.pid) == [], timeout=10), group_members(run.pid)


def test_worker_processes_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    """The pools ingest validates and runs Great Expectations in (``child_processes``)."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "from ingest import child_processes\n"
        "if __name__ == '__main__':\n"
        "    pool = child_processes.pool(2)\n"
        "    futures = [pool.submit(time.sleep, 600) for _ in range(2)]\n"
        "    print('started', flush=True)\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=os.environ | {"PYTHONPATH": str(Path(child_processes.__file__).parent.parent)},
    )
    assert parent.stdout is not None and parent.stdout.readline() == "started\n"
    assert wait_until(lambda: len(group_members(parent.pid)) >= 3, timeout=60)

    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    assert wait_until(lambda: group_members(parent.pid) == [], timeout=10), group_members(
        parent.pid
    )
