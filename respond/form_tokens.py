"""CSRF protection of the answer form without a session or a cookie: the form carries an HMAC
of its page's answer token under a key derived from the panel's pseudonym key (a label of its
own, as the answer-link key has). Only a page this app served for that token has it; it is
the same every time the page is shown, so a form left open in a tab still works."""

from __future__ import annotations

import base64
import hashlib
import hmac

#: Domain separation: the form key is HMAC(pseudonym key, this label).
KEY_LABEL = b"panelmatch answer form v1"


class FormTokens:
    def __init__(self, pseudonym_key: bytes) -> None:
        self._key = hmac.new(pseudonym_key, KEY_LABEL, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return "FormTokens(...)"  # never the key

    def for_page(self, answer_token: str) -> str:
        """The form token of the page at ``/svar/<answer_token>``."""
        mac = hmac.new(self._key, answer_token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def valid(self, answer_token: str, sent: str) -> bool:
        return hmac.compare_digest(self.for_page(answer_token).encode(), sent.encode())
