"""``panel`` commands as real processes of their own (each in a session of its own, so its
process group is exactly what it started), for tests that run two at once or kill one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PANEL = Path(sys.executable).parent / "panel"


def start_panel(*args: str | Path, api_url: str) -> subprocess.Popen[str]:
    """``panel ARGS`` with this test's ``PANEL_*`` environment, reporting to ``api_url``."""
    return subprocess.Popen(
        [str(PANEL), *map(str, args)],
        env=os.environ | {"PREFECT_API_URL": api_url, "PANEL_DEBUG": ""},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def run_panel(*args: str | Path, api_url: str, timeout: float = 300) -> tuple[int, str, str]:
    process = start_panel(*args, api_url=api_url)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def group_members(group: int) -> list[int]:
    """The live processes of a process group (zombies, already ended, are not counted)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # it ended while we looked
            continue
        state, process_group = fields[0], int(fields[2])
        if process_group == group and state != "Z":
            members.append(int(entry.name))
    return members


def wait_until(condition: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
