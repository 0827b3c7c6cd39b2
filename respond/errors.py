"""The answer page's errors (``RespondError``: the family of ``respond/``)."""

from __future__ import annotations

from configuration.errors import PanelError


class RespondError(PanelError):
    """The family of the answer page's errors; a message never holds a token or personal data."""


class FormRefused(RespondError):
    """A form sent without the token of the page it came from (a missing or wrong CSRF field)."""

    def __init__(self) -> None:
        super().__init__("the answer form did not come from its own page")


class TooManyRequests(RespondError):
    """A client address asked for more answer pages than its share (``respond.limits``)."""

    transient = True

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests from one address; try again in {retry_after} s")
        self.retry_after = retry_after
