"""Cycle benchmark: the nightly cycle on 65,000 volunteers; 1,000,000 matched on Dask.

The nightly ``panel_cycle`` at today's panel size, and matching a million-volunteer panel on
a 2-worker Dask LocalCluster.

    python -m benchmarks.cycle_benchmark [--skip-million | --million-only] [--rebuild]
                                         [--partitions 4 [2 8 ...]] [--postgres URL]

Part 1, the cycle (goals: a full cycle at most 60 s, an idle one at most 15 s, Prefect's own
overhead included). A store on embedded SQLite (default settings, data folder of its own in
``benchmarks/out/cycle-panel-store``), built once and reused: a generated export of 71,560
rows (seed 7; 65,000 volunteers) ingested and 20 recruiting studies (``study_variants``)
matched as of 2026-12-01 by one ``panel_cycle``: the state after last night. Each measured
cycle runs on a fresh copy of that data folder, so each starts from the same state. In one
process (as ``panel cycle`` runs), with Prefect's temporary server:

* cold: the first full cycle of the process, 1,000 new signups (seed 8, 2026-11-01 to
  2026-11-30) and 50 withdrawals of panel members (``afmeldinger``) in the inbox; this call
  starts the temporary server, which is timed apart in a process of its own;
* the idle cycle right after (inbox empty: every match current, nothing due), and its obvious
  alternative, the same cycle without the "only if changed" skip (every study matched again);
* warm: twice more a full cycle and the idle one after it, each on a fresh copy;
* the full cycle's steps as plain functions, no Prefect, on a fresh copy: Prefect's overhead.

Per cycle it prints the stages (ingest, match, outreach subflows; within them reading the
panel, matching, recording candidate lists; per file the ingest's own stage times).

Part 2, matching a million (PostgreSQL, database ``panel_bench_cycle``, built once and
reused; the build takes several minutes): 1,100,000 generated rows (seed 7; about 1,000,000
volunteers), 50 recruiting studies, their candidate lists stored by a first match. Timed:
``match_studies(None, as_of)`` (the match step alone; every study matched, updating lists
that exist) in one process (``PANEL_MATCH_PARTITIONS=1``, no Dask), then on a
``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` with
``PANEL_MATCH_PARTITIONS`` of ``--partitions``; each after ``VACUUM ANALYZE``, the Prefect
server and the cluster started beforehand (their start is printed, not in the figure). Prints
the speed-up and, where this process can see it, where the time goes.

Run time on the 2-core development machine, once the stores exist: part 1 about 2.5 minutes,
part 2 about 2.5 minutes. Building the stores, once: part 1 about 1.5 minutes, part 2 about
6 minutes (ingesting 1.1 million rows into PostgreSQL 2 minutes, the first match and its
4.3 million candidates 4). Deterministic inputs (seeds); timings vary
with the shared VM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.cycle_store import BUILT
from benchmarks.ingest_benchmark import OUT, generated_export
from benchmarks.postgres_database import own_database
from schemas.act import Act

if TYPE_CHECKING:
    from flows.cycle_flow import CycleSummary

AS_OF = date(2026, 12, 1)
PANEL_ROWS, PANEL_SEED, PANEL_STUDIES = 71_560, 7, 20
NEW_ROWS, NEW_SEED, WITHDRAWALS = 1_000, 8, 50
MILLION_ROWS, MILLION_SEED, MILLION_STUDIES = 1_100_000, 7, 50
FULL_GOAL, IDLE_GOAL = 60.0, 15.0
PANEL_STORE = OUT / "cycle-panel-store"
RUNS = OUT / "cycle-runs"
MILLION_STORE = OUT / "cycle-million"
PREFECT_HOME = OUT / "cycle-prefect-home"
DATABASE = "panel_bench_cycle"
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
KEY = hashlib.sha256(b"panelmatch cycle benchmark").hexdigest()


def main() -> None:
    options = _arguments()
    if options.child == "cycle":
        _cycle_child()
        return
    if options.child == "million":
        _million_child(options.partitions)
        return
    began = time.perf_counter()
    if not options.million_only:
        _cycle_part(options.rebuild)
    if not options.skip_million:
        _million_part(options.rebuild, options.postgres, options.partitions)
    print(f"\nbenchmark run time: {time.perf_counter() - began:,.0f} s")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--skip-million", action="store_true", help="part 1 only")
    which.add_argument("--million-only", action="store_true", help="part 2 only")
    parser.add_argument("--rebuild", action="store_true", help="build the stores anew")
    parser.add_argument(
        "--partitions", type=int, nargs="+", default=[4], help="part 2: partitions on Dask"
    )
    parser.add_argument("--postgres", default=POSTGRES, help="part 2: the PostgreSQL server")
    parser.add_argument("--child", choices=["cycle", "million"], help=argparse.SUPPRESS)
    return parser.parse_args()


def _environment(data_dir: Path, database_url: str = "") -> dict[str, str]:
    """A store's settings: its own data folder, a fixed pseudonym key, the default runner."""
    env = {
        **os.environ,
        "PANEL_DATA_DIR": str(data_dir),
        "PANEL_DATABASE_URL": database_url,
        "PANEL_PSEUDONYM_KEY": KEY,
        "PREFECT_HOME": str(PREFECT_HOME),
    }
    for name in ("PANEL_DASK_ADDRESS", "PANEL_MATCH_PARTITIONS", "PREFECT_API_URL"):
        env.pop(name, None)
    return env


def _generate(out: Path, *arguments: str) -> Path:
    if not out.exists():
        OUT.mkdir(exist_ok=True)
        command = [sys.executable, "-m", "data_samples.generate", arguments[0], str(out)]
        subprocess.run([*command, *arguments[1:]], check=True, stdout=subprocess.DEVNULL)
    return out


def _inputs() -> tuple[Path, Path, Path]:
    """The panel's export, the night's new signups and its withdrawals (made once)."""
    panel = generated_export(PANEL_ROWS, PANEL_SEED, 0.0)
    signups = _new_volunteers(_generate(
        OUT / f"cycle-new-signups-{NEW_ROWS}-seed{NEW_SEED}-first.csv",
        "signups", "--rows", str(NEW_ROWS), "--seed", str(NEW_SEED),
        "--start", "2026-11-01", "--end", "2026-11-30", "--resubmission-rate", "0",
    ))  # fmt: skip
    withdrawals = _generate(
        OUT / f"cycle-afmeldinger-{WITHDRAWALS}-seed{PANEL_SEED}-of-{PANEL_ROWS}.csv",
        "withdrawals", "--rows", str(WITHDRAWALS), "--seed", str(PANEL_SEED),
        "--signup-rows", str(PANEL_ROWS), "--until", "2026-11-30",
    )  # fmt: skip
    return panel, signups, withdrawals


def _new_volunteers(generated: Path) -> Path:
    """The generated export with every e-mail made new (``nov2026.`` before its local part):
    the generator draws e-mails from the same name pools whatever the seed, so about half of
    another seed's addresses are panel members' (re-submissions, not new signups)."""
    import csv

    from data_samples.export_writer import SIGNUP_COLUMNS, ExportWriter

    out = generated.with_name(generated.name.replace("-first", "-new-volunteers"))
    if not out.exists():
        with generated.open(encoding="utf-8-sig", newline="") as source:
            rows = list(csv.DictReader(source, delimiter=";"))
        for row in rows:
            row["email"] = f"nov2026.{row['email']}"
        part = out.with_suffix(".part")
        with ExportWriter(part, SIGNUP_COLUMNS) as writer:
            writer.write_all(rows)
        part.rename(out)
    return out


def _built(data_dir: Path, rebuild: bool, build: Callable[[], None]) -> dict[str, Any]:
    marker = data_dir / BUILT
    if rebuild or not marker.exists():
        build()
    built: dict[str, Any] = json.loads(marker.read_text())
    return built


def _volunteers(url: str) -> int:
    """Volunteers in the store (not erased): what "a panel of N volunteers" counts."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(text("SELECT count(*) FROM volunteer WHERE erased_at IS NULL"))
    engine.dispose()
    return int(count or 0)


def _build_store(kind: str, env: dict[str, str], export: Path, studies: int) -> None:
    began = time.perf_counter()
    print(f"building the {kind} store (once; kept in {env['PANEL_DATA_DIR']}) ...", flush=True)
    command = [sys.executable, "-m", "benchmarks.cycle_store", kind, str(export)]
    subprocess.run(
        [*command, str(studies), AS_OF.isoformat()], env=env, check=True, stdout=subprocess.DEVNULL
    )
    print(f"  built in {time.perf_counter() - began:,.0f} s", flush=True)


# --- part 1: the cycle ------------------------------------------------------------------------


def _cycle_part(rebuild: bool) -> None:
    panel, _, _ = _inputs()
    env = _environment(PANEL_STORE)

    def build() -> None:
        shutil.rmtree(PANEL_STORE, ignore_errors=True)
        _build_store("panel", env, panel, PANEL_STUDIES)

    built = _built(PANEL_STORE, rebuild, build)
    print(
        f"\n== Part 1: the cycle on SQLite: {_volunteers(f'sqlite:///{PANEL_STORE}/panel.db'):,} "
        f"volunteers ({built['rows']:,} rows), {built['studies']} recruiting studies matched as of "
        f"{AS_OF}, {built['candidates']:,} candidates; {built['invited']} invited last night; "
        f"store built in {built['seconds']:.0f} s"
    )
    started = time.perf_counter()
    server = _server_start(env)
    print(
        f"Prefect's temporary server, started alone in a process of its own: {server:.1f} s "
        f"(PREFECT_HOME {PREFECT_HOME.name}, existing)"
    )
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "benchmarks.cycle_benchmark", "--child", "cycle"],
        env=env,
        check=True,
    )
    print(f"measured process: {time.perf_counter() - started:.1f} s from start to exit")


def _server_start(env: dict[str, str]) -> float:
    code = (
        "import time; import flows; from prefect.server.api.server import SubprocessASGIServer;"
        "s = SubprocessASGIServer(); t = time.perf_counter(); s.start(); "
        "print(time.perf_counter() - t); s.stop()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    )
    return float(done.stdout.strip().splitlines()[-1])


@dataclass
class Stages:
    """Seconds spent in wrapped functions, per label, since the last ``reset``."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def reset(self) -> None:
        self.seconds, self.calls = {}, {}

    def timed(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - began
                self.calls[label] = self.calls.get(label, 0) + 1

        return wrapper

    def wrap(self, module: Any, name: str, label: str) -> None:
        """Time every call of ``module.name`` from now on (the callers look it up there)."""
        setattr(module, name, self.timed(label, getattr(module, name)))


STAGES = Stages()


def _instrument() -> None:
    """Wrap the stages the cycle's summary does not time; callers find them by module
    attribute at call time, so the flows run as they are, subflows and tasks included."""
    import flows.cycle_flow
    import flows.match_flow
    import store.match_runs

    STAGES.wrap(flows.cycle_flow, "ingest_exports", "ingest subflow")
    STAGES.wrap(flows.cycle_flow, "contact_volunteers", "outreach subflow")
    configured = flows.match_flow.configured

    def timed_configured() -> Any:
        return STAGES.timed("match subflow", configured())

    flows.match_flow.configured = timed_configured
    STAGES.wrap(store.match_runs, "contactable_profiles", "  read panel")
    STAGES.wrap(flows.match_flow, "match_in_partitions", "  partitions on Dask")
    STAGES.wrap(flows.match_flow, "prepare_panel", "  prepare panel")
    STAGES.wrap(flows.match_flow, "match_study", "  match")
    STAGES.wrap(flows.match_flow, "candidate_records", "  candidate rows")
    STAGES.wrap(store.match_runs, "record_match", "  record candidates")
    STAGES.wrap(store.match_runs, "record_changes", "    write the changes")


def _fresh_copy(name: str) -> Path:
    """A copy of the built store, configured for this process from now on."""

    copy = RUNS / name
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(PANEL_STORE, copy)
    os.environ["PANEL_DATA_DIR"] = str(copy)
    return copy


def _fill_inbox() -> None:
    from configuration.settings import load_settings

    _, signups, withdrawals = _inputs()
    inbox = load_settings().cycle.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copy(signups, inbox / "2026-11-30-signups.csv")
    shutil.copy(withdrawals, inbox / "2026-11-30-afmeldinger.csv")


@dataclass
class Cycle:
    label: str
    seconds: float
    summary: CycleSummary | None
    stages: dict[str, float]
    calls: dict[str, int]
    note: str = ""


def _cycle_child() -> None:
    began = time.perf_counter()
    from flows.cycle_flow import panel_cycle

    imported = time.perf_counter() - began
    _instrument()

    def run(label: str, full: bool) -> Cycle:
        if full:
            _fill_inbox()
        STAGES.reset()
        started = time.perf_counter()
        summary = panel_cycle(AS_OF, "benchmark")
        cycle = Cycle(label, time.perf_counter() - started, summary, STAGES.seconds, STAGES.calls)
        _print_cycle(cycle)
        return cycle

    print(f"imports (flows.cycle_flow: Prefect, pandas, SQLAlchemy...): {imported:.1f} s")
    _fresh_copy("a")
    cold = run("cold: first full cycle of the process (starts the temporary server)", True)
    idle = run("idle cycle right after (warm)", False)
    with _without_skip():
        unskipped = run("alternative: idle cycle without the 'only if changed' skip", False)
    warm_full, warm_idle = [], [idle]
    for name in ("b", "c"):
        _fresh_copy(name)
        warm_full.append(run(f"warm full cycle (copy {name})", True))
        warm_idle.append(run(f"idle cycle right after (copy {name})", False))
    _fresh_copy("d")
    _fill_inbox()
    plain = _plain_cycle("the full cycle's steps as plain functions, no Prefect (warm)")
    _print_cycle(plain)
    shutil.rmtree(RUNS, ignore_errors=True)

    print("\nPart 1 summary (wall time of panel_cycle(as_of), in this process):")
    fulls = [cycle.seconds for cycle in warm_full]
    idles = [cycle.seconds for cycle in warm_idle]
    print(f"  full cycle, cold process (temporary server start included): {cold.seconds:6.1f} s")
    print(f"    + imports before it: {imported:.1f} s = {imported + cold.seconds:.1f} s")
    print(f"  full cycle, warm: {_spread(fulls)}")
    print(f"  idle cycle, warm: {_spread(idles)}")
    print(
        f"  idle without the skip: {unskipped.seconds:.1f} s: the skip is "
        f"{unskipped.seconds / min(idles):.1f}x faster"
    )
    print(
        f"  full cycle without Prefect: {plain.seconds:.1f} s: Prefect adds "
        f"{min(fulls) - plain.seconds:.1f} s ({min(fulls) / plain.seconds:.2f}x) warm"
    )
    _goal("full cycle at most 60 s (cold process, server start included)", cold.seconds, FULL_GOAL)
    _goal("full cycle at most 60 s (warm, slowest)", max(fulls), FULL_GOAL)
    _goal("idle cycle at most 15 s (warm, slowest)", max(idles), IDLE_GOAL)


@contextmanager
def _without_skip() -> Iterator[None]:
    """Every study's match counts as not current: the cycle matches all of them again."""
    from store import match_runs

    current = match_runs.match_is_current
    match_runs.match_is_current = lambda connection, study_id, as_of: False
    try:
        yield
    finally:
        match_runs.match_is_current = current


def _plain_cycle(label: str) -> Cycle:
    """What ``panel_cycle`` does, step for step, without Prefect (no flow, task or artifact):
    ingest with the plain steps, file away, match what is not current, queue and send."""
    from datetime import UTC, datetime

    from configuration.settings import load_settings
    from flows.ingest_flow import PLAIN_STEPS, ingest_file
    from ingest import batch_gate, inbox
    from matching.candidates import candidate_records
    from matching.engine import match_study
    from matching.funnel import attrition_funnel
    from matching.panel import prepare_panel
    from outreach.contact_run import queue_invitations, send_invitations
    from store import match_runs, studies
    from store.panel_store import PanelStore

    STAGES.reset()
    timed = STAGES.timed
    started = time.perf_counter()
    settings = load_settings()
    store = PanelStore.open(load_settings().store)
    batch_gate.warm_up()
    files = inbox.waiting(settings.cycle.inbox_dir)
    ingested = [
        timed("ingest", ingest_file)(store, path, "benchmark", settings, run=PLAIN_STEPS)
        for path in files
    ]
    for path in files:
        inbox.move_processed(path, settings.cycle.processed_dir, datetime.now(UTC))
    match_began = time.perf_counter()
    with store.reading() as connection:
        recruiting = studies.recruiting(connection)
        ids = [s for s in recruiting if not match_runs.match_is_current(connection, s, AS_OF)]
    if ids:
        with store.reading() as connection:
            profiles, _ = match_runs.contactable_panel(connection)
        panel = prepare_panel(profiles, AS_OF)
        for study_id in ids:
            with store.reading() as connection:
                definition = studies.current_definition(connection, study_id)
            assert definition is not None
            match = match_study(definition, panel)
            with store.writing() as connection:
                match_runs.record_match(
                    connection,
                    attrition_funnel(match),
                    candidate_records(match),
                    AS_OF,
                    Act("benchmark", datetime.now(UTC)),
                )
    STAGES.seconds["match"] = time.perf_counter() - match_began
    contact_began = time.perf_counter()
    now = datetime.now(UTC)
    plans = queue_invitations(store, settings.outreach, None, AS_OF, "benchmark", now)
    sent = send_invitations(store, settings.outreach, AS_OF)
    STAGES.seconds["outreach"] = time.perf_counter() - contact_began
    seconds = time.perf_counter() - started
    invited = sum(len(plan.invite) for plan in plans)
    note = (
        f"{len(files)} files: {sum(f.stored for f in ingested):,} rows stored; "
        f"{len(ids)} studies matched; {invited} invited, {sent.sent} sent"
    )
    return Cycle(label, seconds, None, STAGES.seconds, STAGES.calls, note)


def _print_cycle(cycle: Cycle) -> None:
    print(f"\n{cycle.label}: {cycle.seconds:.1f} s")
    summary = cycle.summary
    if summary is not None:
        for file in summary.ingest.files:
            stages = ", ".join(f"{k} {v:.2f}" for k, v in file.seconds.items())
            details = ", ".join(f"{k} {v:,}" for k, v in file.details.items())
            print(
                f"  {Path(file.file).name}: {file.kind} {file.status}, {file.rows:,} rows, "
                f"{file.stored:,} stored, {file.known:,} known ({details}); s: {stages}"
            )
        new = sum(s.new_candidates for s in summary.matched)
        print(
            f"  matched {len(summary.matched)} studies ({new:,} new candidates), "
            f"{len(summary.up_to_date)} up to date"
        )
        if summary.contact is not None:
            invited = sum(len(plan.invite) for plan in summary.contact.plans)
            sent = summary.contact.sent.sent if summary.contact.sent else 0
            print(f"  outreach: {invited} invited, {sent} sent")
    if cycle.note:
        print(f"  {cycle.note}")
    accounted = 0.0
    for label, seconds in cycle.stages.items():
        calls = cycle.calls.get(label, 1)
        print(f"  {label:22s} {seconds:6.2f} s" + (f" ({calls} calls)" if calls > 1 else ""))
        if not label.startswith(" "):
            accounted += seconds
    print(f"  {'rest (flow, inbox...)':22s} {cycle.seconds - accounted:6.2f} s")


def _spread(values: list[float]) -> str:
    shown = ", ".join(f"{value:.1f}" for value in values)
    return f"{min(values):.1f} to {max(values):.1f} s ({shown})"


def _goal(what: str, seconds: float, limit: float) -> None:
    verdict = "met" if seconds <= limit else "NOT met"
    print(f"  goal {what}: {seconds:.1f} s: {verdict}")


# --- part 2: a million volunteers on Dask -----------------------------------------------------


def _million_part(rebuild: bool, postgres: str, partitions: list[int]) -> None:
    url = _database(postgres, rebuild)
    env = _environment(MILLION_STORE, url)
    export = generated_export(MILLION_ROWS, MILLION_SEED, 0.0)

    def build() -> None:
        shutil.rmtree(MILLION_STORE, ignore_errors=True)
        MILLION_STORE.mkdir(parents=True)
        _build_store("million", env, export, MILLION_STUDIES)

    built = _built(MILLION_STORE, rebuild, build)
    print(
        f"\n== Part 2: matching on PostgreSQL ({DATABASE}): {_volunteers(url):,} volunteers "
        f"({built['rows']:,} rows), {built['studies']} recruiting studies, "
        f"{built['candidates']:,} candidates listed; store built in {built['seconds']:.0f} s"
    )
    subprocess.run(
        [sys.executable, "-m", "benchmarks.cycle_benchmark", "--child", "million", "--partitions"]
        + [str(count) for count in partitions],
        env=env,
        check=True,
    )


def _database(url: str, rebuild: bool) -> str:
    """The benchmark's own database on the server ``url`` names (made once)."""
    if rebuild:
        shutil.rmtree(MILLION_STORE, ignore_errors=True)
    return own_database(url, DATABASE, drop_first=rebuild)


def _vacuum() -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["PANEL_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def _million_child(partitions: list[int]) -> None:
    import logging
    from dataclasses import asdict

    from flows import match_flow  # first: it sets Prefect's quiet, offline defaults

    from distributed import LocalCluster  # isort: skip
    from prefect import flow  # isort: skip

    _instrument()

    @flow(name="cycle-benchmark-warm-up")
    def warm_up() -> None:
        return None

    began = time.perf_counter()
    warm_up()
    print(f"Prefect: temporary server start and a first flow: {time.perf_counter() - began:.1f} s")
    # The Dask workers report their task runs to this server, as to a running server in
    # production. Left alone, each worker process starts a temporary server of its own on its
    # first task (seconds each, on the same PREFECT_HOME), and the UI never sees those runs.
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = SubprocessASGIServer().api_url
    os.environ["PREFECT_API_URL"] = url  # for the workers: they inherit the environment
    # For this process, whose Prefect settings were read at import (match_flow.configured()
    # refuses Dask without a server to report to).
    reporting = ExitStack()  # kept until the function returns: closing it restores them
    reporting.enter_context(temporary_settings(updates={PREFECT_API_URL: url}))

    def run(label: str) -> tuple[float, dict[str, Any], dict[str, float]]:
        began = time.perf_counter()
        _vacuum()
        vacuumed = time.perf_counter() - began
        STAGES.reset()
        began = time.perf_counter()
        summaries = match_flow.configured()(None, AS_OF, "benchmark")
        seconds = time.perf_counter() - began
        listed = sum(s.funnel.eligible + s.funnel.needs_screening for s in summaries)
        print(
            f"\n{label}: {seconds:.1f} s ({len(summaries)} studies, {listed:,} candidates, "
            f"{sum(s.new_candidates for s in summaries)} new; VACUUM ANALYZE before: "
            f"{vacuumed:.0f} s)"
        )
        for stage, spent in STAGES.seconds.items():
            calls = STAGES.calls.get(stage, 1)
            print(f"  {stage:22s} {spent:6.1f} s" + (f" ({calls} calls)" if calls > 1 else ""))
        funnels = {s.study_id: asdict(s.funnel) for s in summaries}
        return seconds, funnels, dict(STAGES.seconds)

    os.environ["PANEL_MATCH_PARTITIONS"] = "1"
    single, expected, stages = run("one process (PANEL_MATCH_PARTITIONS=1, no Dask)")
    began = time.perf_counter()
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        print(f"\nLocalCluster, 2 workers: started in {time.perf_counter() - began:.1f} s")
        os.environ["PANEL_DASK_ADDRESS"] = cluster.scheduler_address
        parted = {}
        for count in partitions:
            os.environ["PANEL_MATCH_PARTITIONS"] = str(count)
            label = f"2-worker LocalCluster, PANEL_MATCH_PARTITIONS={count}"
            parted[count], funnels, _ = run(label + " (reading and matching on the workers)")
            same = "the same funnels as" if funnels == expected else "FUNNELS DIFFER from"
            print(f"  {same} one process")
    print("\nPart 2 summary (match_studies(None, as_of), 1,000,000 volunteers, 50 studies):")
    print(f"  one process: {single:.1f} s")
    for count, seconds in parted.items():
        print(
            f"  2-worker LocalCluster, {count} partitions: {seconds:.1f} s: speed-up "
            f"{single / seconds:.2f}x over one process"
        )
    recording = stages.get("  record candidates", 0.0)
    print(
        f"  of the one-process time, {recording:.0f} s ({recording / single:.0%}) is recording "
        "the candidate lists; on Dask the workers compare their parts of the lists, and the "
        "flow's process only writes the changes"
    )


if __name__ == "__main__":
    main()
