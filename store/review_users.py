"""Who may use the review app: users, the studies granted to them, lockout, and sessions.

Passwords reach this module already hashed (``review.passwords``); session tokens are kept
only as their SHA-256, so a copy of the store opens no session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from schemas.review import LOCKOUT_AFTER, LOCKOUT_MINUTES, SESSION_IDLE_MINUTES, Role
from store.tables import ReviewUser, Study, StudyGrant, UserSession


@dataclass(frozen=True)
class User:
    user_id: int
    email: str
    role: Role
    #: The studies granted (admins see every study, whatever is granted).
    studies: frozenset[str]

    def may_see(self, study_id: str) -> bool:
        return self.role is Role.ADMIN or study_id in self.studies

    def may_review(self, study_id: str) -> bool:
        return self.role.sees_candidates and self.may_see(study_id)


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str


class UserExists(ValueError):
    pass


class UnknownStudy(ValueError):
    pass


def add_user(
    connection: Connection, email: str, role: Role, password_hash: str, actor: str, now: datetime
) -> int:
    address = email.strip().lower()
    if connection.execute(select(ReviewUser.user_id).where(ReviewUser.email == address)).first():
        raise UserExists(f"a user {address} exists already")
    result = connection.execute(
        insert(ReviewUser).values(
            email=address,
            role=role.value,
            password_hash=password_hash,
            created_at=now,
            created_by=actor,
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def grant(
    connection: Connection, user_id: int, study_ids: list[str], actor: str, now: datetime
) -> None:
    known = set(connection.execute(select(Study.study_id)).scalars())
    unknown = [s for s in study_ids if s not in known]
    if unknown:
        raise UnknownStudy(f"no published study {', '.join(map(repr, unknown))}")
    granted = set(
        connection.execute(
            select(StudyGrant.study_id).where(StudyGrant.user_id == user_id)
        ).scalars()
    )
    for study_id in sorted(set(study_ids) - granted):
        connection.execute(
            insert(StudyGrant).values(
                user_id=user_id, study_id=study_id, granted_at=now, granted_by=actor
            )
        )


def user_by_email(connection: Connection, email: str) -> tuple[User, str] | None:
    """The user and their password hash."""
    row = connection.execute(
        select(ReviewUser.user_id, ReviewUser.password_hash).where(
            ReviewUser.email == email.strip().lower()
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


def locked_until(connection: Connection, user_id: int, now: datetime) -> datetime | None:
    until = connection.execute(
        select(ReviewUser.locked_until).where(ReviewUser.user_id == user_id)
    ).scalar_one()
    return until if until is not None and until > now else None


def record_failed_login(connection: Connection, user_id: int, now: datetime) -> None:
    """Count a failed login; the LOCKOUT_AFTER-th in a row locks the account for a while."""
    failures = connection.execute(
        update(ReviewUser)
        .where(ReviewUser.user_id == user_id)
        .values(failed_logins=ReviewUser.failed_logins + 1)
        .returning(ReviewUser.failed_logins)
    ).scalar_one()
    if failures >= LOCKOUT_AFTER:
        connection.execute(
            update(ReviewUser)
            .where(ReviewUser.user_id == user_id)
            .values(failed_logins=0, locked_until=now + timedelta(minutes=LOCKOUT_MINUTES))
        )


def unlock(connection: Connection, user_id: int) -> None:
    connection.execute(
        update(ReviewUser)
        .where(ReviewUser.user_id == user_id)
        .values(failed_logins=0, locked_until=None)
    )


def set_password(connection: Connection, user_id: int, password_hash: str) -> None:
    connection.execute(
        update(ReviewUser).where(ReviewUser.user_id == user_id).values(password_hash=password_hash)
    )


def start_session(connection: Connection, user_id: int, now: datetime) -> str:
    """A new session after a successful login: returns the token for the cookie."""
    unlock(connection, user_id)
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
    last_seen_at: datetime

    def expired(self, now: datetime) -> bool:
        return self.last_seen_at < now - timedelta(minutes=SESSION_IDLE_MINUTES)

    def due_keep_alive(self, now: datetime) -> bool:
        """Kept alive at most once a minute: not a write per request."""
        return now - self.last_seen_at > timedelta(minutes=1)


def find_session(connection: Connection, token: str) -> FoundSession | None:
    """The session a cookie names, with its user and grants, in one read (no write)."""
    row = connection.execute(_SESSION_BY_TOKEN, {"token_hash": _digest(token)}).first()
    if row is None:
        return None
    studies = frozenset(row.studies.split(",")) if row.studies else frozenset()
    user = User(row.user_id, row.email, Role(row.role), studies)
    return FoundSession(Session(user, row.csrf_token), row.last_seen_at)


#: Study ids hold no comma (``schemas.study``), so the grants travel as one joined string.
_SESSION_BY_TOKEN = (
    select(
        UserSession.user_id,
        UserSession.csrf_token,
        UserSession.last_seen_at,
        ReviewUser.email,
        ReviewUser.role,
        func.aggregate_strings(StudyGrant.study_id, ",").label("studies"),
    )
    .join(ReviewUser, ReviewUser.user_id == UserSession.user_id)
    .outerjoin(StudyGrant, StudyGrant.user_id == UserSession.user_id)
    .where(UserSession.token_hash == bindparam("token_hash"))
    .group_by(
        UserSession.user_id,
        UserSession.csrf_token,
        UserSession.last_seen_at,
        ReviewUser.email,
        ReviewUser.role,
    )
)


def keep_alive(connection: Connection, token: str, now: datetime) -> None:
    connection.execute(
        update(UserSession).where(UserSession.token_hash == _digest(token)).values(last_seen_at=now)
    )


def end_session(connection: Connection, token: str) -> None:
    connection.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
