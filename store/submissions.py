"""Storing validated signup submissions: volunteers, versioned profiles, current contacts.

All of it happens inside the caller's transaction, in bulk (a handful of statements per file,
whatever its size). The rules:

* one e-mail address (case-insensitive) is one volunteer, known by a random pseudonymous id;
* every valid submission is kept as a profile version; the current profile is the one with the
  latest ``submitted_at`` (ties: the larger submission id), whatever order files arrive in;
* contact details are those of the current profile, kept in ``contact``, apart from the answers;
* a submission made before its author's erasure is not stored (the person stays erased); one
  made after registers them anew.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, bindparam, func, select, update

from store.bulk import IN_CHUNK, delete_in, insert_frame, select_in
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

#: Batch columns (``schemas.signup.SignupRow`` field names) that make up the contact record.
CONTACT_FIELDS = ["first_name", "last_name", "email", "phone"]
#: Batch columns stored as the profile's health answers.
PROFILE_FIELDS = [
    "submission_id",
    "submitted_at",
    "birth_date",
    "sex",
    "postcode",
    "height_cm",
    "weight_kg",
    "diagnoses",
    "medicines",
    "pregnant",
    "smoker",
    "rls_urge",
    "rls_at_rest",
    "rls_relieved_by_movement",
    "rls_evening",
    "rls_nights_per_week",
    "sleep_quality",
    "consent_contact",
    "contact_channel",
]
#: Above this many distinct e-mails in a batch, reading all volunteers beats ``IN`` lookups.
_READ_ALL_FROM = 20_000


@dataclass(frozen=True)
class SignupsStored:
    stored: int
    #: Valid submissions by people erased after submitting them: recognised, not stored.
    erased_before: int
    new_volunteers: int
    #: Existing volunteers whose current profile is now a newer submission.
    updated_volunteers: int

    @property
    def known(self) -> int:
        return self.erased_before

    def details(self) -> dict[str, int]:
        return {
            "known_erased": self.erased_before,
            "new_volunteers": self.new_volunteers,
            "updated_volunteers": self.updated_volunteers,
        }


def store_signups(
    connection: Connection,
    batch: pd.DataFrame,
    email_hashes: list[str | None],
    ingest_id: int,
    now: datetime,
) -> SignupsStored:
    """Store ``batch`` (normalised ``SignupRow`` columns, none already stored)."""
    frame = batch.assign(email_hash=pd.Series(email_hashes, index=batch.index, dtype=object))
    erased = _made_before_erasure(connection, frame)
    frame = frame[~erased]
    if frame.empty:
        return SignupsStored(0, int(erased.sum()), 0, 0)

    newest = frame.sort_values(["submitted_at", "submission_id"]).drop_duplicates(
        "email_hash", keep="last"
    )
    existing = _volunteers_by_hash(connection, newest["email_hash"].tolist())
    is_new = ~newest["email_hash"].isin(existing["email_hash"])
    created = _new_volunteers(connection, newest[is_new], now)
    volunteer_ids = pd.concat([existing, created])[["email_hash", "volunteer_id"]]
    frame = frame.merge(volunteer_ids, on="email_hash", how="left")

    insert_frame(connection, Volunteer, created)
    insert_frame(
        connection,
        Profile,
        frame[["volunteer_id", *PROFILE_FIELDS]].assign(ingest_id=ingest_id),
    )
    notes = frame.loc[frame["free_text"].notna(), ["submission_id", "free_text"]]
    insert_frame(connection, SubmissionNote, notes.rename(columns={"free_text": "text"}))
    newest = newest.merge(volunteer_ids, on="email_hash", how="left")
    insert_frame(connection, Contact, _contacts(newest[is_new.to_numpy()]))
    updated = _move_current_forward(connection, newest[~is_new.to_numpy()], existing)
    _resolve_quarantine(connection, frame["submission_id"], now)
    return SignupsStored(len(frame), int(erased.sum()), len(created), updated)


def _made_before_erasure(connection: Connection, frame: pd.DataFrame) -> pd.Series:
    # Erasures are few next to the panel: reading them all beats looking each one up.
    erasures = dict(connection.execute(select(Erasure.email_hash, Erasure.erased_at)).all())
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


def _new_volunteers(connection: Connection, newest: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """Volunteer rows for e-mails seen for the first time (withdrawals may predate them)."""
    unsubscribed = dict(  # withdrawals are few next to the panel: read them all
        connection.execute(
            select(Withdrawal.email_hash, func.max(Withdrawal.requested_at))
            .where(Withdrawal.action == UNSUBSCRIBE)
            .group_by(Withdrawal.email_hash)
        ).all()
    )
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
    return newest[["volunteer_id", *CONTACT_FIELDS, "submitted_at"]]


def _move_current_forward(
    connection: Connection, newest: pd.DataFrame, existing: pd.DataFrame
) -> int:
    """Point existing volunteers at their newest submission, and its contact details, when the
    batch holds one newer than their current profile (an older one arriving late does not)."""
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
    moved = both[newer.to_numpy(dtype=bool)]
    if moved.empty:
        return 0
    connection.execute(
        update(Volunteer)
        .where(Volunteer.volunteer_id == bindparam("b_volunteer_id"))
        .values(current_submission_id=bindparam("b_submission_id")),
        [
            {"b_volunteer_id": v, "b_submission_id": s}
            for v, s in zip(moved["volunteer_id"], moved["submission_id"], strict=True)
        ],
    )
    contacts = _contacts(moved)
    delete_in(connection, Contact, Contact.volunteer_id, contacts["volunteer_id"].tolist())
    insert_frame(connection, Contact, contacts)
    return len(moved)


def _resolve_quarantine(connection: Connection, stored_ids: pd.Series, now: datetime) -> None:
    """Quarantined rows whose submission has now been stored in a valid version."""
    pending = connection.execute(
        select(QuarantinedRecord.submission_id).where(QuarantinedRecord.resolved_at.is_(None))
    ).scalars()
    wanted = {str(submission).strip().lower() for submission in pending if submission}
    fixed = stored_ids[stored_ids.isin(wanted)].tolist() if wanted else []
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
