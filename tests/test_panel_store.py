"""The panel store through whole ingests, on SQLite and PostgreSQL: outcomes that add up,
idempotency, versioned profiles, contacts kept apart, withdrawals and erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from data_samples.broken import write_huge_field_export
from schemas.signup import CONTACT_COLUMNS
from store.panel_store import PanelStore
from store.pseudonyms import EmailHasher
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
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.helpers import (
    ingest,
    overview,
    signup,
    snapshot,
    submission_id,
    write_signups,
    write_withdrawals,
)

SAMPLES = Path(__file__).parent.parent / "data_samples"
MANIFEST = json.loads((SAMPLES / "manifest.json").read_text())
hasher = EmailHasher(bytes.fromhex(TEST_PSEUDONYM_KEY))


def count(store: PanelStore, table: type, *where: object) -> int:
    with store.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def current_profile(store: PanelStore, email: str) -> dict[str, object]:
    with store.engine.connect() as connection:
        row = connection.execute(
            select(Profile)
            .join(Volunteer, Volunteer.current_submission_id == Profile.submission_id)
            .where(Volunteer.email_hash == hasher(email))
        ).one()
    return dict(row._mapping)


def test_the_sample_export_ends_every_row_as_stored_quarantined_or_known(store: PanelStore) -> None:
    expected = MANIFEST["files"]["signups.csv"]
    (file,) = ingest(store, SAMPLES / "signups.csv").files
    assert file.status == "accepted"
    assert file.rows == expected["rows"] == file.stored + file.quarantined + file.known
    assert (file.stored, file.known) == (expected["valid_rows"], 0)
    damaged = {
        (row["line"], row["indsendelse_id"], row["column"]) for row in expected["damaged_rows"]
    }
    found = {
        (row.line, row.submission_id, problem.split(":")[0])
        for row in file.quarantine
        for problem in row.problems
    }
    assert found == damaged
    assert count(store, Volunteer) == expected["volunteers"]
    assert count(store, QuarantinedRecord) == len(damaged)


def test_ingesting_the_same_file_again_adds_nothing(store: PanelStore) -> None:
    first = ingest(store, SAMPLES / "signups.csv").files[0]
    before = snapshot(store)
    again = ingest(store, SAMPLES / "signups.csv").files[0]
    assert (again.stored, again.quarantined, again.known) == (0, first.quarantined, first.stored)
    assert snapshot(store) == before


def test_a_full_reexport_stores_only_what_is_new(store: PanelStore) -> None:
    ingest(store, SAMPLES / "signups.csv")
    reexport = ingest(store, SAMPLES / "signups_reexport.csv").files[0]
    added = MANIFEST["files"]["signups_reexport.csv"]["added_rows"]
    assert reexport.stored == len(added)
    assert reexport.rows == reexport.stored + reexport.quarantined + reexport.known
    assert count(store, QuarantinedRecord) == len(MANIFEST["files"]["signups.csv"]["damaged_rows"])


def test_the_current_profile_is_the_latest_submitted_whatever_order_files_arrive(
    store: PanelStore, tmp_path: Path
) -> None:
    older = signup(indsendelse_id=submission_id(1), indsendt="01-02-2026 10:00:00", vaegt_kg="90,0")
    newer = signup(
        indsendelse_id=submission_id(2),
        indsendt="01-03-2026 10:00:00",
        vaegt_kg="80,0",
        email="SOEREN@Example.DK",
        telefon="",
        samtykke_kontakt="Nej",
        kontaktform="",
    )
    ingest(store, write_signups(tmp_path / "new.csv", [newer]))
    summary = ingest(store, write_signups(tmp_path / "old.csv", [older])).files[0]
    assert summary.stored == 1 and summary.details["updated_volunteers"] == 0
    current = current_profile(store, "soeren@example.dk")
    assert current["submission_id"] == submission_id(2)
    assert (current["sex"], current["pregnant"], current["contact_channel"]) == ("male", None, None)
    assert current["weight_kg"] == 80.0 and current["consent_contact"] is False
    assert count(store, Profile) == 2 and count(store, Volunteer) == 1
    with store.engine.connect() as connection:
        contact = connection.execute(select(Contact)).one()
    assert contact.phone is None  # the newest submission's details, even when it has fewer


def test_a_newer_submission_moves_the_current_profile_and_contact_forward(
    store: PanelStore, tmp_path: Path
) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [signup(indsendt="01-02-2026 10:00:00")]))
    later = signup(
        indsendelse_id=submission_id(2), indsendt="01-03-2026 10:00:00", efternavn="Ærbø-Holm"
    )
    summary = ingest(store, write_signups(tmp_path / "b.csv", [later])).files[0]
    assert summary.details["updated_volunteers"] == 1
    assert current_profile(store, "soeren@example.dk")["submission_id"] == submission_id(2)
    with store.engine.connect() as connection:
        assert connection.scalar(select(Contact.last_name)) == "Ærbø-Holm"


def test_contact_details_live_apart_from_health_answers(store: PanelStore, tmp_path: Path) -> None:
    ingest(
        store, write_signups(tmp_path / "a.csv", [signup(andet="Benene sitter uro hver aften.")])
    )
    profile_columns = set(Profile.__table__.columns.keys())
    assert not profile_columns & {"first_name", "last_name", "email", "phone", "free_text"}
    assert not set(Volunteer.__table__.columns.keys()) & {"email", "first_name", "phone"}
    assert CONTACT_COLUMNS  # the export's contact columns all land in `contact`
    with store.engine.connect() as connection:
        contact = connection.execute(select(Contact)).one()
        note = connection.execute(select(SubmissionNote.text)).scalar_one()
        volunteer = connection.execute(select(Volunteer)).one()
    assert (contact.first_name, contact.email, contact.phone) == (
        "Søren",
        "soeren@example.dk",
        "+4520112233",
    )
    assert note == "Benene sitter uro hver aften."
    assert volunteer.email_hash == hasher("soeren@example.dk")
    assert volunteer.volunteer_id.startswith("V") and len(volunteer.volunteer_id) == 12


def test_answered_none_and_not_answered_stay_different_in_the_store(
    store: PanelStore, tmp_path: Path
) -> None:
    rows = [
        signup(
            indsendelse_id=submission_id(1), email="a@example.dk", diagnoser="INGEN", medicin=""
        ),
        signup(indsendelse_id=submission_id(2), email="b@example.dk", diagnoser=" g25.8|n18.3 "),
    ]
    ingest(store, write_signups(tmp_path / "a.csv", rows))
    with store.engine.connect() as connection:
        stored = dict(
            connection.execute(
                select(Profile.submission_id, Profile.diagnoses).order_by(Profile.submission_id)
            ).all()
        )
        medicines = connection.execute(
            select(Profile.medicines).where(Profile.submission_id == submission_id(1))
        ).scalar_one()
    assert stored == {submission_id(1): "", submission_id(2): "G25.8|N18.3"}
    assert medicines is None


def test_timestamps_are_stored_timezone_aware(store: PanelStore, tmp_path: Path) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [signup(indsendt="02-07-2026 21:14:05")]))
    with store.engine.connect() as connection:
        submitted = connection.execute(select(Profile.submitted_at)).scalar_one()
    assert submitted == datetime(2026, 7, 2, 19, 14, 5, tzinfo=UTC)


def test_one_email_address_in_any_case_is_one_volunteer(store: PanelStore, tmp_path: Path) -> None:
    rows = [
        signup(
            indsendelse_id=submission_id(1),
            email="Soeren@Example.dk",
            indsendt="01-02-2026 10:00:00",
        ),
        signup(
            indsendelse_id=submission_id(2),
            email="soeren@example.DK",
            indsendt="01-03-2026 10:00:00",
        ),
    ]
    ingest(store, write_signups(tmp_path / "a.csv", rows))
    assert count(store, Volunteer) == 1 and count(store, Profile) == 2


def test_unsubscribing_stops_contact_from_that_moment(store: PanelStore, tmp_path: Path) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [signup(indsendt="01-02-2026 10:00:00")]))
    withdrawals = [("SOEREN@example.dk", "15-03-2026 10:00:00", "afmeld")]
    summary = ingest(store, write_withdrawals(tmp_path / "w.csv", withdrawals)).files[0]
    assert (summary.stored, summary.details["unsubscribed"]) == (1, 1)
    assert overview(store).contactable == 0 and overview(store).withdrawn == 1
    again = ingest(store, write_withdrawals(tmp_path / "w.csv", withdrawals)).files[0]
    assert (again.stored, again.known) == (0, 1)
    # A new submission after the withdrawal is a new, explicit answer about contact.
    later = signup(indsendelse_id=submission_id(2), indsendt="01-04-2026 10:00:00")
    ingest(store, write_signups(tmp_path / "b.csv", [later]))
    assert overview(store).contactable == 1


def test_a_withdrawal_that_arrives_before_the_signup_still_applies(
    store: PanelStore, tmp_path: Path
) -> None:
    ingest(
        store,
        write_withdrawals(
            tmp_path / "w.csv", [("soeren@example.dk", "15-03-2026 10:00:00", "afmeld")]
        ),
    )
    ingest(store, write_signups(tmp_path / "a.csv", [signup(indsendt="01-02-2026 10:00:00")]))
    assert overview(store).withdrawn == 1 and overview(store).contactable == 0


def test_erasure_removes_the_person_everywhere_and_keeps_them_out(
    store: PanelStore, tmp_path: Path
) -> None:
    rows = [
        signup(indsendelse_id=submission_id(1), indsendt="01-02-2026 10:00:00", andet="privat"),
        signup(indsendelse_id=submission_id(2), indsendt="01-03-2026 10:00:00", postnummer="0800"),
        signup(indsendelse_id=submission_id(3), email="other@example.dk"),
    ] + [signup(indsendelse_id=submission_id(10 + i), email=f"p{i}@example.dk") for i in range(20)]
    export = write_signups(tmp_path / "export.csv", rows)
    first = ingest(store, export).files[0]
    assert first.quarantined == 1
    erasure = [("Soeren@Example.dk", "20-03-2026 10:00:00", "slet")]
    summary = ingest(store, write_withdrawals(tmp_path / "w.csv", erasure)).files[0]
    assert summary.details["erased"] == 1

    erased = hasher("soeren@example.dk")
    assert count(store, Profile) == 21 and count(store, SubmissionNote) == 0
    assert count(store, Contact, Contact.email == "soeren@example.dk") == 0
    assert count(store, QuarantinedRecord) == 0
    assert (
        count(store, Volunteer, Volunteer.erased_at.is_not(None), Volunteer.email_hash.is_(None))
        == 1
    )
    assert count(store, Erasure, Erasure.email_hash == erased) == 1
    for archived in (store.archive.root).rglob("*.csv"):
        assert b"soeren@example.dk" not in archived.read_bytes().lower()

    # The older export again: the erased person stays erased; the others are known.
    before = snapshot(store)
    replay = ingest(store, export).files[0]
    assert (replay.stored, replay.quarantined) == (0, 0)
    assert replay.details["known_erased"] == 2 and replay.known == replay.rows
    assert snapshot(store) == before
    # A new submission made after the erasure registers them anew, under a new id.
    new = signup(indsendelse_id=submission_id(99), indsendt="01-05-2026 10:00:00")
    assert ingest(store, write_signups(tmp_path / "new.csv", [new])).files[0].stored == 1
    assert (
        count(store, Volunteer, Volunteer.email_hash == erased, Volunteer.erased_at.is_(None)) == 1
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("reader_open", [False, True])
def test_erasure_leaves_no_byte_of_the_person_in_the_sqlite_files(
    store: PanelStore, tmp_path: Path, reader_open: bool
) -> None:
    """Deleted rows are zeroed (secure_delete), and the write-ahead log, which keeps older
    versions of pages, is emptied: at once, or, if a reader held it, at the next ingest."""
    person = signup(indsendelse_id=submission_id(1), fornavn="Sørine", efternavn="Qvistgaard")
    others = [
        signup(indsendelse_id=submission_id(10 + i), email=f"p{i}@example.dk") for i in range(5)
    ]
    ingest(store, write_signups(tmp_path / "export.csv", [person, *others]))
    database = Path(store.engine.url.database or "")
    needles = [b"Qvistgaard", b"soeren@example.dk", submission_id(1).encode()]

    def found() -> list[bytes]:
        files = [database, database.with_name(database.name + "-wal")]
        content = b"".join(path.read_bytes() for path in files if path.exists())
        return [needle for needle in needles if needle in content]

    assert found() == needles  # the scan sees them while they are there
    erasure = write_withdrawals(
        tmp_path / "w.csv", [("soeren@example.dk", "20-03-2026 10:00:00", "slet")]
    )
    if reader_open:
        with store.engine.connect() as reader:
            reader.exec_driver_sql("BEGIN")
            reader.exec_driver_sql("SELECT count(*) FROM profile").all()
            ingest(store, erasure)
            assert found()  # the reader keeps the log from being emptied: still pending
            reader.exec_driver_sql("COMMIT")
        ingest(store, write_signups(tmp_path / "next.csv", [others[0]]))  # the next ingest
    else:
        ingest(store, erasure)
    assert found() == []


def test_erasure_keeps_a_registration_made_after_it(store: PanelStore, tmp_path: Path) -> None:
    rows = [
        signup(indsendelse_id=submission_id(1), indsendt="01-02-2026 10:00:00"),
        signup(indsendelse_id=submission_id(2), indsendt="01-05-2026 10:00:00", efternavn="Ny"),
    ]
    ingest(store, write_signups(tmp_path / "a.csv", rows))
    ingest(
        store,
        write_withdrawals(
            tmp_path / "w.csv", [("soeren@example.dk", "20-03-2026 10:00:00", "slet")]
        ),
    )
    with store.engine.connect() as connection:
        volunteers = connection.execute(select(Volunteer).order_by(Volunteer.created_at)).all()
        remaining = connection.execute(select(Profile.submission_id, Profile.volunteer_id)).all()
        contact = connection.execute(select(Contact.last_name, Contact.volunteer_id)).one()
    erased, anew = sorted(volunteers, key=lambda v: v.erased_at is None)
    assert erased.erased_at is not None and erased.email_hash is None
    assert anew.erased_at is None and anew.current_submission_id == submission_id(2)
    assert remaining == [(submission_id(2), anew.volunteer_id)]
    assert contact == ("Ny", anew.volunteer_id)


def test_quarantined_rows_are_recorded_once_and_resolved_by_a_valid_version(
    store: PanelStore, tmp_path: Path
) -> None:
    good = [
        signup(indsendelse_id=submission_id(10 + i), email=f"p{i}@example.dk") for i in range(30)
    ]
    broken = signup(indsendelse_id=submission_id(1), foedselsdato="1961-07-14")
    path = write_signups(tmp_path / "a.csv", [broken, *good])
    ingest(store, path)
    ingest(store, path)
    assert count(store, QuarantinedRecord) == 1
    fixed = write_signups(tmp_path / "fixed.csv", [signup(indsendelse_id=submission_id(1))])
    assert ingest(store, fixed).files[0].stored == 1
    assert count(store, QuarantinedRecord, QuarantinedRecord.resolved_at.is_not(None)) == 1


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "broken").iterdir()))
def test_every_broken_sample_is_refused_and_changes_nothing(store: PanelStore, name: str) -> None:
    ingest(store, SAMPLES / "signups.csv")
    before = snapshot(store)
    (file,) = ingest(store, SAMPLES / "broken" / name).files
    assert file.status == "refused" and file.refusal
    assert all(reason and "\n" not in reason for reason in file.refusal)
    assert snapshot(store) == before
    with store.engine.connect() as connection:
        audit = connection.execute(select(IngestRun).order_by(IngestRun.ingest_id.desc())).first()
    assert audit is not None and audit.status == "refused" and audit.message


def test_a_field_of_many_megabytes_is_reported_in_one_line(
    store: PanelStore, tmp_path: Path
) -> None:
    write_huge_field_export(tmp_path / "huge.csv", megabytes=8)
    (file,) = ingest(store, tmp_path / "huge.csv").files
    assert file.status == "refused"
    (row,) = file.quarantine
    assert row.problems == ["andet: is 8,388,608 characters long; at most 2,000 allowed"]
    assert len(file.model_dump_json()) < 5_000


def test_the_quarantine_threshold_is_configurable(
    store: PanelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [signup(indsendelse_id=submission_id(1), postnummer="0800")] + [
        signup(indsendelse_id=submission_id(10 + i), email=f"p{i}@example.dk") for i in range(9)
    ]
    path = write_signups(tmp_path / "a.csv", rows)
    assert ingest(store, path).files[0].status == "refused"  # 10 % >= 5 %

    monkeypatch.setenv("PANEL_QUARANTINE_THRESHOLD", "0.2")
    assert ingest(store, path).files[0].status == "accepted"


def test_every_ingest_and_withdrawal_is_in_the_audit_log(store: PanelStore, tmp_path: Path) -> None:
    ingest(
        store,
        SAMPLES / "signups.csv",
        SAMPLES / "afmeldinger.csv",
        SAMPLES / "broken" / "empty.csv",
    )
    with store.engine.connect() as connection:
        runs = connection.execute(select(IngestRun).order_by(IngestRun.ingest_id)).all()
        withdrawals = connection.scalar(select(func.count()).select_from(Withdrawal))
    assert [(run.status, run.actor) for run in runs] == [
        ("accepted", "test-steward"),
        ("accepted", "test-steward"),
        ("refused", "test-steward"),
    ]
    assert runs[0].rows == runs[0].stored + runs[0].quarantined + runs[0].known
    assert runs[0].batch_valid and Path(runs[0].data_docs_path).exists()
    assert withdrawals == MANIFEST["files"]["afmeldinger.csv"]["rows"]
