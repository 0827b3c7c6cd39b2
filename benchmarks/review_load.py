"""Load test of the review app: the candidate list page and a decision, under concurrent
coordinators, against SQLite and PostgreSQL.

    python -m benchmarks.review_load [--candidates 10000] [--clients 20] [--seconds 20]
                                     [--think 0 1] [--workers 2] [--postgres URL]
                                     [--only sqlite|postgresql]

For each database: a store with a study of about N candidates (a generated export, ingested,
matched; made once and kept in ``benchmarks/out/``), the app started by the benchmark on
loopback as it is run for real (``panel review --workers``), and ``--clients`` coordinators,
each logged in with a session and a keep-alive connection of their own, as a browser would.
Each alternates between a page of the list (50 rows) and a decision (defer) on a candidate
of their own, pausing between requests for ``--think`` seconds on average (0: no pause at
all, the app saturated; 1: a coordinator reading what came back). A coordinator browses as
the page lets them: one list page in ten opens a new view (a random order and filter, among
them the decision state, at a random page number, as a typed or bookmarked address would),
the others follow the page's Next link (Previous at the end). Prints p50, p95 and p99 per
request kind (the goal is p95 under 100 ms for both) and the CPU each request cost the app,
the load generator and PostgreSQL. The load generator runs on the same 2 cores as the app.

In the same run, without pause: two alternatives, the same walk by page numbers only (an
offset for every page, as before keyset paging) and ``panel review`` in one process (its
default); and a floor, the same closed loop on ``/healthz``, which does nothing. A 3 s
warm-up (not measured) comes first; on PostgreSQL every measured run starts after
``VACUUM ANALYZE``, as autovacuum would have run by the time anyone reviews.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlencode

import aiohttp

from benchmarks.ingest_benchmark import OUT
from benchmarks.postgres_database import own_database
from benchmarks.review_load_store import PASSWORD, USER
from benchmarks.review_load_store import STUDY_ID as STUDY

GOAL_MS = 100.0
WARM_UP = 3.0
#: Share of list pages that open a new view rather than follow the pager.
NEW_VIEW = 0.1
#: What a list page asks for: orders, and filters (one at most, or none).
ORDERS = ("status", "age", "region", "state", "volunteer_id")
FILTERS: tuple[dict[str, str], ...] = (
    {}, {}, {"status": "eligible"}, {"status": "needs_screening"},
    {"state": "undecided"}, {"state": "deferred"}, {"region": "hovedstaden"},
)  # fmt: skip


def main() -> None:
    options = _arguments()
    targets = [("SQLite", ""), ("PostgreSQL", options.postgres)]
    targets = [(name, url) for name, url in targets if options.only in (None, name.lower())]
    for name, url in targets:
        env = {
            **os.environ,
            "PANEL_DATA_DIR": str(OUT / f"review-{name.lower()}-{options.candidates}"),
            "PANEL_DATABASE_URL": _database(url, options.candidates),
        }
        size, volunteers = _prepared(env, options.candidates)
        print(
            f"\n{name}: {size:,} candidates, {options.clients} coordinators, {options.seconds:g} s:"
        )
        app = [sys.executable, "-m", "panelmatch.cli", "review", "--workers", str(options.workers)]
        with _server(env, app, options.port) as server:
            asyncio.run(_load(options, volunteers, WARM_UP, 0.0, server))
            for think in options.think:
                _vacuumed(env)
                run = asyncio.run(_load(options, volunteers, options.seconds, think, server))
                _report(f"panel review --workers {options.workers}", think, run)
            _vacuumed(env)
            run = asyncio.run(
                _load(options, volunteers, options.seconds, 0.0, server, by_number=True)
            )
            _report("alternative: the same walk by page numbers (offsets)", 0.0, run)
            floor = asyncio.run(_floor(options, server))
        with _server(env, app[:-2], options.port) as server:  # one process, the default
            asyncio.run(_load(options, volunteers, WARM_UP, 0.0, server))
            _vacuumed(env)
            run = asyncio.run(_load(options, volunteers, options.seconds, 0.0, server))
            _report("alternative: panel review (one process)", 0.0, run)
        _report("floor: GET /healthz (no database, no template)", 0.0, floor)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--think", type=float, nargs="+", default=[0.0, 0.1, 1.0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    return parser.parse_args()


def _database(url: str, candidates: int) -> str:
    """SQLite: the embedded default (empty URL). PostgreSQL: a database of its own, made
    once on the server ``url`` names."""
    if not url:
        return ""
    return own_database(url, f"panel_review_load_{candidates}")


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
    lines = done.stdout.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("candidates: "))
    return int(lines[start].split()[1]), lines[start + 1 :]


def _vacuumed(env: dict[str, str]) -> None:
    if not env["PANEL_DATABASE_URL"]:
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(env["PANEL_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


@dataclass
class Server:
    base: str
    pid: int
    postgres: bool


@contextmanager
def _server(env: dict[str, str], command: list[str], port: int) -> Iterator[Server]:
    """The app in a process group of its own (workers included), until the block ends."""
    command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(_started(base, process))
        yield Server(base, process.pid, bool(env["PANEL_DATABASE_URL"]))
    finally:
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the workers too, so the port is free again
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)


async def _started(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as http:
        while True:
            try:
                async with http.get(f"{base}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the review app did not start")
            await asyncio.sleep(0.2)


@dataclass
class Run:
    seconds: float
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    #: CPU seconds spent meanwhile by the app, this load generator and PostgreSQL.
    cpu: dict[str, float] = field(default_factory=dict)
    #: (planned moment, latency) of each list page, for a view of latency over time.
    timeline: list[tuple[float, float]] = field(default_factory=list)


async def _load(
    options: argparse.Namespace,
    volunteers: list[str],
    seconds: float,
    think: float,
    app: Server,
    by_number: bool = False,
    until: Callable[[], bool] | None = None,
    on_schedule: bool = False,
) -> Run:
    """``options.clients`` coordinators at work for ``seconds``, or until ``until()``; with
    ``on_schedule``, each request goes at its planned moment (see ``_Pace``)."""
    coordinators = [
        aiohttp.ClientSession(app.base, connector=aiohttp.TCPConnector(limit=1))
        for _ in range(options.clients)
    ]
    try:
        sessions = [await _log_in(http) for http in coordinators]
        run = Run(seconds, {"list page": [], "decision": []})
        pages = max(1, len(volunteers) // 50)
        with _cpu_of(app, run):
            deadline = time.perf_counter() + seconds
            done = until or (lambda: time.perf_counter() >= deadline)
            await asyncio.gather(
                *(
                    _coordinator(
                        http,
                        *session,
                        volunteers[n :: options.clients],
                        pages,
                        _Pace(think, random.Random(n), on_schedule),
                        done,
                        run,
                        by_number,
                    )
                    for n, (http, session) in enumerate(zip(coordinators, sessions, strict=True))
                )
            )
        return run
    finally:
        for http in coordinators:
            await http.close()


async def _floor(options: argparse.Namespace, app: Server) -> Run:
    run = Run(options.seconds / 2, {"GET /healthz": []})
    coordinators = [
        aiohttp.ClientSession(app.base, connector=aiohttp.TCPConnector(limit=1))
        for _ in range(options.clients)
    ]

    async def client(http: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with http.get("/healthz") as answer:
                await answer.read()
            run.latencies["GET /healthz"].append(time.perf_counter() - started)

    with _cpu_of(app, run):
        deadline = time.perf_counter() + run.seconds
        await asyncio.gather(*(client(http) for http in coordinators))
    for http in coordinators:
        await http.close()
    return run


async def _log_in(http: aiohttp.ClientSession) -> tuple[str, str]:
    async with http.get("/login") as page:
        form_token = _found(r'name="csrf_token" value="([^"]+)"', await page.text())
        login_cookie = page.cookies["panel_login_csrf"].value
    async with http.post(
        "/login",
        data={"email": USER, "password": PASSWORD, "csrf_token": form_token},
        headers={"Cookie": f"panel_login_csrf={login_cookie}"},
        allow_redirects=False,
    ) as answer:
        cookie = f"panel_session={answer.cookies['panel_session'].value}"
    async with http.get(f"/studies/{STUDY}/candidates", headers={"Cookie": cookie}) as page:
        token = _found(r'name="csrf_token" value="([^"]+)"', await page.text())
    return cookie, token


class _Pace:
    """When a coordinator's next request goes, ``think`` seconds on average after the one
    before. ``on_schedule``: at its planned moment, however late the answers before it came
    (an open loop, as in wrk2), and its latency counted from then, so a frozen app shows as
    the wait of every request it held up, not only the first (coordinated omission)."""

    def __init__(self, think: float, chance: random.Random, on_schedule: bool) -> None:
        self.think, self.chance, self.on_schedule = think, chance, on_schedule
        self.planned = time.perf_counter()

    async def turn(self) -> float:
        """Wait for the next request's turn; the moment its latency counts from."""
        pause = self.think * self.chance.uniform(0.5, 1.5)
        if not self.on_schedule:
            await asyncio.sleep(pause)
            return time.perf_counter()
        self.planned += pause
        await asyncio.sleep(max(0.0, self.planned - time.perf_counter()))
        return self.planned


async def _coordinator(
    http: aiohttp.ClientSession,
    cookie: str,
    token: str,
    mine: list[str],
    pages: int,
    pace: _Pace,
    done: Callable[[], bool],
    run: Run,
    by_number: bool,
) -> None:
    headers, chance = {"Cookie": cookie}, pace.chance
    await asyncio.sleep(pace.think * chance.random())  # coordinators do not all start at once
    pace.planned = time.perf_counter()
    links: dict[str, str] = {}
    while not done():
        link = links.get("Next", links.get("Previous"))
        if link is None or chance.random() < NEW_VIEW:
            query = {"page": str(chance.randint(1, pages)), "sort": chance.choice(ORDERS)}
            link = f"/studies/{STUDY}/candidates?{urlencode(query | chance.choice(FILTERS))}"
        elif by_number:
            link = re.sub(r"&(after|before)=[0-9A-Z]+", "", link)
        started = await pace.turn()
        async with http.get(link, headers=headers) as a:
            links = _pager(await a.text())
            status = a.status
        run.latencies["list page"].append(time.perf_counter() - started)
        run.timeline.append((started, time.perf_counter() - started))
        if status != 200:
            run.errors.append(f"list {status}")
        started = await pace.turn()
        async with http.post(
            f"/studies/{STUDY}/candidates/{chance.choice(mine)}/decision",
            data={"csrf_token": token, "action": "defer"},
            headers=headers,
            allow_redirects=False,
        ) as answer:
            await answer.read()
            status = answer.status
        run.latencies["decision"].append(time.perf_counter() - started)
        if status != 303:
            run.errors.append(f"decision {status}")


@contextmanager
def _cpu_of(app: Server, run: Run) -> Iterator[None]:
    def app_cpu() -> float:
        return _cpu_seconds([app.pid, *_descendants(app.pid)])

    def postgres_cpu() -> float:
        if not app.postgres:
            return 0.0
        found = subprocess.run(
            ["pgrep", "-u", "postgres"], capture_output=True, text=True, check=False
        )
        return _cpu_seconds([int(pid) for pid in found.stdout.split()])

    before = app_cpu(), time.process_time(), postgres_cpu()
    yield
    after = app_cpu(), time.process_time(), postgres_cpu()
    names = ("app", "load generator", "PostgreSQL")
    for name, start, end in zip(names, before, after, strict=True):
        run.cpu[name] = end - start


def _descendants(pid: int) -> list[int]:
    children = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    )
    found = [int(child) for child in children.stdout.split()]
    return found + [grandchild for child in found for grandchild in _descendants(child)]


def _cpu_seconds(pids: list[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _pager(page: str) -> dict[str, str]:
    """The page's Previous and Next links."""
    found = re.findall(r'<a href="([^"]+)"[^>]*>(?:← )?(Previous|Next) page(?: →)?</a>', page)
    return {title: html.unescape(href) for href, title in found}


def _found(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"not in the app's answer: {pattern}")
    return found[1]


def _report(title: str, think: float, run: Run) -> None:
    print(f"  {title}, " + (f"pausing {think:g} s on average" if think else "without pause"))
    requests = sum(len(values) for values in run.latencies.values())
    for kind, values in run.latencies.items():
        ms = sorted(v * 1000 for v in values)
        p95 = _percentile(ms, 95)
        verdict = "met" if p95 < GOAL_MS else "NOT met"
        print(
            f"    {kind:12s} {len(ms) / run.seconds:6,.0f}/s  p50 {statistics.median(ms):6.1f} ms"
            f"  p95 {p95:6.1f} ms  p99 {_percentile(ms, 99):6.1f} ms  (goal p95 < "
            f"{GOAL_MS:.0f} ms: {verdict})"
        )
    cpu = ", ".join(f"{name} {spent / requests * 1000:.2f}" for name, spent in run.cpu.items())
    print(f"    CPU ms a request: {cpu}; {sum(run.cpu.values()) / run.seconds:.2f} cores busy")
    if run.errors:
        print(f"    errors: {len(run.errors)} ({', '.join(sorted(set(run.errors)))})")


def _percentile(values: list[float], percent: float) -> float:
    return values[min(len(values) - 1, int(len(values) * percent / 100))]


if __name__ == "__main__":
    main()
