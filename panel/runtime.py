"""Defaults for the libraries panelmatch runs on: offline, quiet on the console, and patient
with a busy machine. And the one check that Prefect's API is there before a flow runs.

Applied before Prefect or Great Expectations is imported; anything set in the environment
already wins (``PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL=INFO panel ingest ...`` shows Prefect's log).
"""

from __future__ import annotations

import os

from schemas.errors import PanelError

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


def start_prefect() -> None:
    """Make sure Prefect's API answers before a flow runs: the configured server
    (``PREFECT_API_URL``), or else Prefect's temporary one, started now. Either failing is one
    clear ``PanelError`` rather than a failure deep inside the first flow."""
    apply_offline_defaults()
    import httpx
    from prefect.settings import get_current_settings

    api = get_current_settings().api.url
    if api:
        try:
            httpx.get(f"{api.rstrip('/')}/health", timeout=30).raise_for_status()
        except httpx.HTTPError:
            raise PanelError(
                f"the Prefect server at {api} (PREFECT_API_URL) does not answer; start it "
                "(prefect server start) or unset PREFECT_API_URL to use a temporary one"
            ) from None
        return
    from prefect.server.api.server import SubprocessASGIServer

    try:
        SubprocessASGIServer().start()  # the instance Prefect's client then uses
    except Exception:
        timeout = os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"]
        raise PanelError(
            f"Prefect's temporary server did not start (waited {timeout} s of Prefect's "
            "counting): raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or run a Prefect "
            "server and set PREFECT_API_URL"
        ) from None
