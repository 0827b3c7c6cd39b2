"""Wall time of ``panel ingest`` on the sample export, with Prefect's temporary server and
against a running ``prefect server start``.

    python -m benchmarks.prefect_overhead [--runs N]

Each run is a fresh ``panel ingest data_samples/signups.csv --json`` process on an empty store,
so the time is what a user waits for: Python start-up, imports, Prefect, the ingest itself.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SAMPLE = Path(__file__).parent.parent / "data_samples" / "signups.csv"
PANEL = Path(sys.executable).parent / "panel"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix="panel-prefect-") as folder:
        home = Path(folder) / "prefect-home"
        cold = _ingest(Path(folder), {"PREFECT_HOME": str(home)})
        warm = [_ingest(Path(folder), {"PREFECT_HOME": str(home)}) for _ in range(runs)]
        with RunningPrefectServer(Path(folder) / "server-home") as api:
            served = [_ingest(Path(folder), {"PREFECT_API_URL": api}) for _ in range(runs)]
    print(f"panel ingest {SAMPLE.name} ({runs} runs each, median):")
    print(f"  temporary server, fresh PREFECT_HOME     {cold:5.1f} s")
    print(f"  temporary server, existing PREFECT_HOME  {statistics.median(warm):5.1f} s")
    print(f"  running `prefect server start`           {statistics.median(served):5.1f} s")


def _ingest(folder: Path, prefect: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory(dir=folder) as data:
        environment = {**os.environ, "PANEL_DATA_DIR": data, "PANEL_DATABASE_URL": "", **prefect}
        if "PREFECT_API_URL" not in prefect:
            environment.pop("PREFECT_API_URL", None)
        started = time.perf_counter()
        subprocess.run(
            [str(PANEL), "ingest", "--json", str(SAMPLE)],
            env=environment,
            check=True,
            capture_output=True,
        )
        return time.perf_counter() - started


class RunningPrefectServer:
    """``prefect server start`` on a free loopback port, for as long as the block runs."""

    def __init__(self, home: Path) -> None:
        self.home = home
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def __enter__(self) -> str:
        environment = {**os.environ, "PREFECT_HOME": str(self.home)}
        environment.pop("PREFECT_API_URL", None)
        self.server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "prefect"),
                "server",
                "start",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-services",
            ],
            env={**environment, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api = f"http://127.0.0.1:{self.port}/api"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2):
                    return api
            except OSError:
                time.sleep(0.5)
        self.server.kill()
        raise RuntimeError("prefect server did not start within 120 s")

    def __exit__(self, *exc: object) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)


if __name__ == "__main__":
    main()
