"""The answer page's benchmark, in a tiny run so it cannot rot: a wave of a dozen sent
invitations, three volunteers at once for a second (and the alternatives); it reports p50, p95
and p99 of the page and of the answer for every run, the neutral page's ratio, and no request
that failed."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
FIGURES = re.compile(r"^ {4}(answer page|answer POST) .* p95 +[0-9.]+ ms +p99 +[0-9.]+ ms")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_the_benchmark_reports_both_endpoints_in_every_run(database: str) -> None:
    if database == "postgresql" and not os.environ.get("PANEL_TEST_POSTGRES_URL"):
        pytest.skip("PANEL_TEST_POSTGRES_URL is not set")
    tiny = ["--invitations", "12", "--volunteers", "200", "--clients", "3", "--seconds", "1"]
    only = ["--think", "0", "--workers", "2", "--only", database, "--port", str(free_port())]
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_answers", *tiny, *only],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(
        line.startswith(("SQLite: 12 invitations", "PostgreSQL: 12 invitations")) for line in lines
    )
    runs = [line for line in lines if line.startswith("  ") and not line.startswith("    ")]
    # 3 volunteers at once; one at a time over HTTP; 2 worker processes; one at a time in process
    assert len(runs) == 4
    figures = [FIGURES.match(line)[1] for line in lines if FIGURES.match(line)]
    assert figures == ["answer page", "answer POST"] * 4
    assert sum("neutral page / answer page, medians:" in line for line in lines) >= 1
    assert not [line for line in lines if "errors:" in line]
