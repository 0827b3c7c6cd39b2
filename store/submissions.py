"""Storing validated signup submissions: volunteers, versioned profiles, current contacts.

All of it happens inside the caller's transaction, in bulk (a handful of statements per file,
whatever its size). The rules:

* one e-mail address (case-insensitive) is one volunteer, known by a random pseudonymous id;
* every valid submission is kept as a profile version; the current profile is the one with the
  latest ``submitted_at`` (ties: the larger submission id), whatever order files arrive in;
* contact details are those of the current profile, kept in ``contact``, apart from the answers
  (which fields go where is declared once, in ``schemas.signup``);
* a submission made before its author's erasure is not stored (the person stays erased); one
  made after registers them anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, bindparam, func, select, update

from schemas.signup import CONTACT_FIELDS, NOTE_FIELD, PROFILE_FIELDS
from store.bulk import IN_CHUNK, delete_in, fetch_column, insert_frame, select_in
from store.pseudonyms import new_volunteer_ids
from store.tables import (
    Contact,
    Erasure,
    Profile,
    QuarantinedRecord,
    SubmissionNote,
    Volunteer,
    Withdrawal,
)
from store.withdrawals import UNSUBSCRIBE

#: Above this many distinct e-mails in a batch, reading all volunteers beats ``IN`` lookups.
_READ_ALL_FROM = 20_000


@dataclass(frozen=True)
class SignupsStored:
    stored: int = 0
    #: Valid submissions by people erased after submitting them: recognised, not stored.
    erased_before: int = 0
    new_volunteers: int = 0
    #: Existing volunteers whose current profile is now a newer submission.
    updated_volunteers: int = 0
    #: Records of people erased since, removed from the file's archived copy afterwards.
    archive_records_removed: int = 0

    @property
    def known(self) -> int:
        return self.erased_before

    def details(self) -> dict[str, int]:
        return {
            "known_erased": self.erased_before,
            "new_volunteers": self.new_volunteers,
            "updated_volunteers": self.updated_volunteers,
            "archive_records_removed": self.archive_records_removed,
        }


@dataclass(frozen=True)
class SignupFacts:
    """What storing signups looks up in the rest of the panel, read once for a whole file:
    only ingest changes it, and an ingest holds the ingest lock."""

    #: Erasure time by keyed e-mail hash.
    erasures: dict[str, datetime]
    #: Latest ``afmeld`` by keyed e-mail hash.
    unsubscribed: dict[str, datetime]
    #: Submission ids (lower case) of quarantined rows not resolved yet.
    quarantined: frozenset[str]


def signup_facts(connection: Connection) -> SignupFacts:
    # Erasures and withdrawals are few next to the panel: reading them all beats looking each
    # one up.
    erasures = dict(connection.execute(select(Erasure.email_hash, Erasure.erased_at)).all())
    unsubscribed = dict(
        connection.execute(
            select(Withdrawal.email_hash, func.max(Withdrawal.requested_at))
            .where(Withdrawal.action == UNSUBSCRIBE)
            .group_by(Withdrawal.email_hash)
        ).all()
    )
    pending = connection.execute(
        select(QuarantinedRecord.submission_id).where(QuarantinedRecord.resolved_at.is_(None))
    ).scalars()
    quarantined = frozenset(str(submission).strip().lower() for submission in pending if submission)
    return SignupFacts(erasures, unsubscribed, quarantined)


@dataclass(frozen=True)
class SignupWrites:
    """What storing a batch writes, worked out before any of it is written. Working it out
    reads only what no other run changes while an ingest holds the ingest lock (volunteers,
    profiles, erasures, withdrawals, quarantine), so it may happen outside the transaction
    that writes it, which then holds SQLite's write lock for the writes alone."""

    volunteers: pd.DataFrame
    profiles: pd.DataFrame
    notes: pd.DataFrame
    #: Contact details of the new volunteers, and of those whose current profile moves.
    contacts: pd.DataFrame
    #: (volunteer_id, submission_id) of existing volunteers whose current profile moves.
    moved: pd.DataFrame
    #: Submission ids whose quarantined rows this batch resolves.
    resolved: list[str]
    outcome: SignupsStored


def signup_writes(
    connection: Connection,
    batch: pd.DataFrame,
    email_hashes: list[str | None],
    part_of_row: np.ndarray,
    parts: range,
    ingest_id: int,
    now: datetime,
    facts: SignupFacts,
) -> dict[int, SignupWrites]:
    """Work out what storing ``batch`` (normalised ``SignupRow`` columns, none already stored,
    every row of each person it holds) writes, ``facts`` read before (see ``SignupWrites``),
    for each part: by the part number ``part_of_row`` gives each row (each person's rows in
    one part) among ``parts``. Worked out for all parts at once, it costs what it costs for
    one."""
    frame = batch.assign(
        email_hash=pd.Series(email_hashes, index=batch.index, dtype=object),
        **{_PART: part_of_row},
    )
    erased = _made_before_erasure(facts.erasures, frame)
    erased_by_part = frame.loc[erased, _PART].value_counts()
    frame = frame[~erased]
    if frame.empty:
        nothing = pd.DataFrame()
        return {
            part: SignupWrites(
                nothing, nothing, nothing, nothing, nothing, [],
                SignupsStored(erased_before=int(erased_by_part.get(part, 0))),
            )
            for part in parts
        }  # fmt: skip
    newest = frame.sort_values(["submitted_at", "submission_id"]).drop_duplicates(
        "email_hash", keep="last"
    )
    existing = _volunteers_by_hash(connection, newest["email_hash"].tolist())
    is_new = ~newest["email_hash"].isin(existing["email_hash"])
    created = _new_volunteers(facts.unsubscribed, newest[is_new], now)
    volunteer_ids = pd.concat([existing, created])[["email_hash", "volunteer_id"]]
    frame = frame.merge(volunteer_ids, on="email_hash", how="left")
    newest = newest.merge(volunteer_ids, on="email_hash", how="left")
    moved = _moving_forward(newest[~is_new.to_numpy()], existing)
    stored_ids = frame["submission_id"]
    whole = {
        "volunteers": created.assign(**{_PART: newest.loc[is_new.to_numpy(), _PART].to_numpy()}),
        "profiles": frame[["volunteer_id", *PROFILE_FIELDS, _PART]].assign(ingest_id=ingest_id),
        "notes": frame.loc[frame[NOTE_FIELD].notna(), ["submission_id", NOTE_FIELD, _PART]].rename(
            columns={NOTE_FIELD: "text"}
        ),
        "contacts": pd.concat([_contacts(newest[is_new.to_numpy()]), _contacts(moved)]),
        "moved": moved[["volunteer_id", "submission_id", _PART]],
        "resolved": frame.loc[stored_ids.isin(facts.quarantined), ["submission_id", _PART]],
    }
    split = {name: _by_part(rows) for name, rows in whole.items()}
    empty = {name: rows.iloc[:0].drop(columns=_PART) for name, rows in whole.items()}
    writes = {}
    for part in parts:
        of_part = {name: split[name].get(part, empty[name]) for name in whole}
        writes[part] = SignupWrites(
            volunteers=of_part["volunteers"],
            profiles=of_part["profiles"],
            notes=of_part["notes"],
            contacts=of_part["contacts"],
            moved=of_part["moved"],
            resolved=of_part["resolved"]["submission_id"].tolist(),
            outcome=SignupsStored(
                stored=len(of_part["profiles"]),
                erased_before=int(erased_by_part.get(part, 0)),
                new_volunteers=len(of_part["volunteers"]),
                updated_volunteers=len(of_part["moved"]),
            ),
        )
    return writes


#: The column that carries each row's part number through ``signup_writes``.
_PART = "__part"


def _by_part(rows: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """``rows`` by their part number, without it."""
    return {
        cast(int, part): of_part.drop(columns=_PART)
        for part, of_part in rows.groupby(_PART, sort=False)
    }


def write_signups(connection: Connection, writes: SignupWrites, now: datetime) -> SignupsStored:
    """Write what ``signup_writes`` worked out, inside the caller's transaction."""
    insert_frame(connection, Volunteer, writes.volunteers)
    insert_frame(connection, Profile, writes.profiles)
    insert_frame(connection, SubmissionNote, writes.notes)
    if writes.outcome.stored == 0:
        return writes.outcome
    if not writes.moved.empty:
        connection.execute(
            update(Volunteer)
            .where(Volunteer.volunteer_id == bindparam("b_volunteer_id"))
            .values(current_submission_id=bindparam("b_submission_id")),
            [
                {"b_volunteer_id": v, "b_submission_id": s}
                for v, s in zip(
                    writes.moved["volunteer_id"], writes.moved["submission_id"], strict=True
                )
            ],
        )
        delete_in(connection, Contact, Contact.volunteer_id, writes.moved["volunteer_id"].tolist())
    insert_frame(connection, Contact, writes.contacts)
    _resolve_quarantine(connection, writes.resolved, now)
    return writes.outcome


def _made_before_erasure(erasures: dict[str, datetime], frame: pd.DataFrame) -> pd.Series:
    if not erasures:
        return pd.Series(False, index=frame.index)
    erased_at = pd.to_datetime(frame["email_hash"].map(erasures), utc=True)
    return erased_at.notna() & (frame["submitted_at"] <= erased_at)


def _volunteers_by_hash(connection: Connection, hashes: list[str]) -> pd.DataFrame:
    """Existing volunteers among ``hashes``, with when their current profile was submitted."""
    statement = select(
        Volunteer.email_hash,
        Volunteer.volunteer_id,
        Volunteer.current_submission_id,
        Profile.submitted_at.label("current_submitted_at"),
    ).join(Profile, Profile.submission_id == Volunteer.current_submission_id, isouter=True)
    if len(hashes) > _READ_ALL_FROM:
        rows = connection.execute(statement.where(Volunteer.email_hash.is_not(None))).all()
    else:
        rows = list(select_in(connection, statement, Volunteer.email_hash, hashes))
    existing = pd.DataFrame(
        rows,
        columns=["email_hash", "volunteer_id", "current_submission_id", "current_submitted_at"],
    )
    existing["current_submitted_at"] = pd.to_datetime(existing["current_submitted_at"], utc=True)
    return existing


def _new_volunteers(
    unsubscribed: dict[str, datetime], newest: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """Volunteer rows for e-mails seen for the first time (withdrawals may predate them)."""
    created = pd.DataFrame(
        {
            "volunteer_id": new_volunteer_ids(len(newest)),
            "email_hash": newest["email_hash"].to_numpy(),
            "current_submission_id": newest["submission_id"].to_numpy(),
        }
    )
    created["created_at"] = pd.Timestamp(now)
    created["withdrawn_at"] = pd.to_datetime(newest["email_hash"].map(unsubscribed), utc=True).array
    return created


def _contacts(newest: pd.DataFrame) -> pd.DataFrame:
    return newest[["volunteer_id", *CONTACT_FIELDS, "submitted_at", _PART]]


def _moving_forward(newest: pd.DataFrame, existing: pd.DataFrame) -> pd.DataFrame:
    """The existing volunteers whose current profile moves to their newest submission here,
    with its contact details: one newer than their current profile (an older one arriving
    late does not move it)."""
    both = newest.merge(
        existing[["email_hash", "current_submission_id", "current_submitted_at"]], on="email_hash"
    )
    newer = (
        (both["submitted_at"] > both["current_submitted_at"])
        | (
            (both["submitted_at"] == both["current_submitted_at"])
            & (both["submission_id"] > both["current_submission_id"])
        )
        | both["current_submitted_at"].isna()
    )
    return both[newer.to_numpy(dtype=bool)]


def _resolve_quarantine(connection: Connection, fixed: list[str], now: datetime) -> None:
    """Quarantined rows whose submission has now been stored in a valid version."""
    for start in range(0, len(fixed), IN_CHUNK):
        connection.execute(
            update(QuarantinedRecord)
            .where(
                func.lower(func.trim(QuarantinedRecord.submission_id)).in_(
                    fixed[start : start + IN_CHUNK]
                )
            )
            .values(resolved_at=now)
        )


def already_stored(connection: Connection, submission_ids: pa.Array) -> np.ndarray:
    """Which of these (raw) submission ids are stored already, as a boolean mask."""
    normalised = pc.utf8_lower(pc.utf8_trim_whitespace(submission_ids))
    stored = fetch_column(connection, "SELECT submission_id FROM profile")
    if not stored:
        return np.zeros(len(submission_ids), dtype=bool)
    mask = pc.is_in(normalised, value_set=pa.array(stored, pa.string()))
    return mask.fill_null(False).to_numpy(zero_copy_only=False)
