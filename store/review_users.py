"""Who may use the review app: users, the studies granted to them, login attempts and their
limits, and sessions. Every change to an account is recorded with who made it and when.

Passwords reach this module already hashed (``review.passwords``); session tokens are kept
only as their SHA-256, so a copy of the store opens no session.

Login limits. No account is ever locked for everyone: failures are counted per account and
client address, per client address, and everywhere together, over a sliding window, from
the ``login_attempt`` rows every worker process writes. An outsider exhausts only their own
address's allowance; when failures everywhere pass their budget (guessing from many
addresses), only the addresses that logged someone in lately may still log in.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import (
    ColumnElement,
    Connection,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    update,
)

from schemas.act import Act
from schemas.review import (
    FAILURES_EVERYWHERE,
    FAILURES_PER_ACCOUNT_AND_ADDRESS,
    FAILURES_PER_ADDRESS,
    LOGIN_ATTEMPTS_KEPT_DAYS,
    LOGIN_WINDOW_MINUTES,
    MAX_EMAIL_LENGTH,
    SESSION_IDLE_MINUTES,
    SESSION_MAX_HOURS,
    TRUSTED_ADDRESS_DAYS,
    Role,
)
from store.bulk import record_columns
from store.errors import StoreError, UnknownStudy
from store.tables import AccountChange, LoginAttempt, ReviewUser, Study, StudyGrant, UserSession


@dataclass(frozen=True)
class User:
    user_id: int
    email: str
    role: Role
    #: The studies granted (admins see every study, whatever is granted).
    studies: frozenset[str]

    def may_see(self, study_id: str) -> bool:
        """The study's overview (a study team sees its referrals only)."""
        return self.role is Role.ADMIN or (self.role.sees_overviews and study_id in self.studies)

    def may_review(self, study_id: str) -> bool:
        return self.role.sees_candidates and self.may_see(study_id)

    def may_see_referrals(self, study_id: str) -> bool:
        """The study's referrals, by name: its study team, and admins."""
        return self.role is Role.ADMIN or (self.role.sees_names and study_id in self.studies)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


class UserExists(StoreError):
    """An account of this e-mail address exists already (the message does not repeat the
    address: an error text holds no personal data, a reviewer's included)."""


class NotGranted(StoreError):
    """Studies to revoke that the user was not granted; ``study_ids`` names them."""

    max_message = 100_000  # lists every study named

    def __init__(self, study_ids: list[str]) -> None:
        self.study_ids = study_ids
        super().__init__(f"no grant of {', '.join(map(repr, study_ids))} to revoke")


def normal_email(email: str) -> str:
    """An e-mail address as accounts are named and attempts recorded: trimmed, lower case."""
    return email.strip().lower()[:MAX_EMAIL_LENGTH]


def add_user(connection: Connection, email: str, role: Role, password_hash: str, act: Act) -> int:
    address = normal_email(email)
    if connection.execute(select(ReviewUser.user_id).where(ReviewUser.email == address)).first():
        raise UserExists("a user with this e-mail address exists already")
    result = connection.execute(
        insert(ReviewUser).values(
            email=address,
            role=role.value,
            password_hash=password_hash,
            created_at=act.at,
            created_by=act.who,
        )
    )
    user_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    _record_change(connection, user_id, "added", role.value, act)
    return user_id


def grant(connection: Connection, user_id: int, study_ids: list[str], act: Act) -> None:
    known = set(connection.execute(select(Study.study_id)).scalars())
    unknown = [s for s in study_ids if s not in known]
    if unknown:
        raise UnknownStudy(unknown)
    granted = set(
        connection.execute(
            select(StudyGrant.study_id).where(StudyGrant.user_id == user_id)
        ).scalars()
    )
    new = sorted(set(study_ids) - granted)
    for study_id in new:
        connection.execute(
            insert(StudyGrant).values(
                user_id=user_id, study_id=study_id, granted_at=act.at, granted_by=act.who
            )
        )
    if new:
        _record_change(connection, user_id, "granted", ",".join(new), act)


def revoke(connection: Connection, user_id: int, study_ids: list[str], act: Act) -> None:
    """Take studies away; the user's next request already goes without them (a session reads
    its grants on every request)."""
    missing = sorted(set(study_ids) - _granted(connection, user_id))
    if missing:
        raise NotGranted(missing)
    connection.execute(
        delete(StudyGrant).where(
            StudyGrant.user_id == user_id, StudyGrant.study_id.in_(set(study_ids))
        )
    )
    _record_change(connection, user_id, "revoked", ",".join(sorted(set(study_ids))), act)


def disable(connection: Connection, user_id: int, act: Act) -> bool:
    """No more logins, and every session of the user ends at once; False if disabled
    already."""
    changed = connection.execute(
        update(ReviewUser)
        .where(ReviewUser.user_id == user_id, ReviewUser.disabled_at.is_(None))
        .values(disabled_at=act.at, disabled_by=act.who)
    ).rowcount
    end_sessions(connection, user_id)
    if changed:
        _record_change(connection, user_id, "disabled", None, act)
    return bool(changed)


def enable(connection: Connection, user_id: int, act: Act) -> bool:
    """Logins allowed again; False if the user was not disabled."""
    changed = connection.execute(
        update(ReviewUser)
        .where(ReviewUser.user_id == user_id, ReviewUser.disabled_at.is_not(None))
        .values(disabled_at=None, disabled_by=None)
    ).rowcount
    if changed:
        _record_change(connection, user_id, "enabled", None, act)
    return bool(changed)


def _record_change(
    connection: Connection, user_id: int, what: str, detail: str | None, act: Act
) -> None:
    connection.execute(
        insert(AccountChange).values(
            at=act.at, actor=act.who, user_id=user_id, what=what, detail=detail
        )
    )


@dataclass(frozen=True)
class Change:
    at: datetime
    actor: str
    what: str
    detail: str | None


def changes(connection: Connection, user_id: int) -> list[Change]:
    """What was done to an account, oldest first."""
    rows = connection.execute(
        select(*record_columns(AccountChange, Change))
        .where(AccountChange.user_id == user_id)
        .order_by(AccountChange.change_id)
    )
    return [Change(*row) for row in rows]


def user_by_email(connection: Connection, email: str) -> tuple[User, str] | None:
    """The user and their password hash."""
    row = connection.execute(
        select(ReviewUser.user_id, ReviewUser.password_hash).where(
            ReviewUser.email == normal_email(email)
        )
    ).first()
    if row is None:
        return None
    user = user_by_id(connection, row.user_id)
    assert user is not None
    return user, row.password_hash


def user_by_id(connection: Connection, user_id: int) -> User | None:
    row = connection.execute(
        select(ReviewUser.email, ReviewUser.role).where(ReviewUser.user_id == user_id)
    ).first()
    if row is None:
        return None
    return User(user_id, row.email, Role(row.role), _granted(connection, user_id))


def _granted(connection: Connection, user_id: int) -> frozenset[str]:
    return frozenset(
        connection.execute(
            select(StudyGrant.study_id).where(StudyGrant.user_id == user_id)
        ).scalars()
    )


def all_users(connection: Connection) -> list[User]:
    ids = connection.execute(select(ReviewUser.user_id).order_by(ReviewUser.email)).scalars()
    return [user for i in list(ids) if (user := user_by_id(connection, i)) is not None]


@dataclass(frozen=True)
class Account:
    """A user as ``panel users list`` shows them."""

    user: User
    disabled_at: datetime | None
    disabled_by: str | None


def all_accounts(connection: Connection) -> list[Account]:
    rows = connection.execute(
        select(ReviewUser.user_id, ReviewUser.disabled_at, ReviewUser.disabled_by).order_by(
            ReviewUser.email
        )
    ).all()
    return [
        Account(user, row.disabled_at, row.disabled_by)
        for row in rows
        if (user := user_by_id(connection, row.user_id)) is not None
    ]


def unlock(connection: Connection, user_id: int, act: Act) -> None:
    """Forgive the account's failed logins so far, from every address."""
    _forgive_failures(connection, user_id, act.at)
    _record_change(connection, user_id, "unlocked", None, act)


def change_password(connection: Connection, user_id: int, password_hash: str, act: Act) -> None:
    """A new password: every session of the user ends, and failures so far are forgiven."""
    store_rehashed_password(connection, user_id, password_hash)
    _forgive_failures(connection, user_id, act.at)
    end_sessions(connection, user_id)
    _record_change(connection, user_id, "password", None, act)


def store_rehashed_password(connection: Connection, user_id: int, password_hash: str) -> None:
    """The same password hashed anew (argon2's parameters changed): sessions go on."""
    connection.execute(
        update(ReviewUser).where(ReviewUser.user_id == user_id).values(password_hash=password_hash)
    )


def _forgive_failures(connection: Connection, user_id: int, now: datetime) -> None:
    connection.execute(
        update(ReviewUser).where(ReviewUser.user_id == user_id).values(failures_forgiven_at=now)
    )


class Outcome(StrEnum):
    """How a login attempt ended, as recorded (at most 16 characters)."""

    LOGGED_IN = "logged in"
    WRONG_PASSWORD = "wrong password"
    UNKNOWN_EMAIL = "unknown e-mail"
    DISABLED = "disabled"
    #: An e-mail or password longer than any allowed (``schemas.review.MAX_*_LENGTH``).
    TOO_LONG = "too long"
    #: Refused unchecked: the limit reached (``login_limit``).
    ACCOUNT_LIMIT = "account limit"
    ADDRESS_LIMIT = "address limit"
    GLOBAL_LIMIT = "global limit"


#: What counts against the limits: guesses that failed. A refusal by a limit does not, so
#: that a limit lifts on its own however often someone retries.
_FAILURES = frozenset(
    {Outcome.WRONG_PASSWORD, Outcome.UNKNOWN_EMAIL, Outcome.DISABLED, Outcome.TOO_LONG}
)


@dataclass(frozen=True)
class LoginAccount:
    """What a login needs to know of an account, in one read."""

    user_id: int
    password_hash: str
    disabled: bool
    failures_forgiven_at: datetime | None


def login_account(connection: Connection, email: str) -> LoginAccount | None:
    row = connection.execute(
        select(
            ReviewUser.user_id,
            ReviewUser.password_hash,
            ReviewUser.disabled_at,
            ReviewUser.failures_forgiven_at,
        ).where(ReviewUser.email == normal_email(email))
    ).first()
    if row is None:
        return None
    return LoginAccount(
        row.user_id, row.password_hash, row.disabled_at is not None, row.failures_forgiven_at
    )


def login_limit(
    connection: Connection,
    email: str,
    client: str,
    now: datetime,
    forgiven_at: datetime | None = None,
) -> Outcome | None:
    """The limit that refuses a login of ``email`` from ``client`` now, or None. Failures of
    this account from this address count since the last login from there (or since they were
    forgiven); everything else over the window."""
    since = now - timedelta(minutes=LOGIN_WINDOW_MINUTES)
    address = normal_email(email)
    last_login = connection.execute(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.email == address,
            LoginAttempt.outcome == Outcome.LOGGED_IN.value,
            LoginAttempt.client == client,
            LoginAttempt.at > since,
        )
    ).scalar()
    pair_since = max(t for t in (since, forgiven_at, last_login) if t is not None)
    pair = (
        LoginAttempt.email == address,
        LoginAttempt.client == client,
        LoginAttempt.at > pair_since,
    )
    if _failures(connection, FAILURES_PER_ACCOUNT_AND_ADDRESS, *pair):
        return Outcome.ACCOUNT_LIMIT
    if _failures(
        connection, FAILURES_PER_ADDRESS, LoginAttempt.client == client, LoginAttempt.at > since
    ):
        return Outcome.ADDRESS_LIMIT
    if _failures(connection, FAILURES_EVERYWHERE, LoginAttempt.at > since) and not trusted(
        connection, client, now
    ):
        return Outcome.GLOBAL_LIMIT
    return None


def _failures(connection: Connection, limit: int, *where: ColumnElement[bool]) -> bool:
    """Whether at least ``limit`` failures match (counting no further than that)."""
    found = (
        select(literal(1))
        .where(LoginAttempt.outcome.in_([o.value for o in _FAILURES]), *where)
        .limit(limit)
        .subquery()
    )
    return connection.execute(select(func.count()).select_from(found)).scalar_one() >= limit


def trusted(connection: Connection, client: str, now: datetime) -> bool:
    """Whether someone logged in from ``client`` lately: an outsider cannot be there."""
    return (
        connection.execute(
            select(literal(1))
            .where(
                LoginAttempt.client == client,
                LoginAttempt.outcome == Outcome.LOGGED_IN.value,
                LoginAttempt.at > now - timedelta(days=TRUSTED_ADDRESS_DAYS),
            )
            .limit(1)
        ).first()
        is not None
    )


def record_attempt(
    connection: Connection, email: str, client: str, outcome: Outcome, now: datetime
) -> None:
    connection.execute(
        insert(LoginAttempt).values(
            at=now, email=normal_email(email), client=client[:64], outcome=outcome.value
        )
    )


def start_session(connection: Connection, user_id: int, now: datetime) -> str:
    """A new session after a successful login: returns the token for the cookie. Login
    attempts older than kept are pruned here (a login is rare; refusals are not)."""
    connection.execute(
        delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=LOGIN_ATTEMPTS_KEPT_DAYS))
    )
    token = secrets.token_urlsafe(32)
    connection.execute(
        insert(UserSession).values(
            token_hash=_digest(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


@dataclass(frozen=True)
class FoundSession:
    """A session as stored, before deciding whether it is still alive."""

    session: Session
    created_at: datetime
    last_seen_at: datetime

    def expired(self, now: datetime) -> bool:
        """Idle too long, or too old whatever the activity."""
        return self.last_seen_at < now - timedelta(
            minutes=SESSION_IDLE_MINUTES
        ) or self.created_at <= now - timedelta(hours=SESSION_MAX_HOURS)

    def due_keep_alive(self, now: datetime) -> bool:
        """Kept alive at most once a minute: not a write per request."""
        return now - self.last_seen_at > timedelta(minutes=1)


def find_session(connection: Connection, token: str) -> FoundSession | None:
    """The session a cookie names, with its user and grants, in one read (no write); none
    for a disabled user (whose sessions end as they are disabled: this is the backstop)."""
    row = connection.execute(_SESSION_BY_TOKEN, {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    studies = frozenset(row.studies.split(",")) if row.studies else frozenset()
    user = User(row.user_id, row.email, Role(row.role), studies)
    return FoundSession(Session(user, row.csrf_token), row.created_at, row.last_seen_at)


#: Study ids hold no comma (``schemas.study``), so the grants travel as one joined string.
_SESSION_COLUMNS = (
    UserSession.user_id,
    UserSession.csrf_token,
    UserSession.created_at,
    UserSession.last_seen_at,
    ReviewUser.email,
    ReviewUser.role,
)
_SESSION_BY_TOKEN = (
    select(*_SESSION_COLUMNS, func.aggregate_strings(StudyGrant.study_id, ",").label("studies"))
    .join(ReviewUser, ReviewUser.user_id == UserSession.user_id)
    .outerjoin(StudyGrant, StudyGrant.user_id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"), ReviewUser.disabled_at.is_(None))
    .group_by(*_SESSION_COLUMNS)
)


def keep_alive(connection: Connection, token: str, now: datetime) -> None:
    connection.execute(
        update(UserSession).where(UserSession.token_hash == _digest(token)).values(last_seen_at=now)
    )


def end_session(connection: Connection, token: str) -> None:
    connection.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


def end_sessions(connection: Connection, user_id: int) -> None:
    """Every session of the user (disabled, or a new password)."""
    connection.execute(delete(UserSession).where(UserSession.user_id == user_id))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
