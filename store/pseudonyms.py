"""Pseudonyms: random volunteer ids, and keyed hashes that recognise an e-mail address
without keeping it.

The hash is BLAKE2b in keyed mode (a MAC): without the key, nobody can test whether a given
address is in the panel, and an erased person leaves nothing but this hash behind.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

import numpy as np

from configuration.settings import SettingsError

#: Crockford's base32: no I, L, O or U, so ids read aloud or copied by hand survive.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VOLUNTEER_ID_LENGTH = 12


def normalised_email(email: str) -> str:
    """One volunteer = one e-mail address, compared case-insensitively."""
    return email.strip().lower()


class EmailHasher:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise SettingsError("the pseudonym key must be at least 16 bytes")
        self._key = key[:64]

    def __call__(self, email: str) -> str:
        digest = hashlib.blake2b(normalised_email(email).encode(), key=self._key, digest_size=16)
        return digest.hexdigest()

    def many(self, emails: Iterable[str | None]) -> list[str | None]:
        key = self._key
        blake2b = hashlib.blake2b
        return [
            None
            if email is None
            else blake2b(email.strip().lower().encode(), key=key, digest_size=16).hexdigest()
            for email in emails
        ]


def new_volunteer_ids(count: int) -> list[str]:
    """Random, unguessable ids such as ``V7K2M9Q4XJ3A`` (55 random bits from the OS's
    cryptographic source), unrelated to who the person is."""
    symbols = VOLUNTEER_ID_LENGTH - 1
    alphabet = np.frombuffer(_ALPHABET.encode(), dtype="S1")
    ids: set[str] = set()
    while len(ids) < count:
        needed = count - len(ids)
        random = np.frombuffer(secrets.token_bytes(8 * needed), dtype=np.uint64)
        shifts = np.arange(symbols, dtype=np.uint64) * np.uint64(5)
        digits = (random[:, None] >> shifts) & np.uint64(31)
        text = np.ascontiguousarray(alphabet[digits]).view(f"S{symbols}").ravel()
        ids.update("V" + code for code in text.astype(str).tolist())
    return list(ids)
