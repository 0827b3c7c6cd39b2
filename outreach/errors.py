"""Outreach's errors: the ``OutreachError`` family (``configuration.errors`` states the rule:
no personal data in a message).

A mail server's answer may quote the recipient ("550 5.1.1 <anna@example.dk>: unknown user"),
so a ``DeliveryError`` drops addresses and phone numbers from its message when it is made.
"""

from __future__ import annotations

import re

from configuration.errors import PanelError

_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_PHONE = re.compile(r"\+?\d(?: ?\d){7,}")


class OutreachError(PanelError):
    """The base of every error outreach raises."""


class DeliveryError(OutreachError):
    """A message was not delivered; ``str(error)`` is a one-line reason without secrets or
    contact details."""

    transient: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(without_contact_details(message))


class TransientDeliveryError(DeliveryError):
    """Try again later (with backoff): the server or the disk may recover."""

    transient = True


class PermanentDeliveryError(DeliveryError):
    """Do not retry this message as it is: the server refused it or the setup is wrong."""

    transient = False


class MessageError(OutreachError, ValueError):
    """An invitation cannot be made into a message as asked: a template uses or reaches for
    something outside the invitation's context, or a study id, Message-ID, date or
    List-Unsubscribe target is malformed. ``template`` and ``study_id`` say where, when known.

    Also a ``ValueError``: these are bad values handed to the message builders, and callers
    and tests catch them as such."""

    max_message = 2000  # names the template's file and every field a template may use

    def __init__(
        self, message: str, *, template: str | None = None, study_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.template, self.study_id = template, study_id


class NothingToRetry(OutreachError):
    """Volunteers named for a retry have no failed invitation for the study (``study_id``,
    ``volunteer_ids``: pseudonymous)."""

    max_message = 100_000  # lists every volunteer named

    def __init__(self, study_id: str, volunteer_ids: list[str]) -> None:
        self.study_id, self.volunteer_ids = study_id, volunteer_ids
        super().__init__(
            f"no failed invitation of {study_id} to retry for {', '.join(volunteer_ids)}; "
            f"nothing was changed (`panel contact retry {study_id}` retries every failed one)"
        )

    def __reduce__(self) -> tuple[object, ...]:  # pickled by Prefect with its arguments
        return (NothingToRetry, (self.study_id, self.volunteer_ids))


def without_contact_details(said: str) -> str:
    """A server's answer without the addresses or phone numbers it may quote ("550 5.1.1
    <anna@example.dk>: unknown user"): it is kept in the store and shown in reports."""
    return _PHONE.sub("[number]", _ADDRESS.sub("[address]", said))
