"""Load test of the review app: the candidate list page and a decision, under concurrent
coordinators, against SQLite and PostgreSQL.

    python -m benchmarks.review_load [--candidates 10000] [--clients 20] [--seconds 20]
                                     [--think 0 1] [--workers 2] [--postgres URL] [--sqlite-only]

For each database: a store with a study of about N candidates (a generated export, ingested,
matched; made once and kept in ``benchmarks/out/``), the app started by the benchmark on
loopback (uvicorn, ``--workers`` processes), and ``--clients`` coordinators, each logged in
with a session of their own, alternating without pause between a page of the list (50 rows;
random page, filter and sort) and a decision (defer) on a candidate of their own, pausing
between requests for ``--think`` seconds on average (0: no pause at all, the app saturated; 1:
a coordinator reading what came back). Prints p50, p95 and p99 per request kind; the goal is
p95 under 100 ms for both. The load generator runs on the same 2 cores as the app; a 3 s
warm-up (not measured) comes first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from benchmarks.ingest_benchmark import OUT
from benchmarks.review_load_store import PASSWORD, USER
from benchmarks.review_load_store import STUDY_ID as STUDY

GOAL_MS = 100.0
WARM_UP = 3.0


def main() -> None:
    options = _arguments()
    targets = [("SQLite", "")]
    if not options.sqlite_only:
        targets.append(("PostgreSQL", options.postgres))
    for name, url in targets:
        data_dir = OUT / f"review-{name.lower()}-{options.candidates}"
        env = {
            **os.environ,
            "PANEL_DATA_DIR": str(data_dir),
            "PANEL_DATABASE_URL": _database(url, options.candidates),
        }
        size, volunteers = _prepared(env, options.candidates)
        with _server(env, options.port, options.workers) as base:
            # Warm-up, not measured: templates compiled, statements cached, connections open.
            asyncio.run(_load(base, volunteers, options.clients, WARM_UP, 0.0))
            floor = asyncio.run(_floor(base, options.clients, options.seconds / 2))
            for think in options.think:
                timings = asyncio.run(
                    _load(base, volunteers, options.clients, options.seconds, think)
                )
                _report(name, size, options, think, timings)
            ms = sorted(v * 1000 for v in floor)
            print(
                f"  floor, GET /healthz (no database, no template) without pause: "
                f"{len(ms) / (options.seconds / 2):,.0f}/s  p50 {statistics.median(ms):.1f} ms  "
                f"p95 {_percentile(ms, 95):.1f} ms"
            )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite-only", action="store_true")
    return parser.parse_args()


def _database(url: str, candidates: int) -> str:
    """SQLite: the embedded default (empty URL). PostgreSQL: a database of its own, made
    once on the server ``url`` names."""
    if not url:
        return ""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"panel_review_load_{candidates}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _prepared(env: dict[str, str], candidates: int) -> tuple[int, list[str]]:
    """The store in ``env``, with the study matched (made the first time): its candidate
    count and their ids."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.review_load_store", str(candidates)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    if env["PANEL_DATABASE_URL"]:  # as autovacuum would have by the time anyone reviews
        from sqlalchemy import create_engine, text

        engine = create_engine(env["PANEL_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("VACUUM ANALYZE"))
        engine.dispose()
    lines = done.stdout.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("candidates: "))
    return int(lines[start].split()[1]), lines[start + 1 :]


@contextmanager
def _server(env: dict[str, str], port: int, workers: int) -> Iterator[str]:
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "review.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the review app did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(30)


@dataclass
class Timings:
    list_page: list[float] = field(default_factory=list)
    decision: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def _load(
    base: str, volunteers: list[str], clients: int, seconds: float, think: float
) -> Timings:
    timings = Timings()
    shares = [volunteers[i::clients] for i in range(clients)]
    # Unfiltered, every page has 50 rows; filtered by status, later pages may be short.
    pages = max(1, len(volunteers) // 50)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        sessions = [await _log_in(http) for _ in range(clients)]
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(
                _coordinator(
                    http, cookie, token, mine, pages, think, deadline, timings, random.Random(n)
                )
                for n, ((cookie, token), mine) in enumerate(zip(sessions, shares, strict=True))
            )
        )
    return timings


async def _floor(base: str, clients: int, seconds: float) -> list[float]:
    """The same closed loop on an endpoint that does nothing: what the framework, the
    server and this load generator cost on these 2 cores before any page is made."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        deadline = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                await http.get("/healthz")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


async def _log_in(http: httpx.AsyncClient) -> tuple[str, str]:
    page = await http.get("/login")
    form_token = _found(r'name="csrf_token" value="([^"]+)"', page.text)
    login_cookie = page.cookies.get("panel_login_csrf")
    answer = await http.post(
        "/login",
        data={"email": USER, "password": PASSWORD, "csrf_token": form_token},
        headers={"Cookie": f"panel_login_csrf={login_cookie}"},
    )
    session = _found(r"panel_session=([^;]+)", answer.headers["set-cookie"])
    cookie = f"panel_session={session}"
    studies = await http.get(f"/studies/{STUDY}/candidates", headers={"Cookie": cookie})
    token = _found(r'name="csrf_token" value="([^"]+)"', studies.text)
    return cookie, token


async def _coordinator(
    http: httpx.AsyncClient,
    cookie: str,
    token: str,
    mine: list[str],
    pages: int,
    think: float,
    deadline: float,
    timings: Timings,
    chance: random.Random,
) -> None:
    headers = {"Cookie": cookie}
    await asyncio.sleep(think * chance.random())  # coordinators do not all start at once
    while time.perf_counter() < deadline:
        params: dict[str, str | int] = {
            "page": chance.randint(1, pages),
            "sort": chance.choice(["status", "age"]),
        }
        if chance.random() < 0.5:
            params["status"] = chance.choice(["eligible", "needs_screening"])
        started = time.perf_counter()
        answer = await http.get(f"/studies/{STUDY}/candidates", params=params, headers=headers)
        timings.list_page.append(time.perf_counter() - started)
        if answer.status_code != 200:
            timings.errors.append(f"list {answer.status_code}")
        await asyncio.sleep(think * chance.uniform(0.5, 1.5))
        volunteer = chance.choice(mine)
        started = time.perf_counter()
        answer = await http.post(
            f"/studies/{STUDY}/candidates/{volunteer}/decision",
            data={"csrf_token": token, "action": "defer"},
            headers=headers,
        )
        timings.decision.append(time.perf_counter() - started)
        if answer.status_code != 303:
            timings.errors.append(f"decision {answer.status_code}")
        await asyncio.sleep(think * chance.uniform(0.5, 1.5))


def _found(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"not in the app's answer: {pattern}")
    return found[1]


def _report(
    name: str, size: int, options: argparse.Namespace, think: float, timings: Timings
) -> None:
    pause = f"pausing {think:g} s on average" if think else "without pause"
    print(
        f"\n{name}: {size:,} candidates; {options.clients} clients {pause}, for "
        f"{options.seconds:.0f} s; {options.workers} server process(es)"
    )
    for kind, values in (("list page", timings.list_page), ("decision", timings.decision)):
        ms = sorted(v * 1000 for v in values)
        p95 = _percentile(ms, 95)
        verdict = "met" if p95 < GOAL_MS else "NOT met"
        print(
            f"  {kind:9s}: {len(ms):6,} requests ({len(ms) / options.seconds:,.0f}/s)  "
            f"p50 {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  "
            f"p99 {_percentile(ms, 99):6.1f} ms  (goal p95 < {GOAL_MS:.0f} ms: {verdict})"
        )
    if timings.errors:
        print(f"  errors: {len(timings.errors)} ({', '.join(sorted(set(timings.errors)))})")


def _percentile(values: list[float], percent: float) -> float:
    return values[min(len(values) - 1, int(len(values) * percent / 100))]


if __name__ == "__main__":
    main()
