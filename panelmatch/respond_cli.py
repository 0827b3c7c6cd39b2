"""``panel respond``: the answer page, where volunteers answer their invitations."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from panelmatch.command_base import open_store
from panelmatch.console import err, out


def respond(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
) -> None:
    """Start the answer page (default http://127.0.0.1:8001), where volunteers answer the
    links in their invitations (PANEL_PUBLIC_URL/svar/...). Serve it behind HTTPS at
    PANEL_PUBLIC_URL; it has no login and no coordinator page."""
    import uvicorn  # deferred: uvicorn only for this command

    open_store()  # migrated once, here, with one clear line if it cannot be opened
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:  # uvicorn would say so too, in a log line among others
            probe.bind((host, port))
        except OSError as error:
            err.print(f"[red]error:[/] cannot listen on {host}:{port}: {error.strerror}")
            raise typer.Exit(1) from None
    out.print(f"answer page on http://{host}:{port}/svar/... (Ctrl+C stops it)")
    # No access log: every address it would write holds a volunteer's token.
    uvicorn.run(
        "respond.app:create_app", factory=True, host=host, port=port,
        log_level="warning", access_log=False,
    )  # fmt: skip
