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
one slow request per coordinator.

Each pace runs three windows: nothing else running; the ingest as it is (storing in parts,
``store.staging``); and the obvious alternative, the same ingest storing the file in one
transaction, as it did before. Prints p50/p95/p99 per request kind in each window, the
ratios, the ingest's own time both ways, and the list page's p95 over each 5 s of the ingest
in parts. The goal is a list page p95 of at most 250 ms during the ingest.
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import Popen

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
    port = iter(range(options.port, options.port + 100))
    for think in options.think:
        with _fresh_app(options, volunteers, source, next(port)) as (env, server):
            quiet = asyncio.run(_window(options, volunteers, server, think, None))
            parts = asyncio.run(
                _window(options, volunteers, server, think, _ingest(env, export, None))
            )
        with _fresh_app(options, volunteers, source, next(port)) as (env, server):
            whole = asyncio.run(
                _window(options, volunteers, server, think, _ingest(env, export, 10**9))
            )
        _report(think, quiet, parts, whole)


@contextmanager
def _fresh_app(
    options: argparse.Namespace, volunteers: list[str], source: Path, port: int
) -> Iterator[tuple[dict[str, str], Server]]:
    """The app, warmed up, on a fresh copy of the store at ``source``; its environment."""
    with tempfile.TemporaryDirectory(prefix="panel-review-ingest-") as folder:
        data = Path(folder) / "data"
        shutil.copytree(source, data)
        env = _environment(data)
        app = [sys.executable, "-m", "panelmatch.cli", "review", "--workers", "2"]
        with _server(env, app, port) as server:  # (the port may linger: a new one each time)
            asyncio.run(_load(options, volunteers, WARM_UP, 0.0, server))
            yield env, server


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


def _ingest(env: dict[str, str], export: Path, part_rows: int | None) -> Callable[[], Popen]:
    """``panel ingest export``, started when called; with ``part_rows``, in parts of that
    many rows (10**9: the whole file in one transaction)."""
    setting = (
        f"from store import staging; staging.PART_ROWS = {{'sqlite': {part_rows}}}; "
        if part_rows
        else ""
    )
    command = [
        sys.executable,
        "-c",
        f"import sys; {setting}from panelmatch.cli import main; "
        f"sys.argv = ['panel', 'ingest', {str(export)!r}]; main()",
    ]
    return lambda: subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def _window(
    options: argparse.Namespace,
    volunteers: list[str],
    server: Server,
    think: float,
    ingest: Callable[[], Popen] | None,
) -> Run:
    """Coordinators for ``options.seconds`` or, with ``ingest``, for as long as it runs; and
    a login a second meanwhile."""
    process = None if ingest is None else ingest()
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


def _report(think: float, quiet: Run, parts: Run, whole: Run) -> None:
    print(
        f"\n  pausing {think:g} s on average; ingest {parts.seconds:.0f} s in parts, "
        f"{whole.seconds:.0f} s in one transaction ({parts.seconds / whole.seconds:.2f}x):"
    )
    for kind in ("list page", "decision", "login"):
        before = _ms(quiet, kind)
        if not before:
            continue
        line = f"    {kind:10s} p95 without ingest {_percentile(before, 95):7.1f} ms"
        for label, run in (("in parts", parts), ("one transaction", whole)):
            during = _ms(run, kind)
            if during:
                line += (
                    f"; during, {label}: p50 {_percentile(during, 50):.1f} "
                    f"p95 {_percentile(during, 95):.1f} p99 {_percentile(during, 99):.1f}"
                )
        print(line + " ms")
    in_parts, at_once = (
        _percentile(_ms(parts, "list page"), 95),
        _percentile(_ms(whole, "list page"), 95),
    )
    verdict = "met" if in_parts <= GOAL_MS else "NOT met"
    print(
        f"    list page p95 during the ingest: {in_parts:.1f} ms in parts against {at_once:.1f} "
        f"ms in one transaction ({at_once / in_parts:.1f}x); goal at most {GOAL_MS:.0f} ms: "
        f"{verdict}"
    )
    began = min(moment for moment, _ in parts.timeline)
    buckets: dict[int, list[float]] = {}
    for moment, latency in parts.timeline:
        buckets.setdefault(int((moment - began) // 5), []).append(latency * 1000)
    print(
        "    list page p95 by 5 s of the ingest in parts: "
        + " ".join(f"{_percentile(sorted(v), 95):.0f}" for _, v in sorted(buckets.items()))
    )
    for label, run in (("in parts", parts), ("in one transaction", whole)):
        if run.errors:
            print(
                f"    errors during the ingest {label}: {len(run.errors)} "
                f"({', '.join(set(run.errors))})"
            )


def _ms(run: Run, kind: str) -> list[float]:
    return sorted(v * 1000 for v in run.latencies.get(kind, []))


if __name__ == "__main__":
    main()
