"""The panel store's tables. Alembic migrations (``store/migrations``) create and change them.

Privacy by layout:

* ``volunteer`` is the pseudonymous identity every later step joins on: a random id, a keyed
  hash of the e-mail address (never the address), status times, and the current profile.
* ``contact`` holds who the volunteer is (name, e-mail, phone): only outreach reads it, and
  the study team's list of those who said yes (``store.referral_list``).
* ``profile`` holds the health answers, one row per valid submission (versioned).
* ``submission_note`` holds the free text, which may say anything; nothing downstream reads it.

List answers (``diagnoses``, ``medicines``) are ``|``-joined codes; ``''`` means answered none
(``INGEN``) and ``NULL`` means not answered. Every timestamp is stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, timezone-aware (UTC) datetimes out, on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # a bug of the caller: Python's ValueError, no domain error
            raise ValueError(f"naive datetime {value!r}: the store keeps timezone-aware times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012 (SQLAlchemy's own convention)
        datetime: UTCDateTime(),
        date: Date(),
        str: String(),
        bool: Boolean(),
        int: Integer(),
        float: Float(),
    }


class IngestRun(Base):
    """Audit log: one row per file given to ``panel ingest``, accepted or refused."""

    __tablename__ = "ingest_run"

    ingest_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    file_name: Mapped[str]
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str | None] = mapped_column(String(16))
    actor: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: running, storing (accepted, its parts being stored), accepted, refused, failed or
    #: interrupted (its process died before it was accepted)
    status: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int | None]
    stored: Mapped[int | None]
    quarantined: Mapped[int | None]
    known: Mapped[int | None]
    batch_valid: Mapped[bool | None]
    validation_result_path: Mapped[str | None]
    data_docs_path: Mapped[str | None]
    message: Mapped[str | None] = mapped_column(Text)
    #: Parts of an accepted file stored so far (``store.staging``); NULL before storing.
    stored_parts: Mapped[int | None]


class ArchivedFile(Base):
    """A raw export kept by content hash, so every ingest can be replayed."""

    __tablename__ = "archived_file"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str]
    size: Mapped[int]
    archived_at: Mapped[datetime]
    #: When erasures last removed records from it (its content then no longer has ``sha256``).
    redacted_at: Mapped[datetime | None]
    redacted_records: Mapped[int] = mapped_column(default=0)


class Volunteer(Base):
    __tablename__ = "volunteer"

    volunteer_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: Keyed hash (BLAKE2b) of the lower-cased e-mail; NULL once erased.
    email_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    #: Unique, so indexed: the database checks this foreign key from the profile side on every
    #: insert and delete of a profile, and without an index that scans every volunteer.
    current_submission_id: Mapped[str | None] = mapped_column(
        String(36),
        ForeignKey("profile.submission_id", use_alter=True, deferrable=True, initially="DEFERRED"),
        unique=True,
    )
    #: Latest ``afmeld``: no contact for any profile submitted before it.
    withdrawn_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]


class Contact(Base):
    """Who the volunteer is, from their newest submission. Only outreach reads this, and the
    study team's list of those who said yes (``store.referral_list``), which logs each look."""

    __tablename__ = "contact"

    volunteer_id: Mapped[str] = mapped_column(
        ForeignKey("volunteer.volunteer_id", deferrable=True, initially="DEFERRED"),
        primary_key=True,
    )
    first_name: Mapped[str]
    last_name: Mapped[str]
    email: Mapped[str]
    phone: Mapped[str | None]
    submitted_at: Mapped[datetime]


class Profile(Base):
    """One valid submission's health answers: a version of the volunteer's profile.

    Its answer columns are ``schemas.signup.PROFILE_FIELDS`` (``Contact``'s are
    ``CONTACT_FIELDS``), declared once in ``schemas.signup.SignupRow``; written out here, as
    the migrations are, and held to the declaration by tests/test_one_declaration.py."""

    __tablename__ = "profile"
    __table_args__ = (Index(None, "volunteer_id", "submitted_at"),)

    submission_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volunteer_id: Mapped[str] = mapped_column(
        ForeignKey("volunteer.volunteer_id", deferrable=True, initially="DEFERRED")
    )
    submitted_at: Mapped[datetime]
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.ingest_id"))
    birth_date: Mapped[date]
    #: female, male, other
    sex: Mapped[str] = mapped_column(String(8))
    postcode: Mapped[str] = mapped_column(String(4))
    height_cm: Mapped[int | None]
    weight_kg: Mapped[float | None]
    diagnoses: Mapped[str | None] = mapped_column(Text)
    medicines: Mapped[str | None] = mapped_column(Text)
    #: yes, no, unknown; NULL when not answered (or not asked: only women are asked)
    pregnant: Mapped[str | None] = mapped_column(String(8))
    smoker: Mapped[bool | None]
    rls_urge: Mapped[bool | None]
    rls_at_rest: Mapped[bool | None]
    rls_relieved_by_movement: Mapped[bool | None]
    rls_evening: Mapped[bool | None]
    rls_nights_per_week: Mapped[int | None]
    sleep_quality: Mapped[int | None]
    consent_contact: Mapped[bool]
    #: email or sms
    contact_channel: Mapped[str | None] = mapped_column(String(8))


class SubmissionNote(Base):
    """The free text of a submission: kept for the panel's staff, never used for matching."""

    __tablename__ = "submission_note"

    submission_id: Mapped[str] = mapped_column(
        ForeignKey("profile.submission_id", ondelete="CASCADE"), primary_key=True
    )
    text: Mapped[str] = mapped_column(Text)


class QuarantinedRecord(Base):
    """A row of an accepted file that failed validation, with every reason, until fixed."""

    __tablename__ = "quarantined_record"
    __table_args__ = (UniqueConstraint("record_sha256"),)

    quarantine_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.ingest_id"))
    file_sha256: Mapped[str] = mapped_column(String(64))
    line: Mapped[int]
    #: As written in the file (it may be the broken part).
    submission_id: Mapped[str | None] = mapped_column(Text)
    #: Keyed hash of the row's e-mail cell, so an erasure can find and purge the row.
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Hash of the row's cells: the same broken row in a re-export is not quarantined twice.
    record_sha256: Mapped[str] = mapped_column(String(64))
    cells: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: [{"column": ..., "reason": ...}, ...]
    problems: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    #: When a valid version of the same submission was stored later.
    resolved_at: Mapped[datetime | None]


class Withdrawal(Base):
    """Audit log of withdrawals: who (keyed e-mail hash), what and when."""

    __tablename__ = "withdrawal"
    __table_args__ = (UniqueConstraint("email_hash", "action", "requested_at"),)

    withdrawal_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: unsubscribe (afmeld) or erase (slet)
    action: Mapped[str] = mapped_column(String(12))
    requested_at: Mapped[datetime]
    ingest_id: Mapped[int] = mapped_column(ForeignKey("ingest_run.ingest_id"))
    recorded_at: Mapped[datetime]
    #: The volunteer it applied to when recorded (NULL: nobody with that e-mail yet).
    volunteer_id: Mapped[str | None] = mapped_column(String(16))


class Erasure(Base):
    """What is left of an erased person: a keyed hash of the e-mail and the erasure time. An
    older submission by that e-mail is never stored again; a newer one registers anew."""

    __tablename__ = "erasure"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased_at: Mapped[datetime]
    #: When the erasure's work beyond these tables was done: the raw archive and its copies
    #: purged, SQLite's log emptied (NULL: still to do; ``store.ingest_runs.finish_erasures``).
    archive_purged_at: Mapped[datetime | None]


class Study(Base):
    """A published study; its definition lives in its versions."""

    __tablename__ = "study"

    study_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str]
    #: draft, recruiting or closed (of the current version)
    status: Mapped[str] = mapped_column(String(16))
    recruitment_target: Mapped[int]
    current_version: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime]
    #: Raised by every change to the candidate list but decisions (``store.studies.
    #: list_changed``): counts of the list that decisions cannot change are kept per revision.
    list_revision: Mapped[int] = mapped_column(BigInteger, server_default="0")


class StudyVersion(Base):
    """Every definition ever published for a study, by content hash: nothing is overwritten."""

    __tablename__ = "study_version"
    __table_args__ = (UniqueConstraint("study_id", "version"),)

    study_version_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"))
    #: Content hash of the definition (``StudyDefinition.version``).
    version: Mapped[str] = mapped_column(String(16))
    #: 1, 2, 3, ... in order of publishing.
    number: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The YAML as the researcher wrote it.
    source: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime]
    published_by: Mapped[str]


class MatchRun(Base):
    """One study matched against the panel on one date: its funnel and counts."""

    __tablename__ = "match_run"

    match_run_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"), index=True)
    study_version: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date]
    started_at: Mapped[datetime]
    actor: Mapped[str]
    evaluated: Mapped[int]
    eligible: Mapped[int]
    needs_screening: Mapped[int]
    #: The attrition funnel: [{criterion_id, label, kind, remaining, lost, ...}, ...]
    funnel: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


#: The candidate columns a review list filters on, in the order the list's indexes hold them.
_LIST_FILTERS = ("status", "review_state", "region", "sex", "age")
#: What a match reads of each candidate, besides id and status, to find what changed.
_MATCH_COMPARES = ("outcome_hash", "hold_reason")


class Candidate(Base):
    """A volunteer on a study's candidate list, with why they fit (pseudonymous: no contact
    details). A volunteer who no longer fits keeps the row, marked no_longer_eligible."""

    __tablename__ = "candidate"

    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"), primary_key=True)
    #: Indexed apart from the key (which leads with the study), for erasure.
    volunteer_id: Mapped[str] = mapped_column(
        ForeignKey("volunteer.volunteer_id"), primary_key=True, index=True
    )
    #: eligible, needs_screening or no_longer_eligible
    status: Mapped[str] = mapped_column(String(24), index=True)
    match_run_id: Mapped[int] = mapped_column(ForeignKey("match_run.match_run_id"))
    #: The profile version (submission) and the study version the outcome was found on.
    submission_id: Mapped[str] = mapped_column(String(36))
    study_version: Mapped[str] = mapped_column(String(16))
    as_of: Mapped[date]
    #: Criteria whose answer is missing and decides the outcome: what to ask.
    unknown_criteria: Mapped[list[str]] = mapped_column(JSON)
    #: Per criterion id, in the order written: [outcome, evidence] (labels: the study version).
    explanation: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    #: What coordinators filter on, as of the match: age in years, sex, region (or NULL).
    age: Mapped[int | None]
    sex: Mapped[str | None] = mapped_column(String(8))
    region: Mapped[str | None] = mapped_column(String(16))
    first_matched_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    #: undecided, approved, rejected or deferred (``schemas.review.ReviewState``).
    review_state: Mapped[str] = mapped_column(String(12), server_default="undecided")
    #: Raised by every decision: a decision names the version it saw (optimistic locking).
    review_version: Mapped[int] = mapped_column(server_default="0")
    #: Why an approved candidate was not invited when outreach re-evaluated them (or NULL).
    hold_reason: Mapped[str | None] = mapped_column(Text)
    #: A hash of the outcome recorded (``store.candidate_changes``): a match rewrites the row
    #: only when it differs, so match_run_id, as_of and updated_at say when it last changed.
    outcome_hash: Mapped[int | None] = mapped_column(BigInteger)

    # The review app's list, in each order it offers: the order's index holds every column
    # a list filters on (but the screening question), so counting and choosing a page read
    # the index alone, never the (large) candidate rows. The one by volunteer also holds what
    # a match compares (``store.candidate_changes``), so that is read from the index too.
    __table_args__ = tuple(
        Index(
            f"ix_candidate_list_by_{name}",
            "study_id",
            *order,
            *(column for column in _LIST_FILTERS if column not in order),
            *(_MATCH_COMPARES if name == "volunteer" else ()),
        )
        for name, order in {
            "status": ("status", "volunteer_id"),
            "age": ("age", "volunteer_id"),
            "region": ("region", "volunteer_id"),
            "state": ("review_state", "volunteer_id"),
            "volunteer": ("volunteer_id",),
        }.items()
    )


class ReviewUser(Base):
    """Someone who may log in to the review app (staff, never volunteers)."""

    __tablename__ = "review_user"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    #: Lower case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: coordinator, researcher or admin (``schemas.review.Role``)
    role: Mapped[str] = mapped_column(String(12))
    #: argon2id, with its parameters and salt.
    password_hash: Mapped[str]
    created_at: Mapped[datetime]
    created_by: Mapped[str]
    #: A disabled user cannot log in and has no session (``panel users disable``).
    disabled_at: Mapped[datetime | None]
    disabled_by: Mapped[str | None]
    #: Failed logins before this moment no longer throttle the account (``panel users unlock``,
    #: a new password).
    failures_forgiven_at: Mapped[datetime | None]


class StudyGrant(Base):
    """A study a user may see (admins see every study without one)."""

    __tablename__ = "study_grant"

    user_id: Mapped[int] = mapped_column(ForeignKey("review_user.user_id"), primary_key=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"), primary_key=True)
    granted_at: Mapped[datetime]
    granted_by: Mapped[str]


class UserSession(Base):
    """A logged-in browser: the cookie holds a random token, the store only its SHA-256."""

    __tablename__ = "user_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("review_user.user_id"), index=True)
    #: Every form and htmx request of the session carries it (CSRF).
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class LoginAttempt(Base):
    """Every login that reached the password check, let in or refused: the record a security
    reviewer reads, and what throttling counts (``store.review_users``)."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index(None, "client", "outcome", "at"),
        Index(None, "email", "outcome", "at"),
        Index(None, "outcome", "at"),
    )

    attempt_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    #: The e-mail address typed, lower case, cut to 254 characters (it may name nobody).
    email: Mapped[str] = mapped_column(String(254))
    #: The client's address as the server saw it (``request.client.host``).
    client: Mapped[str] = mapped_column(String(64))
    #: ``store.review_users.Outcome``: logged in, or why not.
    outcome: Mapped[str] = mapped_column(String(16))


class AccountChange(Base):
    """Who changed which account, how and when: added, granted, revoked, disabled, enabled,
    unlocked, a new password."""

    __tablename__ = "account_change"

    change_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str]
    user_id: Mapped[int] = mapped_column(ForeignKey("review_user.user_id"), index=True)
    #: e.g. "added", "granted", "revoked", "disabled", "enabled", "unlocked", "password"
    what: Mapped[str] = mapped_column(String(16))
    #: The studies granted or revoked, the role given.
    detail: Mapped[str | None] = mapped_column(Text)


class Decision(Base):
    """Every decision on a candidate, kept for good: who, when, on which versions."""

    __tablename__ = "decision"
    __table_args__ = (Index(None, "study_id", "volunteer_id"),)

    decision_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"))
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteer.volunteer_id"), index=True)
    #: approve, reject, defer or note (``schemas.review.Action``)
    action: Mapped[str] = mapped_column(String(8))
    #: For a rejection: a key of ``schemas.review.REJECT_REASONS``.
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    decided_by: Mapped[str]
    decided_at: Mapped[datetime]
    #: The study version and the profile version (submission) the decision was made on; the
    #: submission is forgotten when the volunteer is erased.
    study_version: Mapped[str] = mapped_column(String(16))
    submission_id: Mapped[str | None] = mapped_column(String(36))


class AccessLog(Base):
    """Who looked at which candidate list or candidate, and when (GDPR accountability)."""

    __tablename__ = "access_log"
    __table_args__ = (Index(None, "study_id", "at"),)

    access_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str]
    study_id: Mapped[str] = mapped_column(String(64))
    #: e.g. "candidate list", "candidate", "export csv"
    what: Mapped[str] = mapped_column(String(32))
    #: The candidate, when one was looked at.
    volunteer_id: Mapped[str | None] = mapped_column(String(16))
    #: The filters in effect, as the address shows them.
    detail: Mapped[str | None] = mapped_column(Text)


class Invitation(Base):
    """The outbox: an invitation decided on, then delivered by the sender (``outreach``).

    One row per study and volunteer, ever: nobody is invited twice to a study. The row keeps
    what justified it (the study and profile versions checked, the approving decision) and
    its delivery: queued, sending (claimed by a sender), sent, failed, or cancelled (a rule
    no longer held when it was to be sent; a cancelled invitation may be queued again)."""

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("study_id", "volunteer_id"),
        Index(None, "status", "next_attempt_at"),
    )

    invitation_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"))
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteer.volunteer_id"), index=True)
    #: Random and kept: a resend after a crash carries the same Message-ID.
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    #: email or sms (the volunteer's ``kontaktform``)
    channel: Mapped[str] = mapped_column(String(8))
    #: queued, sending, sent, failed or cancelled
    status: Mapped[str] = mapped_column(String(12))
    study_version: Mapped[str] = mapped_column(String(16))
    #: The profile version (submission) found still fitting, and the day it was: an age is
    #: a day's, so an invitation not sent on that day waits for a fresh evaluation. The
    #: submission is forgotten when the volunteer is erased.
    submission_id: Mapped[str | None] = mapped_column(String(36))
    as_of: Mapped[date]
    #: The approval; NULL when the study approves eligible candidates itself.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decision.decision_id"))
    approved_by: Mapped[str]
    queued_at: Mapped[datetime]
    queued_by: Mapped[str]
    #: Delivery attempts since it was (last) queued.
    attempts: Mapped[int] = mapped_column(server_default="0")
    #: Times a sender took it, over its life: each claim is known by its number, which is
    #: never reused (queueing again keeps counting), so a sender that lost its claim can
    #: never record an outcome on a later one.
    claims: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[datetime]
    #: When a sender took it; a claim older than the lease is taken over (the sender died).
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: The absolute path of the copy a local folder channel (.eml, .sms.json) wrote, recorded
    #: before writing it: an erasure deletes it wherever the folders are configured by then.
    copy_path: Mapped[str | None] = mapped_column(Text)
    #: SHA-256 (hex) of the token of the answer link the invitation carried, set when it is
    #: marked sent (NULL: sent without a link, or not sent); never the token. An erasure
    #: clears it, so the link cannot be used again (``store.answer_links``).
    answer_token_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    #: Until when that link works: sent time + ``PANEL_ANSWER_DAYS``.
    answer_expires_at: Mapped[datetime | None]
    #: When the volunteer first opened the answer page (the funnel's "opened the page").
    answer_opened_at: Mapped[datetime | None]


class InvitationRetry(Base):
    """Who asked for a failed invitation to be tried again, when, and what came of it."""

    __tablename__ = "invitation_retry"

    retry_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.invitation_id"), index=True)
    requested_by: Mapped[str]
    requested_at: Mapped[datetime]
    #: "queued", or the rule that held it back (it stays failed).
    outcome: Mapped[str] = mapped_column(String(64))


class InvitationReminder(Base):
    """The one reminder of an invitation left unanswered (``outreach.reminders``): its own
    Message-ID and delivery, as the invitation's (queued, sending, sent, failed, cancelled),
    carrying the invitation's answer link. At most one per invitation, ever (its key)."""

    __tablename__ = "invitation_reminder"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.invitation_id"), primary_key=True
    )
    #: Random and kept, as an invitation's: a resend after a crash carries the same one.
    message_id: Mapped[str] = mapped_column(String(128), unique=True)
    #: The invitation's channel (email or sms).
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(12))
    queued_at: Mapped[datetime]
    queued_by: Mapped[str]
    attempts: Mapped[int] = mapped_column(server_default="0")
    claims: Mapped[int] = mapped_column(server_default="0")
    next_attempt_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    #: The absolute path of a local folder's copy, recorded before it is written (erasure).
    copy_path: Mapped[str | None] = mapped_column(Text)


class InvitationAnswer(Base):
    """A volunteer's answer on the answer page (``respond/``), one row each time they answer:
    the latest is their answer, the earlier ones how it changed. yes, no, or stop ("Kontakt
    mig ikke igen", which withdraws them too). Erased with the person."""

    __tablename__ = "invitation_answer"

    answer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.invitation_id"), index=True)
    #: yes, no or stop
    answer: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime]


class ScreeningAnswer(Base):
    """A volunteer's answer to a screening question (a criterion's ``question:``) on the
    answer page, one row each time they answer it, the latest counting. An answer to this
    study only: never written into the panel profile. Erased with the person."""

    __tablename__ = "screening_answer"

    screening_answer_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.invitation_id"), index=True)
    criterion_id: Mapped[str] = mapped_column(String(64))
    #: The option chosen, as the page showed it.
    option: Mapped[str] = mapped_column(Text)
    #: What it means for the criterion: met, not_met or unknown.
    means: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime]


class Referral(Base):
    """A yes on the answer page, one per invitation (``schemas.referral``): where it stands
    with the screening questions, when it reached the study team, and when the team took it
    (from then on the answer cannot be changed). A later no or stop before it was taken
    removes the row. Kept at erasure, as the decisions are, with nothing but pseudonymous ids
    and times; the study team's list never shows a withdrawn or erased volunteer."""

    __tablename__ = "referral"

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitation.invitation_id"), primary_key=True
    )
    study_id: Mapped[str] = mapped_column(ForeignKey("study.study_id"), index=True)
    volunteer_id: Mapped[str] = mapped_column(ForeignKey("volunteer.volunteer_id"), index=True)
    #: ``schemas.referral.Screening``
    screening: Mapped[str] = mapped_column(String(12))
    #: When the yes said (after the questions, if any) made it a referral; NULL while the
    #: questions are not all answered, or when the answers ruled them out.
    referred_at: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]
    taken_by: Mapped[str | None]


class ReferralOutcome(Base):
    """What happened next, as the study team records it: one row per step, the latest being
    where the referral stands. The note goes at erasure; the steps stay, for the counts."""

    __tablename__ = "referral_outcome"

    outcome_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("referral.invitation_id"), index=True)
    #: ``schemas.referral.ReferralStep``
    step: Mapped[str] = mapped_column(String(16))
    #: For not_eligible: ``schemas.referral.NotEligibleReason``.
    reason: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str]
    recorded_at: Mapped[datetime]


#: A volunteer's current profile: how ``Volunteer`` and ``Profile`` join.
CURRENT_PROFILE = Profile.submission_id == Volunteer.current_submission_id


def of_candidate(
    table: type[Candidate] | type[Invitation], study_id: Any, volunteer_id: Any
) -> ColumnElement[bool]:
    """The row of ``table`` (one per study and volunteer) of this study's volunteer."""
    return and_(table.study_id == study_id, table.volunteer_id == volunteer_id)
