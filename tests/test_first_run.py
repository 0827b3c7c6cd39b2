"""The first command on a new machine works on the first try, even with both cores busy:
Prefect's temporary server, started on a fresh PREFECT_HOME, gets the time it needs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from configuration.settings import Settings
from tests.helpers import SAMPLES
from tests.processes import PANEL

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


@pytest.fixture
def both_cores_busy() -> Iterator[None]:
    spinners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@pytest.mark.usefixtures("both_cores_busy")
def test_the_first_ingest_on_a_fresh_prefect_home_passes_while_the_machine_is_busy(
    settings: Settings, tmp_path: Path
) -> None:
    # A fresh shell's environment: none of Prefect's settings, no server to report to.
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "fresh-prefect-home")
    result = subprocess.run(
        [str(PANEL), "ingest", str(SAMPLES / "signups.csv")],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    assert "rows 441 = stored 432 + quarantined 9 + known 0" in result.stdout
