"""Recording withdrawals, and applying them: ``afmeld`` (no more contact) and ``slet`` (erasure).

Every withdrawal is kept as an event (keyed e-mail hash, action, time) whether or not anybody
with that e-mail is in the panel yet: a signup that arrives later in an older export is then
withdrawn or refused as it should be.

* ``afmeld`` at time T: the volunteer's ``withdrawn_at`` becomes T. Nobody whose current profile
  was submitted before their withdrawal is ever contacted; a later submission is a new, explicit
  consent (or not) and speaks for itself.
* ``slet`` at time T: every profile, note, contact detail and quarantined row of the person made
  up to T is deleted, and their candidate rows; their decisions and invitations keep no
  submission, note or server answer (``store.outreach_erasure``); what is left is the
  pseudonymous volunteer id marked erased, and a tombstone (keyed e-mail hash, T) that keeps
  older submissions from bringing them back.
  Submissions made after T (they signed up again) stay, under a new volunteer id.
  The raw archive and the local copies of messages are purged separately (``store.archive``,
  ``store.outreach_erasure``), after this transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import (
    BindParameter,
    Connection,
    and_,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    update,
)

from store.bulk import insert_frame, select_in
from store.outreach_erasure import scrub_audit_trail
from store.pseudonyms import new_volunteer_ids
from store.studies import list_changed
from store.tables import (
    Candidate,
    Contact,
    Erasure,
    Profile,
    QuarantinedRecord,
    Volunteer,
    Withdrawal,
)

#: How actions are stored (``WithdrawalAction`` member names): afmeld and slet in the export.
UNSUBSCRIBE, ERASE = "unsubscribe", "erase"


@dataclass
class WithdrawalsStored:
    stored: int = 0
    #: The same withdrawal (e-mail, action, time) recorded before, or twice in this file.
    known: int = 0
    unsubscribed: int = 0
    erased: int = 0
    #: Withdrawals for e-mails nobody in the panel has (yet).
    unmatched: int = 0
    #: (keyed e-mail hash, erasure time) of this batch's erasures, for the archive purge.
    erasures: list[tuple[str, datetime]] = field(default_factory=list)

    def details(self) -> dict[str, int]:
        return {
            "known_recorded_before": self.known,
            "unsubscribed": self.unsubscribed,
            "erased": self.erased,
            "unmatched": self.unmatched,
        }


def store_withdrawals(
    connection: Connection,
    batch: pd.DataFrame,
    email_hashes: list[str | None],
    ingest_id: int,
    now: datetime,
) -> WithdrawalsStored:
    """Record and apply ``batch`` (normalised ``WithdrawalRow`` columns)."""
    keys = ["email_hash", "action", "requested_at"]
    frame = batch.assign(email_hash=pd.Series(email_hashes, index=batch.index, dtype=object))[keys]
    unique = frame.drop_duplicates(keys)
    recorded = pd.DataFrame(
        select_in(
            connection,
            select(Withdrawal.email_hash, Withdrawal.action, Withdrawal.requested_at),
            Withdrawal.email_hash,
            unique["email_hash"].unique().tolist(),
        ),
        columns=keys,
    )
    recorded["requested_at"] = pd.to_datetime(recorded["requested_at"], utc=True)
    merged = unique.merge(recorded, on=keys, how="left", indicator=True)
    new = merged.loc[merged["_merge"] == "left_only", keys].reset_index(drop=True)
    result = WithdrawalsStored(stored=len(new), known=len(frame) - len(new))
    if new.empty:
        return result

    holders = dict(
        select_in(
            connection,
            select(Volunteer.email_hash, Volunteer.volunteer_id),
            Volunteer.email_hash,
            new["email_hash"].unique().tolist(),
        )
    )
    new["volunteer_id"] = new["email_hash"].map(holders)
    result.unmatched = int(new["volunteer_id"].isna().sum())
    insert_frame(
        connection,
        Withdrawal,
        new.assign(ingest_id=ingest_id, recorded_at=pd.Timestamp(now)),
    )

    latest = new.groupby(["email_hash", "action"], as_index=False)["requested_at"].max()
    unsubscribe = latest[latest["action"] == UNSUBSCRIBE]
    result.unsubscribed = _unsubscribe(connection, unsubscribe)
    for row in latest[latest["action"] == ERASE].itertuples(index=False):
        erased_at = row.requested_at.to_pydatetime()
        _record_tombstone(connection, row.email_hash, erased_at)
        result.erased += _erase(connection, row.email_hash, erased_at, now)
        result.erasures.append((row.email_hash, erased_at))
    return result


def _unsubscribe(connection: Connection, latest: pd.DataFrame) -> int:
    if latest.empty:
        return 0
    at: BindParameter[datetime] = bindparam("b_at")
    result = connection.execute(
        update(Volunteer)
        .where(Volunteer.email_hash == bindparam("b_hash"))
        .values(
            withdrawn_at=case(
                (or_(Volunteer.withdrawn_at.is_(None), Volunteer.withdrawn_at < at), at),
                else_=Volunteer.withdrawn_at,
            )
        ),
        [
            {"b_hash": h, "b_at": t.to_pydatetime()}
            for h, t in zip(latest["email_hash"], latest["requested_at"], strict=True)
        ],
    )
    return int(result.rowcount)


def _record_tombstone(connection: Connection, email_hash: str, erased_at: datetime) -> None:
    previous = connection.execute(
        select(Erasure.erased_at).where(Erasure.email_hash == email_hash)
    ).scalar_one_or_none()
    if previous is None:
        connection.execute(insert(Erasure).values(email_hash=email_hash, erased_at=erased_at))
    elif previous < erased_at:  # erased again after signing up anew: purge again too
        connection.execute(
            update(Erasure)
            .where(Erasure.email_hash == email_hash)
            .values(erased_at=erased_at, archive_purged_at=None)
        )


def _erase(connection: Connection, email_hash: str, erased_at: datetime, now: datetime) -> int:
    """Erase the volunteer holding ``email_hash`` up to ``erased_at``; 1 if there was one."""
    volunteer_id = connection.execute(
        select(Volunteer.volunteer_id).where(Volunteer.email_hash == email_hash)
    ).scalar_one_or_none()
    connection.execute(delete(QuarantinedRecord).where(QuarantinedRecord.email_hash == email_hash))
    if volunteer_id is None:
        return 0
    connection.execute(
        update(Volunteer)
        .where(Volunteer.volunteer_id == volunteer_id)
        .values(email_hash=None, current_submission_id=None, erased_at=erased_at)
    )
    # Candidate rows carry health evidence ("diagnosis G25.8 reported ..."): they go too.
    listed_on = select(Candidate.study_id).where(Candidate.volunteer_id == volunteer_id)
    list_changed(connection, listed_on)
    connection.execute(delete(Candidate).where(Candidate.volunteer_id == volunteer_id))
    scrub_audit_trail(connection, volunteer_id)
    connection.execute(
        delete(Profile).where(
            and_(Profile.volunteer_id == volunteer_id, Profile.submitted_at <= erased_at)
        )
    )
    later = (
        connection.execute(
            select(Profile.submission_id)
            .where(Profile.volunteer_id == volunteer_id)
            .order_by(Profile.submitted_at, Profile.submission_id)
        )
        .scalars()
        .all()
    )
    if not later:
        connection.execute(delete(Contact).where(Contact.volunteer_id == volunteer_id))
        return 1
    _register_anew(connection, volunteer_id, email_hash, list(later), erased_at, now)
    return 1


def _register_anew(
    connection: Connection,
    erased_id: str,
    email_hash: str,
    later_submissions: list[str],
    erased_at: datetime,
    now: datetime,
) -> None:
    """Submissions made after the erasure belong to a new identity, unlinked to the old one."""
    (new_id,) = new_volunteer_ids(1)
    unsubscribed_after = (
        connection.execute(
            select(Withdrawal.requested_at)
            .where(
                Withdrawal.email_hash == email_hash,
                Withdrawal.action == UNSUBSCRIBE,
                Withdrawal.requested_at > erased_at,
            )
            .order_by(Withdrawal.requested_at.desc())
        )
        .scalars()
        .first()
    )
    insert_frame(
        connection,
        Volunteer,
        pd.DataFrame(
            {
                "volunteer_id": [new_id],
                "email_hash": [email_hash],
                "created_at": pd.Series([pd.Timestamp(now)], dtype="datetime64[us, UTC]"),
                "current_submission_id": [later_submissions[-1]],
                "withdrawn_at": pd.Series(
                    [pd.Timestamp(unsubscribed_after) if unsubscribed_after else pd.NaT],
                    dtype="datetime64[us, UTC]",
                ),
            }
        ),
    )
    connection.execute(
        update(Profile).where(Profile.volunteer_id == erased_id).values(volunteer_id=new_id)
    )
    connection.execute(
        update(Contact).where(Contact.volunteer_id == erased_id).values(volunteer_id=new_id)
    )


def erasures(connection: Connection, pending_only: bool = False) -> list[tuple[str, datetime]]:
    """(keyed e-mail hash, erasure time) of every erasure; ``pending_only``: those whose
    follow-up beyond the tables (``store.ingest_runs.finish_erasures``) is not done yet."""
    statement = select(Erasure.email_hash, Erasure.erased_at)
    if pending_only:
        statement = statement.where(Erasure.archive_purged_at.is_(None))
    return [(row.email_hash, row.erased_at) for row in connection.execute(statement)]
