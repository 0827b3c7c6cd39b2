"""Defaults for the libraries panelmatch runs on: offline, quiet on the console, and patient
with a busy machine.

Applied before Prefect or Great Expectations is imported; anything set in the environment
already wins (``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO panel ingest ...`` shows Prefect's log).
"""

from __future__ import annotations

import os

#: How long Prefect may take to start its temporary server. Prefect counts only its own
#: pauses between health checks, so the wall-clock wait is longer still; its default (20)
#: failed the first command on a fresh machine with both cores busy, where starting took
#: 100 s. A server that truly cannot start is rare next to a machine that is busy.
EPHEMERAL_STARTUP_SECONDS = 300

OFFLINE_DEFAULTS = {
    # No analytics, no telemetry: the panel's machines may not phone home.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # Prefect's log goes to its server (the UI shows it); the console shows the CLI's own
    # summary, and only critical Prefect messages.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": str(EPHEMERAL_STARTUP_SECONDS),
}


def apply_offline_defaults() -> None:
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
