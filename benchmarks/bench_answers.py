"""Load test of the answer page: after a wave of invitations, volunteers follow their answer
links and answer, many at once, against SQLite and PostgreSQL.

    python -m benchmarks.bench_answers [--invitations 5000] [--volunteers 20000]
                                       [--clients 50] [--seconds 15] [--think 1 0.1 0]
                                       [--workers 2] [--postgres URL]
                                       [--only sqlite|postgresql]

For each database: a fresh store (SQLite in a temporary folder; on PostgreSQL a database of
its own, dropped afterwards) with a panel of ``--volunteers`` generated signups, a study, and
``--invitations`` invitations queued and sent as ``panel contact`` sends them, each with its
answer link (``benchmarks.answers_store``). Then ``panel respond`` runs as it is run for real
(one process, the default limit per address), and ``--clients`` volunteers at once, each a
browser of its own with a keep-alive connection, open their page (GET) and answer with the
page's form token (POST): half yes, half no. Each visit comes from a loopback address of its
own (127.x.y.z), as volunteers come from homes of their own, so the limit per address is the
real one. One visitor in ten follows a made-up link (a well-formed token of no
invitation) and gets the neutral page. Before each request a client pauses ``--think``
seconds on average (1: a volunteer reading; 0: no pause, the app saturated); a volunteer
whose turn comes again after all have answered changes their answer.

Prints p50, p95 and p99 per request kind (the goal: p95 under 50 ms for the page and the
answer) and the neutral page's median over the real page's: it must be near 1, or the time
would tell a made-up token from a real one. In the same run, the alternatives: one volunteer
at a time over HTTP (the same requests without waiting on each other); one at a time in
process (the same app through httpx's ASGI transport: no server, no network), so the
server's share and the concurrency's show apart; and the app in ``--workers`` uvicorn worker
processes (``panel respond`` runs one) at every pace. Also the CPU each request cost the app
and the load generator, which runs on the same cores as the app (and PostgreSQL).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

GOAL_MS = 50.0
WARM_UP = 2.0
#: Share of visitors who follow a made-up link.
MADE_UP = 0.1
PUBLIC_URL = "https://svar.benchmark.example"
FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
PAGE, POST, NEUTRAL = "answer page", "answer POST", "neutral page"
#: What each request kind should answer; the answer POST may lead on (303) once a yes asks
#: screening questions.
EXPECTED = {PAGE: {200}, POST: {200, 303}, NEUTRAL: {404}}

#: The answer page as it is run for real.
PANEL_RESPOND = [sys.executable, "-m", "panelmatch.cli", "respond"]
#: The same app as ``panel respond`` starts it, but in several worker processes (``--workers``
#: added), each with its own limits per address.
UVICORN = [
    sys.executable, "-m", "uvicorn", "respond.app:create_app", "--factory",
    "--log-level", "warning", "--no-access-log",
]  # fmt: skip
#: Opens a browser (an HTTP client) coming from the given address.
Browsers = Callable[[str], httpx.AsyncClient]


def main(argv: list[str] | None = None) -> None:
    options = _arguments(argv)
    targets = [("SQLite", None), ("PostgreSQL", options.postgres)]
    for name, server in targets:
        if options.only in (None, name.lower()):
            _benchmark(name, server, options)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invitations", type=int, default=5_000)
    parser.add_argument("--volunteers", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--think", type=float, nargs="+", default=[1.0, 0.1, 0.0])
    parser.add_argument("--port", type=int, default=8741)
    parser.add_argument(
        "--workers", type=int, default=2, help="worker processes of the alternative (0: none)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "PANEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="the PostgreSQL server to make a database on (default: PANEL_TEST_POSTGRES_URL)",
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    return parser.parse_args(argv)


def _benchmark(name: str, server: str | None, options: argparse.Namespace) -> None:
    from benchmarks.answers_store import sent_wave
    from benchmarks.login_timing import fresh_postgres_database

    with tempfile.TemporaryDirectory(prefix="bench-answers-") as folder:
        url, drop = fresh_postgres_database(server, "bench_answers") if server else ("", None)
        env = {
            "PANEL_DATA_DIR": str(Path(folder) / "data"),
            "PANEL_DATABASE_URL": url,
            "PANEL_PSEUDONYM_KEY": "7e" * 32,
            "PANEL_ACTOR": "benchmark",
            "PANEL_PUBLIC_URL": PUBLIC_URL,
        }
        os.environ.update(env)  # the store built here, and the app in process, read them
        try:
            started = time.perf_counter()
            tokens = sent_wave(options.invitations, options.volunteers)
            _analysed(url)
            print(
                f"\n{name}: {len(tokens):,} invitations sent among {options.volunteers:,} "
                f"volunteers (built in {time.perf_counter() - started:.0f} s); "
                f"{options.seconds:g} s a run; load average {os.getloadavg()[0]:.1f} on "
                f"{os.cpu_count()} cores:"
            )
            _measure(options, Volunteers(tokens))
        finally:
            if drop:
                drop()


def _measure(options: argparse.Namespace, volunteers: Volunteers) -> None:
    clients, seconds = options.clients, options.seconds
    with _server(PANEL_RESPOND, options.port) as (base, pid):
        over_http = _over_http(base)
        asyncio.run(_load(clients, WARM_UP, 0.0, volunteers, over_http, pid))
        for think in options.think:
            run = asyncio.run(_load(clients, seconds, think, volunteers, over_http, pid))
            _report(f"panel respond, {clients} volunteers at once, {_pace(think)}", run)
        one = asyncio.run(_load(1, seconds, 0.0, volunteers, over_http, pid))
        _report("alternative: one volunteer at a time, over HTTP", one)
    if options.workers:
        workers = [*UVICORN, "--workers", str(options.workers)]
        with _server(workers, options.port) as (base, pid):
            over_http = _over_http(base)
            asyncio.run(_load(clients, WARM_UP, 0.0, volunteers, over_http, pid))
            for think in options.think:
                run = asyncio.run(_load(clients, seconds, think, volunteers, over_http, pid))
                title = f"alternative: {options.workers} worker processes, {clients} at once"
                _report(f"{title}, {_pace(think)}", run)
    in_process, close = _in_process()
    try:
        asyncio.run(_load(1, WARM_UP, 0.0, volunteers, in_process, os.getpid()))
        alone = asyncio.run(_load(1, seconds, 0.0, volunteers, in_process, os.getpid()))
    finally:
        close()
    _report("alternative: one volunteer at a time, the same app in process", alone)
    for kind in (PAGE, POST):
        http, app = statistics.median(one.latencies[kind]), statistics.median(alone.latencies[kind])
        print(f"    {kind}: over HTTP / in process, medians: {http / app:.2f}x")


def _pace(think: float) -> str:
    return f"pausing {think:g} s on average" if think else "without pause"


def _analysed(url: str) -> None:
    """On PostgreSQL, statistics as autovacuum would have them by the time anyone answers."""
    if not url:
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


class Volunteers:
    """The invited volunteers in turn, and each visit's own address."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.turn = 0
        self.visits = 0

    def next(self) -> tuple[str, int, str]:
        """The next visit's address, and the volunteer's number and token."""
        number = self.turn % len(self.tokens)
        self.turn += 1
        return self.address(), number, self.tokens[number]

    def next_made_up(self) -> tuple[str, str]:
        """The next made-up visit's address, and its token: 43 characters, as a real one's."""
        return self.address(), secrets.token_urlsafe(32)

    def address(self) -> str:
        """A loopback address of its own for each visit (none ends in 0 or 255)."""
        self.visits += 1
        n = self.visits
        return f"127.{1 + n // 254**2 % 254}.{1 + n // 254 % 254}.{1 + n % 254}"


def _over_http(base: str) -> Browsers:
    def browser(source: str) -> httpx.AsyncClient:
        transport = httpx.AsyncHTTPTransport(local_address=source, verify=False)
        return httpx.AsyncClient(base_url=base, transport=transport, follow_redirects=False)

    return browser


def _in_process() -> tuple[Browsers, Callable[[], None]]:
    from respond.app import create_app

    app = create_app()  # the configured store and the default limit, as ``panel respond``

    def browser(source: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(source, 50_000))
        return httpx.AsyncClient(base_url="http://127.0.0.1", transport=transport)

    return browser, app.state.store.close


@contextmanager
def _server(command: list[str], port: int) -> Iterator[tuple[str, int]]:
    """The app on loopback, in a process group of its own (workers included), until the
    block ends: its address and process id."""
    command = [*command, "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _started(base, process)
        yield base, process.pid
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


def _started(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/static/respond.css").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit("the answer page did not start")
        time.sleep(0.2)


@dataclass
class Run:
    seconds: float
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {PAGE: [], POST: [], NEUTRAL: []}
    )
    statuses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    #: CPU seconds spent meanwhile by the app and by this load generator (the same process
    #: when the app runs in it).
    cpu: dict[str, float] = field(default_factory=dict)


async def _load(
    clients: int,
    seconds: float,
    think: float,
    volunteers: Volunteers,
    browsers: Browsers,
    app_pid: int,
) -> Run:
    """``clients`` visitors at a time for ``seconds``, each client one visitor after another."""
    run = Run(seconds)
    app, generator = cpu_seconds(app_pid), time.process_time()
    deadline = time.perf_counter() + seconds
    await asyncio.gather(
        *(
            _client(random.Random(n), deadline, think, volunteers, browsers, run)
            for n in range(clients)
        )
    )
    if app_pid == os.getpid():
        run.cpu["app and load generator"] = time.process_time() - generator
    else:
        run.cpu["app"] = cpu_seconds(app_pid) - app
        run.cpu["load generator"] = time.process_time() - generator
    return run


def cpu_seconds(pid: int) -> float:
    """The CPU time process ``pid`` and its children have spent, user and system."""
    ticks = 0
    for each in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


async def _client(
    chance: random.Random,
    deadline: float,
    think: float,
    volunteers: Volunteers,
    browsers: Browsers,
    run: Run,
) -> None:
    async def pause() -> None:
        await asyncio.sleep(think * chance.uniform(0.5, 1.5))

    async def timed(kind: str, request: Awaitable[httpx.Response]) -> httpx.Response:
        await pause()
        started = time.perf_counter()
        response = await request  # a coroutine: the request starts here
        run.latencies[kind].append(time.perf_counter() - started)
        run.statuses[f"{kind} {response.status_code}"] += 1
        if response.status_code not in EXPECTED[kind]:
            run.errors[f"{kind} {response.status_code}"] += 1
        return response

    await asyncio.sleep(think * chance.random())  # visitors do not all arrive at once
    while time.perf_counter() < deadline:
        if chance.random() < MADE_UP:
            source, token = volunteers.next_made_up()
            async with browsers(source) as browser:
                await timed(NEUTRAL, browser.get(f"/svar/{token}"))
            continue
        source, number, token = volunteers.next()
        async with browsers(source) as browser:
            page = await timed(PAGE, browser.get(f"/svar/{token}"))
            found = FORM_TOKEN.search(page.text)
            if found is None:
                run.errors["page without a form"] += 1
                continue
            form = {"answer": "yes" if number % 2 else "no", "form_token": found[1]}
            await timed(POST, browser.post(f"/svar/{token}", data=form))


def _report(title: str, run: Run) -> None:
    print(f"  {title}")
    for kind, values in run.latencies.items():
        if not values:
            continue
        ms = sorted(value * 1000 for value in values)
        p95 = percentile(ms, 95)
        goal = "" if kind == NEUTRAL else f"  (goal p95 < {GOAL_MS:.0f} ms: "
        goal += "" if kind == NEUTRAL else ("met)" if p95 < GOAL_MS else "NOT met)")
        print(
            f"    {kind:12s} {len(ms) / run.seconds:6,.0f}/s  p50 {statistics.median(ms):6.1f} ms"
            f"  p95 {p95:6.1f} ms  p99 {percentile(ms, 99):6.1f} ms{goal}"
        )
    if run.latencies[NEUTRAL] and run.latencies[PAGE]:
        ratio = statistics.median(run.latencies[NEUTRAL]) / statistics.median(run.latencies[PAGE])
        print(f"    neutral page / answer page, medians: {ratio:.2f} (near 1: tells nothing)")
    answers = ", ".join(
        f"{status.split()[-1]}: {count}"
        for status, count in sorted(run.statuses.items())
        if status.startswith(POST)
    )
    print(f"    answers by status: {answers}")
    requests = sum(len(values) for values in run.latencies.values())
    cpu = ", ".join(f"{name} {spent / requests * 1000:.1f}" for name, spent in run.cpu.items())
    print(f"    CPU ms a request: {cpu}; {sum(run.cpu.values()) / run.seconds:.2f} cores busy")
    if run.errors:
        print(f"    errors: {sum(run.errors.values())} ({', '.join(sorted(run.errors))})")


def percentile(values: list[float], percent: float) -> float:
    """The ``percent`` percentile of sorted ``values``."""
    return values[min(len(values) - 1, int(len(values) * percent / 100))]


if __name__ == "__main__":
    main()
