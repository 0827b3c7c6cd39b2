"""The review app while an ingest writes, on the default SQLite store: does it keep answering?

    python -m benchmarks.review_during_ingest [--rows 200000] [--clients 20] [--think 1 0.1]

The store is the review benchmark's (``benchmarks.review_load``: a study of about 10,000
candidates, made once and kept in ``benchmarks/out/``), copied afresh for each run, and the
app runs on it as it is run for real (``panel review --workers 2``). Coordinators browse and
decide as in that benchmark, pausing ``--think`` seconds on average, first for ``--seconds``
with nothing else running, then while ``panel ingest`` stores a generated export of
``--rows`` new volunteers (made once, kept in ``benchmarks/out/``), from the command's start
to its end. Each window also logs one coordinator in anew a second (argon2 and a session
write). Requests go on schedule (an open loop): a request the app holds up does not hold
back the ones planned after it, and each latency counts from its planned moment, so an app
frozen for 8 s shows as the 8 s, 7 s, 6 s, ... waits of everything planned meanwhile, not as
one slow request per coordinator. Prints p50/p95/p99 per request kind in each window and
their ratio; the goal is a list page p95 of at most 250 ms during the ingest.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from benchmarks.ingest_benchmark import OUT, generated_export
from benchmarks.review_load import Run, Server, _load, _log_in, _percentile, _prepared, _server

GOAL_MS = 250.0
STORE_CANDIDATES = 10_000
WARM_UP = 3.0


def main() -> None:
    options = _arguments()
    export = generated_export(options.rows, options.seed, 0.01)
    source = OUT / f"review-sqlite-{STORE_CANDIDATES}"
    size, volunteers = _prepared(_environment(source), STORE_CANDIDATES)
    print(
        f"SQLite store: {size:,} candidates; export: {options.rows:,} rows "
        f"({export.stat().st_size / 1e6:,.0f} MB); {options.clients} coordinators"
    )
    for run, think in enumerate(options.think):
        with tempfile.TemporaryDirectory(prefix="panel-review-ingest-") as folder:
            data = Path(folder) / "data"
            shutil.copytree(source, data)
            env = _environment(data)
            app = [sys.executable, "-m", "panel.cli", "review", "--workers", "2"]
            with _server(env, app, options.port + run) as server:  # (the last may linger)
                asyncio.run(_load(options, volunteers, WARM_UP, 0.0, server))
                quiet = asyncio.run(_window(options, volunteers, server, think, None))
                busy = asyncio.run(_window(options, volunteers, server, think, (env, export)))
        _report(think, quiet, busy)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=23, help="the export's (not the store's)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0, help="the window without ingest")
    parser.add_argument("--think", type=float, nargs="+", default=[1.0, 0.1])
    parser.add_argument("--port", type=int, default=8741)
    return parser.parse_args()


def _environment(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PANEL_DATA_DIR": str(data),
        "PANEL_DATABASE_URL": "",
        "PANEL_ACTOR": "benchmark",
    }


async def _window(
    options: argparse.Namespace,
    volunteers: list[str],
    server: Server,
    think: float,
    ingest: tuple[dict[str, str], Path] | None,
) -> Run:
    """Coordinators for ``options.seconds`` or, with ``ingest``, for as long as it runs; and
    a login a second meanwhile."""
    process = None
    if ingest is not None:
        env, export = ingest
        command = [sys.executable, "-m", "panel.cli", "ingest", str(export)]
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    started = time.perf_counter()

    def done() -> bool:
        if process is not None:
            return process.poll() is not None
        return time.perf_counter() - started >= options.seconds

    logins: list[float] = []

    async def log_in_now_and_then() -> None:
        planned = time.perf_counter()
        while not done():
            async with aiohttp.ClientSession(server.base) as http:
                await _log_in(http)
                logins.append(time.perf_counter() - planned)
            planned += 1.0  # on schedule, as the coordinators' requests
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))

    run, _ = await asyncio.gather(
        _load(options, volunteers, 0.0, think, server, until=done, on_schedule=True),
        log_in_now_and_then(),
    )
    run.seconds = time.perf_counter() - started
    run.latencies["login"] = logins
    if process is not None and process.wait() != 0:
        raise SystemExit(f"the ingest failed (exit code {process.returncode}); its error is above")
    return run


def _report(think: float, quiet: Run, busy: Run) -> None:
    print(f"\n  pausing {think:g} s on average:")
    for kind in ("list page", "decision", "login"):
        before = sorted(v * 1000 for v in quiet.latencies.get(kind, []))
        during = sorted(v * 1000 for v in busy.latencies.get(kind, []))
        if not before or not during:
            continue
        p95_before, p95_during = _percentile(before, 95), _percentile(during, 95)
        goal = ""
        if kind == "list page":
            goal = f"  (goal during: at most {GOAL_MS:.0f} ms: "
            goal += "met)" if p95_during <= GOAL_MS else "NOT met)"
        print(
            f"    {kind:10s} without ingest p95 {p95_before:7.1f} ms (n={len(before)}); "
            f"during the {busy.seconds:.0f} s ingest p50 {_percentile(during, 50):7.1f} "
            f"p95 {p95_during:7.1f} p99 {_percentile(during, 99):7.1f} ms (n={len(during)}); "
            f"{p95_during / p95_before:.1f}x{goal}"
        )
    if busy.errors:
        print(f"    errors during the ingest: {len(busy.errors)} ({', '.join(set(busy.errors))})")


if __name__ == "__main__":
    main()
