"""Progress of a long ingest, and notices on the way, for whoever shows them (the CLI draws a
bar and prints notices; tests and the scheduled cycle ignore them).

Stages report ``(stage, done, total)``; a notice is one line, such as "waiting for another
ingest". The default reporters do nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressReporter = Callable[[str, int, int], None]
NoticeReporter = Callable[[str], None]


def _silent(stage: str, done: int, total: int) -> None:
    pass


def _unsaid(text: str) -> None:
    pass


_reporter: ProgressReporter = _silent
_notices: NoticeReporter = _unsaid


def set_reporter(reporter: ProgressReporter | None) -> None:
    global _reporter  # noqa: PLW0603 (one reporter per process, set by the CLI)
    _reporter = reporter or _silent


def report(stage: str, done: int, total: int) -> None:
    _reporter(stage, done, total)


def set_notices(reporter: NoticeReporter | None) -> None:
    global _notices  # noqa: PLW0603 (one reporter per process, set by the CLI)
    _notices = reporter or _unsaid


def notice(text: str) -> None:
    _notices(text)
