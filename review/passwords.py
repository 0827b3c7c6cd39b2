"""Password hashing for review users: argon2id (argon2-cffi's defaults, RFC 9106's low-memory
profile), with rehashing when those defaults change."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schemas.review import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

_HASHER = PasswordHasher()
#: Verified against when the e-mail is unknown, so a login takes as long either way.
_DUMMY = _HASHER.hash("not a password of anyone")


def password_problem(password: str) -> str | None:
    """Why a new password is not good enough, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"a password may have at most {MAX_PASSWORD_LENGTH} characters"
    if password.strip() != password:
        return "a password may not begin or end with a space"
    return None


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown user, or a login refused anyway) it
    is checked against a dummy, so timing does not tell which e-mails have accounts. One
    longer than any allowed is not hashed: an empty one is, in its place."""
    too_long = len(password) > MAX_PASSWORD_LENGTH
    try:
        matches = _HASHER.verify(password_hash or _DUMMY, "" if too_long else password)
        return matches and password_hash is not None and not too_long
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)
