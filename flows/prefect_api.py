"""The one check that Prefect's API is there before a flow runs: the configured server, or else
Prefect's temporary one, started now."""

from __future__ import annotations

import os

from configuration.errors import PanelError
from configuration.library_defaults import apply_offline_defaults


def start_prefect() -> None:
    """Make sure Prefect's API answers before a flow runs: the configured server
    (``PREFECT_API_URL``), or else Prefect's temporary one, started now. Either failing is one
    clear ``PanelError`` rather than a failure deep inside the first flow."""
    apply_offline_defaults()
    # Deferred: the CLI imports this module at start-up, and Prefect's import costs seconds
    # (after the offline defaults, which it reads when imported).
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
