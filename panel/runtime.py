"""Defaults for the libraries panelmatch runs on: offline, and quiet on the console.

Applied before Prefect or Great Expectations is imported; anything set in the environment
already wins (``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO panel ingest ...`` shows Prefect's log).
"""

from __future__ import annotations

import os

OFFLINE_DEFAULTS = {
    # No analytics, no telemetry: the panel's machines may not phone home.
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    # Prefect's log goes to its server (the UI shows it); the console shows the CLI's own
    # summary, and only critical Prefect messages.
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
}


def apply_offline_defaults() -> None:
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
