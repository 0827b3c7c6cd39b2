"""Progress of a long ingest, for whoever shows it (the CLI draws a bar; tests ignore it).

Stages report ``(stage, done, total)``; the default reporter does nothing.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressReporter = Callable[[str, int, int], None]


def _silent(stage: str, done: int, total: int) -> None:
    pass


_reporter: ProgressReporter = _silent


def set_reporter(reporter: ProgressReporter | None) -> None:
    global _reporter  # noqa: PLW0603 (one reporter per process, set by the CLI)
    _reporter = reporter or _silent


def report(stage: str, done: int, total: int) -> None:
    _reporter(stage, done, total)
