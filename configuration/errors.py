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

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(one_line(message))
        if transient is not None:
            self.transient = transient

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class StoreError(PanelError):
    """The panel store refused or failed a statement; the message names the kind of problem
    and the table or constraint, never a value (``store.database`` words it)."""


class StoreBusy(PanelError):
    """Another run holds the store's ingest lock, and this one was asked not to wait."""

    #: ``EX_TEMPFAIL`` of sysexits.h: try again later.
    exit_code = 75


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
