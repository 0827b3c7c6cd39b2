"""The raw archive: every export file as it arrived, kept by content hash, so any ingest can be
replayed, and built so that one person can be purged from it.

Layout: ``ARCHIVE/ab/abcdef....csv`` (the SHA-256 of the original bytes) and, for files that
could be read, ``ARCHIVE/ab/abcdef....emails.npy``: the sorted keyed hashes of every e-mail in
it. An erasure looks up the person's hash in those indexes (no file is read unless it holds the
person), rewrites each file that does without the person's records, and notes the redaction in
``archived_file``. Files that could not be read (refused as binary, wrongly encoded, ...) have no
index; they are scanned for e-mail addresses instead, and deleted outright when they hold the
person: nothing was ever ingested from them.

Copies of an archived file that panelmatch leaves elsewhere (the cycle's processed and
rejected folders) are registered in ``ARCHIVE/ab/abcdef....copies``, one path a line: a
redaction rewrites them too, and deleting a file deletes them.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select, update
from sqlalchemy.dialects import postgresql, sqlite

from schemas.danish_formats import read_timestamp
from schemas.export_file import read_export
from store.pseudonyms import EmailHasher
from store.tables import ArchivedFile

_EMAIL_LIKE = re.compile(rb"[^\s;,\"'<>@]+@[^\s;,\"'<>@]+")


class RawArchive:
    def __init__(self, root: Path, engine: Engine, hasher: EmailHasher) -> None:
        self.root, self.engine, self.hasher = root, engine, hasher

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.csv"

    def _index_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.emails.npy"

    def _copies_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.copies"

    def keep_copy(self, sha256: str, copy: Path) -> None:
        """Remember a copy of an archived file made elsewhere, for erasure to reach it; if the
        archived file was redacted already (an old export bringing back someone erased), the
        copy is redacted at once."""
        listed = self._copies_path(sha256)
        known = self._copies(sha256)
        if str(copy.resolve()) not in known:
            listed.parent.mkdir(parents=True, exist_ok=True)
            text = "".join(f"{path}\n" for path in [*known, str(copy.resolve())])
            _atomic_write(text.encode(), listed)
        archived = self.path_of(sha256)
        # A redaction only ever removes records: a copy of another size is not what it is now.
        if not archived.exists() or archived.stat().st_size != copy.stat().st_size:
            self._mirror(sha256)

    def _copies(self, sha256: str) -> list[str]:
        listed = self._copies_path(sha256)
        return listed.read_text().splitlines() if listed.exists() else []

    def _mirror(self, sha256: str) -> None:
        """Make every registered copy what the archived file is now (gone, if it is gone)."""
        archived = self.path_of(sha256)
        content = archived.read_bytes() if archived.exists() else None
        for copy in map(Path, self._copies(sha256)):
            if not copy.exists():
                continue  # moved or deleted by someone since: out of our reach
            if content is None:
                copy.unlink()
            else:
                _atomic_write(content, copy)

    def keep(self, content: bytes, sha256: str, now: datetime) -> Path:
        """Archive a file's ``content`` (once per content) before anything else is done with it."""
        target = self.path_of(sha256)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(content, target)
        statement = _insert_ignore(self.engine.dialect.name).values(
            sha256=sha256, path=str(target), size=target.stat().st_size, archived_at=now
        )
        with self.engine.begin() as connection:
            connection.execute(statement.on_conflict_do_nothing(index_elements=["sha256"]))
        return target

    def has_index(self, sha256: str) -> bool:
        return self._index_path(sha256).exists()

    def index_emails(self, sha256: str, email_hashes: Iterable[str | None]) -> None:
        """Remember which people (keyed e-mail hashes) the archived file holds."""
        present = np.unique(np.array([h for h in email_hashes if h], dtype="S32"))
        path = self._index_path(sha256)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False, suffix=".npy") as handle:
            np.save(handle, present)
        os.replace(handle.name, path)

    def purge(self, erasures: list[tuple[str, datetime]], now: datetime) -> int:
        """Remove the erased people's records from every archived file; records removed."""
        if not erasures:
            return 0
        with self.engine.connect() as connection:
            archived = connection.execute(select(ArchivedFile.sha256)).scalars().all()
        return sum(self.redact(sha256, erasures, now) for sha256 in archived)

    def redact(self, sha256: str, erasures: list[tuple[str, datetime]], now: datetime) -> int:
        """Remove from one archived file the records of erased people made before their
        erasure; records removed."""
        if not erasures:
            return 0
        erased_at = dict(erasures)
        index = self._index_path(sha256)
        if index.exists():
            wanted = np.array(list(erased_at), dtype="S32")
            if np.isin(wanted, np.load(index)).any():
                return self._redact(sha256, erased_at, now)
            return 0
        path = self.path_of(sha256)
        if path.exists() and self._mentions(sha256, set(erased_at)):
            path.unlink()
            self._mirror(sha256)
            return self._note_redaction(sha256, 1, now)
        return 0

    def _mentions(self, sha256: str, email_hashes: set[str]) -> bool:
        raw = self.path_of(sha256).read_bytes()
        found = {match.decode("latin-1") for match in _EMAIL_LIKE.findall(raw)}
        return any(h in email_hashes for h in self.hasher.many(found))

    def _redact(self, sha256: str, erased_at: dict[str, datetime], now: datetime) -> int:
        path = self.path_of(sha256)
        export = read_export(path)
        time_column = "indsendt" if "indsendt" in export.header else "tidspunkt"
        email_at = export.header.index("email")
        time_at = export.header.index(time_column) if time_column in export.header else None
        records = [list(row.values()) for row in export.rows.to_pylist()]
        records += [m.fields for m in export.malformed if len(m.fields) > email_at]
        kept, removed = [], 0
        for record in records:
            email_hash = self.hasher(record[email_at] or "")
            cutoff = erased_at.get(email_hash)
            if cutoff is not None and not _made_after(record, time_at, cutoff, read_timestamp):
                removed += 1
            else:
                kept.append(record)
        if removed:
            _write_export(path, export.header, kept)
            self.index_emails(sha256, self.hasher.many(r[email_at] for r in kept))
            self._mirror(sha256)
            self._note_redaction(sha256, removed, now)
        return removed

    def _note_redaction(self, sha256: str, records: int, now: datetime) -> int:
        with self.engine.begin() as connection:
            connection.execute(
                update(ArchivedFile)
                .where(ArchivedFile.sha256 == sha256)
                .values(redacted_at=now, redacted_records=ArchivedFile.redacted_records + records)
            )
        return records


def _made_after(
    record: list[str | None],
    time_at: int | None,
    cutoff: datetime,
    read: Callable[[str | None], datetime],
) -> bool:
    """Whether the record is dated after ``cutoff`` (undated or unreadable: no)."""
    stamp = record[time_at] if time_at is not None else None
    if not stamp:
        return False
    try:
        return read(stamp.strip()) > cutoff
    except ValueError:
        return False


def _write_export(path: Path, header: list[str], records: list[list[str | None]]) -> None:
    """Write records in the form's own format (BOM, ';', RFC 4180 quoting, CRLF)."""
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, delete=False, encoding="utf-8-sig", newline=""
    ) as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in record] for record in records])
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def _atomic_write(content: bytes, target: Path) -> None:
    """Write, flush to disk, then rename: the archive never holds half a file."""
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, target)


def _insert_ignore(dialect: str):  # type: ignore[no-untyped-def]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(ArchivedFile)
