"""CSRF protection of the answer form without a session or a cookie: the form carries an HMAC
of its page's answer token under a key derived from the panel's pseudonym key (a label of its
own, as the answer-link key has). Only a page this app served for that token has it; it is
the same every time the page is shown, so a form left open in a tab still works."""

from __future__ import annotations

from configuration.keyed_tokens import KeyedTokens

#: Domain separation: the form key is HMAC(pseudonym key, this label).
KEY_LABEL = b"panelmatch answer form v1"


class FormTokens(KeyedTokens):
    def __init__(self, pseudonym_key: bytes) -> None:
        super().__init__(pseudonym_key, KEY_LABEL)

    def for_page(self, answer_token: str) -> str:
        """The form token of the page at ``/svar/<answer_token>``."""
        return self.token(answer_token)

    def valid(self, answer_token: str, sent: str) -> bool:
        return self.matches(answer_token, sent)
