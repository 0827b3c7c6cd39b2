"""The errors panelmatch raises on purpose, and what any other error may say.

Health data is special-category personal data, and error texts travel far: to Prefect's
database (task and flow states, logs, pickled results), to the audit log, to webhooks, to
a terminal that someone screenshots. So an error's message is held to one rule: **it never
holds personal data** (names, e-mails, phones, birth dates, submission ids, health answers,
free text), only what went wrong, where (file, line, column, step, table) and, for bad input,
a short quote (``schemas.danish_formats.shown``) of a cell that is neither a contact detail nor
free text.

``PanelError`` and its subclasses are written to that rule. Any other exception (a library's,
or a bug of ours) may quote the data it choked on, so ``as_panel_error`` keeps only its kind
and where in our code it happened, never its text. Prefect tasks and flows (``flows.private``)
and the CLI pass every error through it.

One base, one family per package, each declared in the package's ``errors.py``::

    PanelError
    ├── UnexpectedError                 anything else, reworded by ``as_panel_error``
    ├── ConfigurationError              configuration/errors.py
    │   ├── SettingsError               configuration/settings.py
    │   └── SmtpUrlError (ValueError)
    ├── InputError                      schemas/errors.py
    │   └── ExportRefused               schemas/export_file.py
    ├── StoreError                      store/errors.py: a statement failed; StoreBusy,
    │                                   UnknownStudy; DecisionRefused, DecisionConflict
    │                                   (store/decisions.py); UserExists, NotGranted
    │                                   (store/review_users.py)
    ├── OutreachError                   outreach/errors.py: DeliveryError (Transient...,
    │                                   Permanent...), MessageError (ValueError), NothingToRetry
    ├── RespondError                    respond/errors.py: FormRefused, TooManyRequests
    └── FlowError                       flows/errors.py: CycleStopped

``matching`` (pure functions) and ``ingest`` raise no domain errors of their own.

Each exception keeps what happened and where as attributes (file, line, study, invitation...)
besides its message. ``exit_code`` is what the CLI exits with (``panelmatch.command_base``).
"""

from __future__ import annotations

import traceback
from pathlib import Path

#: A message is one line of at most this many characters.
MAX_MESSAGE = 300

_OUR_CODE = Path(__file__).resolve().parent.parent


class PanelError(Exception):
    """An error whose message is safe to show, log and keep (see the module's rule).

    ``transient``: trying again later may succeed (a connection dropped, a disk was full).
    """

    transient: bool = False
    #: The ``panel`` command's exit code when this error stops it.
    exit_code: int = 1
    #: A longer message is cut (with "…"); an error listing what its caller named (study or
    #: volunteer ids, a template's path) keeps it whole with a larger limit.
    max_message: int = MAX_MESSAGE

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(one_line(message, self.max_message))
        if transient is not None:
            self.transient = transient

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigurationError(PanelError):
    """The family of configuration errors: a setting is unusable; the message says which and
    what to change, never its value (it may be a secret)."""


class SmtpUrlError(ConfigurationError, ValueError):
    """``PANEL_SMTP_URL`` is unusable (``configuration.smtp_url``); never quotes the password.

    Also a ``ValueError``: the settings' pydantic validator parses the URL, and pydantic turns
    only ``ValueError`` and ``AssertionError`` into validation errors."""

    setting = "PANEL_SMTP_URL"


class UnexpectedError(PanelError):
    """An error panelmatch did not foresee. Its own text is dropped (it may quote data); the
    message says where in our code it happened, and ``kind`` keeps the exception's type for
    whoever debugs it (``PANEL_DEBUG=1`` on the CLI shows the original)."""

    def __init__(self, message: str, *, kind: str, transient: bool = False) -> None:
        super().__init__(message, transient=transient)
        self.kind = kind


def as_panel_error(error: BaseException) -> PanelError:
    """``error`` itself when it is a ``PanelError``; otherwise one that says only what kind of
    trouble it was and where, and keeps its traceback (frames hold code, not values)."""
    if isinstance(error, PanelError):
        return error
    if isinstance(error, OSError):
        what = error.strerror or "an input/output error"
        name = f": {Path(error.filename).name}" if isinstance(error.filename, str) else ""
        safe: PanelError = PanelError(f"{what}{name}", transient=True)
    else:
        safe = UnexpectedError(
            f"an unexpected error {where(error)}", kind=type(error).__name__, transient=False
        )
    return safe.with_traceback(error.__traceback__)


def where(error: BaseException) -> str:
    """``at ingest/steps.py:194 (store_accepted)``: the innermost frame in our own code."""
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if _is_ours(frame.filename)
    ]
    if not frames:
        return "in a library"
    frame = frames[-1]
    relative = Path(frame.filename).resolve().relative_to(_OUR_CODE)
    return f"at {relative}:{frame.lineno} ({frame.name})"


def _is_ours(filename: str) -> bool:
    path = Path(filename).resolve()
    return (
        path.is_relative_to(_OUR_CODE)
        and ".venv" not in path.parts
        and ("site-packages" not in path.parts)
    )


def one_line(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` as one line of at most ``limit`` characters (line breaks become spaces)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
