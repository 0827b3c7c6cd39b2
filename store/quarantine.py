"""Quarantine: rows of accepted files that failed validation, kept with every reason.

A row is recorded once: the same broken row in the next full re-export is recognised by the
hash of its cells and not recorded again. Each record carries a keyed hash of its e-mail cell so
that erasing a person purges their quarantined rows too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import Connection, select

from store.bulk import insert_frame, select_in
from store.tables import QuarantinedRecord


@dataclass(frozen=True)
class QuarantineEntry:
    line: int
    submission_id: str | None
    email_hash: str | None
    cells: dict[str, Any]
    problems: list[dict[str, str]]

    @property
    def record_sha256(self) -> str:
        canonical = json.dumps(self.cells, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def record_quarantine(
    connection: Connection, entries: list[QuarantineEntry], ingest_id: int, file_sha256: str
) -> int:
    """Record the entries not recorded before; returns how many were new."""
    hashes = [entry.record_sha256 for entry in entries]
    seen = {
        row.record_sha256
        for row in select_in(
            connection,
            select(QuarantinedRecord.record_sha256),
            QuarantinedRecord.record_sha256,
            hashes,
        )
    }
    new = [
        (entry, digest) for entry, digest in zip(entries, hashes, strict=True) if digest not in seen
    ]
    frame = pd.DataFrame(
        {
            "ingest_id": ingest_id,
            "file_sha256": file_sha256,
            "line": [entry.line for entry, _ in new],
            "submission_id": [entry.submission_id for entry, _ in new],
            "email_hash": [entry.email_hash for entry, _ in new],
            "record_sha256": [digest for _, digest in new],
            "cells": [json.dumps(entry.cells, ensure_ascii=False) for entry, _ in new],
            "problems": [json.dumps(entry.problems, ensure_ascii=False) for entry, _ in new],
        }
    )
    return insert_frame(connection, QuarantinedRecord, frame)
