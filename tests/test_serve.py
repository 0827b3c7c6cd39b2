"""`panel serve`: the cycle's deployment, served with its schedule; a triggered run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_PSEUDONYM_KEY

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.xdist_group("prefect")]


def test_the_served_cycle_has_its_nightly_schedule_and_a_triggered_run_completes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serving is the same on both databases: the embedded SQLite store here."""
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL

    monkeypatch.delenv("PANEL_DATABASE_URL", raising=False)
    environment = os.environ | {
        "PANEL_DATA_DIR": str(tmp_path / "data"),
        "PANEL_PSEUDONYM_KEY": TEST_PSEUDONYM_KEY,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "panelmatch.cli", "serve"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with get_client(sync_client=True) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    deployment = client.read_deployment_by_name("panel-cycle/nightly")
                    break
                except Exception:
                    assert server.poll() is None, server.communicate()[0]
                    assert time.monotonic() < deadline, "the deployment never appeared"
                    time.sleep(0.5)
        (schedule,) = deployment.schedules
        assert schedule.schedule.cron == "0 2 * * *"  # type: ignore[union-attr]
        assert schedule.schedule.timezone == "Europe/Copenhagen"  # type: ignore[union-attr]
        assert schedule.active and not deployment.paused

        run = run_deployment("panel-cycle/nightly", timeout=120)
        assert run.state is not None and run.state.is_completed(), run.state
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
