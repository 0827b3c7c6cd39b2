"""The raw archive keeps every file by content hash, and can forget one person."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from schemas.export_file import read_export
from store.panel_store import PanelStore
from store.tables import ArchivedFile
from tests.helpers import signup, submission_id, write_signups

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def archived(store: PanelStore, path: Path) -> str:
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    store.archive.keep(path.read_bytes(), sha256, NOW)
    export = read_export(store.archive.path_of(sha256))
    store.archive.index_emails(sha256, store.hasher.many(export.rows.column("email").to_pylist()))
    return sha256


def test_files_are_kept_once_by_content_hash(store: PanelStore, tmp_path: Path) -> None:
    path = write_signups(tmp_path / "a.csv", [signup()])
    copy = tmp_path / "b.csv"
    copy.write_bytes(path.read_bytes())
    first, second = archived(store, path), archived(store, copy)
    assert first == second
    assert store.archive.path_of(first).read_bytes() == path.read_bytes()
    with store.engine.connect() as connection:
        assert connection.execute(select(ArchivedFile.sha256)).scalars().all() == [first]


def test_an_erased_person_is_cut_out_of_archived_files_and_nobody_else(
    store: PanelStore, tmp_path: Path
) -> None:
    rows = [
        signup(
            indsendelse_id=submission_id(1),
            email="Soeren@example.dk",
            indsendt="01-02-2026 10:00:00",
            andet='x;"y"\nz',
        ),
        signup(indsendelse_id=submission_id(2), email="anna@example.dk"),
        signup(
            indsendelse_id=submission_id(3),
            email="soeren@EXAMPLE.dk",
            indsendt="01-06-2026 10:00:00",
        ),
    ]
    sha256 = archived(store, write_signups(tmp_path / "a.csv", rows))
    erased_at = datetime(2026, 3, 1, tzinfo=UTC)
    removed = store.archive.purge([(store.hasher("soeren@example.dk"), erased_at)], NOW)
    assert removed == 1  # the submission after the erasure is a new registration: kept
    left = read_export(store.archive.path_of(sha256))
    assert left.rows.column("indsendelse_id").to_pylist() == [submission_id(2), submission_id(3)]
    with store.engine.connect() as connection:
        record = connection.execute(select(ArchivedFile)).one()
    assert (record.redacted_records, record.redacted_at) == (1, NOW)
    # Nobody is left to remove: purging again changes nothing.
    assert store.archive.purge([(store.hasher("soeren@example.dk"), erased_at)], NOW) == 0


def test_an_unreadable_archived_file_holding_the_person_is_deleted(
    store: PanelStore, tmp_path: Path
) -> None:
    path = write_signups(tmp_path / "a.csv", [signup(fornavn="Søren")])
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(path.read_bytes().decode("utf-8-sig").encode("cp1252"))
    sha256 = hashlib.sha256(latin1.read_bytes()).hexdigest()
    store.archive.keep(latin1.read_bytes(), sha256, NOW)
    store.archive.purge([(store.hasher("soeren@example.dk"), NOW)], NOW)
    assert not store.archive.path_of(sha256).exists()


def test_copies_of_an_archived_file_are_redacted_and_deleted_with_it(
    store: PanelStore, tmp_path: Path
) -> None:
    """The cycle's processed and rejected folders keep copies: erasure reaches them."""
    rows = [
        signup(indsendelse_id=submission_id(1), email="soeren@example.dk", fornavn="Sørine"),
        signup(indsendelse_id=submission_id(2), email="anna@example.dk", fornavn="Anna"),
    ]
    path = write_signups(tmp_path / "a.csv", rows)
    sha256 = archived(store, path)
    processed = tmp_path / "processed" / "a.csv"
    processed.parent.mkdir()
    processed.write_bytes(path.read_bytes())
    store.archive.keep_copy(sha256, processed)
    assert "Sørine".encode() in processed.read_bytes()  # a copy of the file as it is

    store.archive.purge([(store.hasher("soeren@example.dk"), NOW)], NOW)
    assert processed.read_bytes() == store.archive.path_of(sha256).read_bytes()
    assert "Sørine".encode() not in processed.read_bytes()
    assert b"Anna" in processed.read_bytes()

    # A copy filed after the redaction (an old export bringing someone back) is redacted now.
    late = tmp_path / "processed" / "a.20261201.csv"
    late.write_bytes(path.read_bytes())
    store.archive.keep_copy(sha256, late)
    assert "Sørine".encode() not in late.read_bytes()

    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(path.read_bytes().decode("utf-8-sig").encode("cp1252"))
    unreadable = hashlib.sha256(latin1.read_bytes()).hexdigest()
    store.archive.keep(latin1.read_bytes(), unreadable, NOW)
    rejected = tmp_path / "rejected.csv"
    rejected.write_bytes(latin1.read_bytes())
    store.archive.keep_copy(unreadable, rejected)
    store.archive.purge([(store.hasher("anna@example.dk"), NOW)], NOW)
    assert not rejected.exists()
