"""The inbox folder a scheduled cycle picks exports up from, and where they go afterwards.

Every regular file in the inbox (hidden files and the reasons written here aside) is an
export to ingest, taken in name order: the form's exports are named by date, so that is the
order they were made in. After its ingest a file moves to the processed folder; a refused
one moves to the rejected folder with ``<name>.reason.txt`` next to it, saying why. A file
never goes back to the inbox, so a cycle never sees the same file twice, and nothing is
deleted: the store keeps its own copy of every accepted export (``store.archive``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

REASON_SUFFIX = ".reason.txt"


def waiting(inbox: Path) -> list[Path]:
    """The exports waiting in ``inbox``, in name order (none if it does not exist)."""
    if not inbox.is_dir():
        return []
    return sorted(
        path
        for path in inbox.iterdir()
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(".part")
    )


def move_processed(path: Path, processed: Path, now: datetime) -> Path:
    return _move(path, processed, now)


def move_rejected(path: Path, rejected: Path, reasons: Iterable[str], now: datetime) -> Path:
    """Move a refused export to ``rejected``, with its reasons in a text file next to it."""
    moved = _move(path, rejected, now)
    reason = moved.with_name(moved.name + REASON_SUFFIX)
    lines = [f"{path.name} was refused at {now:%Y-%m-%d %H:%M:%S %Z}; nothing was stored.", ""]
    reason.write_text("\n".join([*lines, *reasons, ""]), encoding="utf-8")
    return moved


def _move(path: Path, folder: Path, now: datetime) -> Path:
    """Move ``path`` into ``folder`` under its own name, or, if that is taken (the same name
    again, a later day), with the time added before the suffix."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{now:%Y%m%dT%H%M%S%f}{path.suffix}"
    shutil.move(path, target)  # a rename on one file system; else copy, then delete
    return target
