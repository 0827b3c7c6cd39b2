"""Tokens keyed by the panel's one secret: HMAC-SHA256 of a text under a key derived from the
pseudonym key with a label of its own, in base64url without padding (43 characters).

Each use has its label (domain separation), so the panel has one secret to back up and no
key serves two purposes: the answer links (``store.answer_links``) and the answer form's
CSRF tokens (``respond.form_tokens``) are ``KeyedTokens`` with different labels.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


class KeyedTokens:
    """Makes and checks the tokens of one use (``label``) under the pseudonym key."""

    def __init__(self, pseudonym_key: bytes, label: bytes) -> None:
        self._key = hmac.new(pseudonym_key, label, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(...)"  # never the key

    def token(self, text: str) -> str:
        """The token of ``text``: the same for the same text, every time."""
        mac = hmac.new(self._key, text.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def matches(self, text: str, sent: str) -> bool:
        """Whether ``sent`` is the token of ``text`` (compared in constant time)."""
        return hmac.compare_digest(self.token(text).encode(), sent.encode())
