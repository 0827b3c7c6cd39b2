"""Answer links: the personal link in every invitation, ``PANEL_PUBLIC_URL/svar/<token>``.

The token is 256 bits no one can guess without the panel's secret: HMAC-SHA256, under the
answer-link key, of the invitation's Message-ID (random, fixed when it was queued), in
base64url without padding (43 characters). It is derived, not stored, because the sender must
render the same link again when it resends a message after a crash; the store keeps only its
SHA-256 with the invitation, set in the transaction that marks it sent, and until when it
works. An erasure clears the hash, so the link leads nowhere after it.

The answer-link key is derived from the pseudonym key with a label of its own, so the panel
has one secret to back up, and the key of the e-mail hashes is never used for anything else
as it is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from configuration.keyed_tokens import KeyedTokens
from store.tables import Invitation, Volunteer

#: Domain separation: the answer-link key is HMAC(pseudonym key, this label).
KEY_LABEL = b"panelmatch answer link v1"
#: The path under ``PANEL_PUBLIC_URL`` where a volunteer answers: ``/svar/<token>``.
ANSWER_PATH = "svar"
#: 32 bytes in base64url without padding.
TOKEN_LENGTH = 43
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
#: What a malformed token is looked up as: no token hashes to it (it is not hex), so a
#: malformed token costs the same lookup as a well-formed one and finds nothing.
_NO_TOKEN = "-" * 64


class AnswerLinkKey(KeyedTokens):
    """Makes each invitation's answer-link token from its Message-ID (``token``: the same
    for the same Message-ID, every time)."""

    def __init__(self, pseudonym_key: bytes) -> None:
        super().__init__(pseudonym_key, KEY_LABEL)


def answer_link(public_url: str, token: str) -> str:
    """The link an invitation carries (``public_url`` without its trailing slash)."""
    return f"{public_url}/{ANSWER_PATH}/{token}"


def token_hash(token: str) -> str:
    """What the store keeps of a token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SentLink:
    """What the store keeps of the answer link an invitation carried when it is marked sent."""

    token_hash: str
    expires_at: datetime

    @classmethod
    def of(cls, token: str, sent_at: datetime, days: int) -> SentLink:
        """A link sent at ``sent_at`` that works for ``days`` days."""
        return cls(token_hash(token), sent_at + timedelta(days=days))

    def values(self) -> dict[str, object]:
        """The invitation's columns."""
        return {"answer_token_hash": self.token_hash, "answer_expires_at": self.expires_at}


@dataclass(frozen=True)
class AnsweringInvitation:
    """The invitation a presented token leads to (pseudonymous: no contact detail)."""

    invitation_id: int
    study_id: str
    volunteer_id: str
    status: str
    expires_at: datetime


def find_invitation(
    connection: Connection, token: str, now: datetime
) -> AnsweringInvitation | None:
    """The invitation whose answer link carries ``token``, if that link still works at ``now``:
    its invitation exists, the link has not expired and the volunteer is not erased. None
    otherwise, the same None whatever failed."""
    wanted = token_hash(token) if _TOKEN.fullmatch(token) else _NO_TOKEN
    row = connection.execute(
        select(
            Invitation.invitation_id,
            Invitation.study_id,
            Invitation.volunteer_id,
            Invitation.status,
            Invitation.answer_expires_at,
            Invitation.answer_token_hash,
        )
        .join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id)
        .where(Invitation.answer_token_hash == wanted, Volunteer.erased_at.is_(None))
    ).first()
    if row is None or row.answer_token_hash is None or row.answer_expires_at is None:
        return None
    # The database found it by the hash; compared again here in constant time all the same.
    if not hmac.compare_digest(row.answer_token_hash, wanted) or now >= row.answer_expires_at:
        return None
    return AnsweringInvitation(
        row.invitation_id, row.study_id, row.volunteer_id, row.status, row.answer_expires_at
    )


def sent_copies(connection: Connection, study_id: str) -> list[str]:
    """The copies local folder channels wrote of a study's invitations that carried an answer
    link, in the order they were queued: where a demo's volunteers read their links."""
    return [
        path
        for path in connection.execute(
            select(Invitation.copy_path)
            .where(
                Invitation.study_id == study_id,
                Invitation.answer_token_hash.is_not(None),
                Invitation.copy_path.is_not(None),
            )
            .order_by(Invitation.invitation_id)
        ).scalars()
        if path is not None
    ]
