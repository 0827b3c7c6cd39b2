"""A file is stored a part at a time, and still all or nothing: cut into parts of any size the
panel ends the same as with one transaction, and a run killed while storing is finished by
the next one, exactly once."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from configuration.settings import load_settings
from data_samples.synthetic import generate_signups, generate_withdrawals
from store import staging, storing
from store.panel_store import PanelStore
from store.tables import (
    Contact,
    Erasure,
    IngestRun,
    Profile,
    QuarantinedRecord,
    SubmissionNote,
    Volunteer,
    Withdrawal,
)
from tests.helpers import PANEL_TABLES, SAMPLES, ingest, write_signups, write_withdrawals
from tests.processes import wait_until

SPAWN = multiprocessing.get_context("spawn")
START, END = date(2025, 1, 1), date(2026, 10, 31)


def in_parts_of(rows: int) -> dict[str, int]:
    """Parts of about ``rows`` rows on either database (PostgreSQL's is otherwise one part)."""
    return {"sqlite": rows, "postgresql": rows}


def panel_view(store: PanelStore) -> dict[str, Any]:
    """Everything a file's storing decides, keyed by what does not depend on the run (keyed
    e-mail hashes and submission ids, not random volunteer ids or the moment of writing)."""
    with store.engine.connect() as connection:

        def rows(statement: Any) -> list[tuple[str, ...]]:
            return sorted(tuple(str(v) for v in row) for row in connection.execute(statement))

        by_hash = Volunteer.volunteer_id == Profile.volunteer_id
        return {
            "people": rows(
                select(
                    Volunteer.email_hash,
                    Volunteer.current_submission_id,
                    Volunteer.withdrawn_at,
                    Volunteer.erased_at,
                )
            ),
            "profiles": rows(
                select(Profile.submission_id, Volunteer.email_hash, Profile.birth_date).join(
                    Volunteer, by_hash
                )
            ),
            "contacts": rows(
                select(Contact.email, Contact.phone, Volunteer.current_submission_id).join(
                    Volunteer, Volunteer.volunteer_id == Contact.volunteer_id
                )
            ),
            "notes": rows(select(SubmissionNote.submission_id, SubmissionNote.text)),
            "quarantine": rows(
                select(
                    QuarantinedRecord.line,
                    QuarantinedRecord.submission_id,
                    QuarantinedRecord.resolved_at.is_(None),
                )
            ),
            "withdrawals": rows(select(Withdrawal.email_hash, Withdrawal.action)),
            "erasures": rows(select(Erasure.email_hash, Erasure.erased_at)),
            "audit": rows(
                select(IngestRun.status, IngestRun.rows, IngestRun.stored, IngestRun.known)
            ),
        }


def history(tmp_path: Path, seed: int) -> list[Path]:
    """Two signups exports (people re-submitting, in and across files, some rows damaged) and
    withdrawals of some of them, erasures among them."""
    generated = generate_signups(
        120, seed=seed, start=START, end=END, resubmission_rate=0.4, damage_rate=0.01
    )
    rows = [row.values for row in generated]
    first = write_signups(tmp_path / f"a{seed}.csv", rows[: len(rows) // 2])
    second = write_signups(tmp_path / f"b{seed}.csv", rows)
    people = {row.values["email"]: row.values["indsendt"] for row in generated if not row.damage}
    withdrawn = generate_withdrawals(
        [(email, datetime.strptime(t, "%d-%m-%Y %H:%M:%S")) for email, t in people.items()][::3],
        seed=seed,
        start=datetime(2026, 11, 1),
        end=datetime(2026, 11, 20),
    )
    third = write_withdrawals(
        tmp_path / f"c{seed}.csv",
        [(w.values["email"], w.values["tidspunkt"], w.values["handling"]) for w in withdrawn],
    )
    return [first, second, third]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10_000), part_rows=st.integers(1, 40))
def test_parts_of_any_size_store_exactly_what_one_transaction_does(
    store: PanelStore, tmp_path_factory: pytest.TempPathFactory, seed: int, part_rows: int
) -> None:
    folder = tmp_path_factory.mktemp("exports")
    files = history(folder, seed)
    whole = _ingested_with(store, files, part_rows=1_000_000)
    assert _ingested_with(store, files, part_rows=part_rows) == whole


def _ingested_with(store: PanelStore, files: list[Path], *, part_rows: int) -> dict[str, Any]:
    _emptied(store)
    kept, staging.PART_ROWS = staging.PART_ROWS, in_parts_of(part_rows)
    try:
        ingest(store, *files)
    finally:
        staging.PART_ROWS = kept
    return panel_view(store)


def test_a_person_is_never_split_between_parts(store: PanelStore, tmp_path: Path) -> None:
    rows = [row.values for row in generate_signups(
        200, seed=5, start=START, end=END, resubmission_rate=0.5
    )]  # fmt: skip
    export = write_signups(tmp_path / "s.csv", rows)
    assert len(rows) > 250
    kept, staging.PART_ROWS = staging.PART_ROWS, in_parts_of(7)
    try:
        summary = ingest(store, export)
    finally:
        staging.PART_ROWS = kept
    assert summary.files[0].status == "accepted"
    with store.engine.connect() as connection:
        (parts,) = connection.execute(select(IngestRun.stored_parts)).scalars()
    assert parts > 30  # it was stored in many parts
    by_email: dict[str, set[str]] = {}
    for row in rows:
        by_email.setdefault(row["email"].lower(), set()).add(row["indsendt"])
    with store.engine.connect() as connection:
        current = dict(
            connection.execute(select(Contact.email, Volunteer.current_submission_id).join(
                Volunteer, Volunteer.volunteer_id == Contact.volunteer_id
            )).all()
        )  # fmt: skip
    newest = {
        email: max(
            (r for r in rows if r["email"].lower() == email),
            key=lambda r: (
                datetime.strptime(r["indsendt"], "%d-%m-%Y %H:%M:%S"),
                r["indsendelse_id"],
            ),
        )["indsendelse_id"]
        for email in by_email
    }
    assert current == newest


def _store_slowly(export: str, ready: Any) -> None:
    """An ingest in a process of its own, whose parts are small and slow (to be killed)."""
    staging.PART_ROWS = in_parts_of(20)
    write = storing.write_signups
    storing.write_signups = lambda *args: (time.sleep(0.3), write(*args))[1]  # type: ignore[assignment]
    store = PanelStore.open(load_settings().store)
    ready.set()
    ingest(store, Path(export))


def _emptied(store: PanelStore) -> None:
    with store.engine.begin() as connection:
        for table in [*reversed(PANEL_TABLES), IngestRun.__table__]:
            connection.execute(table.delete())


@pytest.mark.slow
def test_a_run_killed_while_storing_is_finished_by_the_next_exactly_once(
    store: PanelStore, tmp_path: Path
) -> None:
    export = SAMPLES / "signups.csv"
    ready = SPAWN.Event()
    child = SPAWN.Process(target=_store_slowly, args=(str(export), ready))
    child.start()
    assert ready.wait(60)

    def parts_stored() -> int:
        with store.engine.connect() as connection:
            found = connection.execute(select(IngestRun.stored_parts)).scalars().first()
        return found or 0

    assert wait_until(lambda: parts_stored() >= 3, timeout=120)
    assert child.pid is not None
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    with store.engine.connect() as connection:
        status, stored = connection.execute(select(IngestRun.status, IngestRun.stored)).one()
    assert status == "storing" and 0 < stored < 432
    assert list(store.staging.iterdir())  # the plan waits for the next run

    nobody = write_withdrawals(
        tmp_path / "w.csv", [("nobody@example.dk", "01-11-2026 10:00:00", "afmeld")]
    )
    ingest(store, nobody)  # the next run: it finishes the file first
    with store.engine.connect() as connection:
        first = connection.execute(
            select(
                IngestRun.status,
                IngestRun.rows,
                IngestRun.stored,
                IngestRun.quarantined,
                IngestRun.known,
            ).order_by(IngestRun.ingest_id)
        ).first()
    assert tuple(first or ()) == ("accepted", 441, 432, 9, 0)
    assert list(store.staging.iterdir()) == []
    finished = panel_view(store)

    _emptied(store)  # the same, without a kill
    ingest(store, export, nobody)
    assert panel_view(store) == finished


def test_a_bug_between_two_parts_keeps_the_parts_before_and_says_so(
    store: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that is no passing trouble (a bug of ours, say) in the third part: the two
    parts before stay stored, each person whole, the run is failed saying how much was stored,
    the plan is gone, and ingesting the file again stores the rest: the panel ends as if the
    file had been stored in one go."""
    export = SAMPLES / "signups.csv"
    monkeypatch.setattr(staging, "PART_ROWS", in_parts_of(50))
    write, calls = storing.write_signups, []

    def breaks_in_the_third_part(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise ZeroDivisionError("a bug")
        return write(*args)

    monkeypatch.setattr(storing, "write_signups", breaks_in_the_third_part)
    (failed,) = ingest(store, export).files
    assert failed.status == "failed"
    (said,) = failed.refusal
    assert "of its rows were stored before it stopped" in said and "ZeroDivision" not in said
    with store.engine.connect() as connection:
        status, stored, message = connection.execute(
            select(IngestRun.status, IngestRun.stored, IngestRun.message)
        ).one()
    assert status == "failed" and message == said and 0 < stored < 432
    assert f"{stored:,} of its rows" in said
    assert list(store.staging.iterdir()) == []

    monkeypatch.setattr(storing, "write_signups", write)
    (again,) = ingest(store, export).files
    assert again.status == "accepted" and again.stored == 432 - stored
    partly = panel_view(store)
    _emptied(store)
    ingest(store, export)
    whole = panel_view(store)
    # The same panel; only the audit's counts tell the two runs apart.
    assert {k: v for k, v in partly.items() if k != "audit"} == {
        k: v for k, v in whole.items() if k != "audit"
    }


class _Killed(BaseException):
    """Stands for a kill: nothing in the ingest catches it."""


def test_a_plan_that_cannot_be_finished_fails_its_run_and_holds_up_nothing(
    store: PanelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "PART_ROWS", in_parts_of(50))
    write, calls = storing.write_signups, []

    def killed_in_the_third_part(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise _Killed
        return write(*args)

    monkeypatch.setattr(storing, "write_signups", killed_in_the_third_part)
    with pytest.raises(_Killed):
        ingest(store, SAMPLES / "signups.csv")
    monkeypatch.setattr(storing, "write_signups", write)
    (plan,) = store.staging.iterdir()
    (plan / "rows.arrow").write_bytes(b"damaged on disk")

    nobody = write_withdrawals(
        tmp_path / "w.csv", [("nobody@example.dk", "01-11-2026 10:00:00", "afmeld")]
    )
    (next_file,) = ingest(store, nobody).files
    assert next_file.status == "accepted"
    with store.engine.connect() as connection:
        status, message = connection.execute(
            select(IngestRun.status, IngestRun.message).order_by(IngestRun.ingest_id)
        ).first() or ("", "")
    assert status == "failed"
    assert "could not finish storing" in message
    assert re.search(r"\b(9[0-9]|1[01][0-9]) of its rows were stored", message), message
    assert list(store.staging.iterdir()) == []


def test_sqlite_stores_a_file_in_parts_and_postgresql_in_one(
    store: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts are for SQLite's one writer at a time; PostgreSQL locks rows, not the database,
    and one transaction is faster there."""
    monkeypatch.setattr(staging, "PART_ROWS", {"sqlite": 50})
    ingest(store, SAMPLES / "signups.csv")
    with store.engine.connect() as connection:
        (parts,) = connection.execute(select(IngestRun.stored_parts)).scalars()
    assert parts == (1 if store.engine.dialect.name == "postgresql" else 9)
