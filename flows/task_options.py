"""How the flows' tasks that read or write the store or the disk are retried and timed out.

A database restarting or a file share hiccuping is worth two more tries, after 5 s and 30 s;
a wrong input is not (it fails the same way again), so only connection and I/O errors are
retried. Every step that may be retried is safe to run again: ingest recognises rows it has
stored, queueing never queues an invitation twice, and sending claims each one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError


def _transient(task: Any, task_run: Any, state: Any) -> bool:
    error = state.result(raise_on_failure=False)
    return isinstance(error, OSError | OperationalError | InterfaceError | DisconnectionError)


def retried_io(timeout_seconds: float) -> dict[str, Any]:
    """Task options: two retries on connection and I/O errors, and a time limit."""
    return {
        "retries": 2,
        "retry_delay_seconds": [5, 30],
        "retry_condition_fn": _transient,
        "timeout_seconds": timeout_seconds,
    }
