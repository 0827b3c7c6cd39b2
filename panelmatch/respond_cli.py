"""``panel respond``: the answer page, where volunteers answer their invitations."""

from __future__ import annotations

from typing import Annotated

import typer

from panelmatch.command_base import serve


def respond(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8001,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Worker processes (about one per CPU core); each keeps its own rate limits "
            "per address, so a proxy in front should limit too.",
        ),
    ] = 1,
) -> None:
    """Start the answer page (default http://127.0.0.1:8001), where volunteers answer the
    links in their invitations (PANEL_PUBLIC_URL/svar/...). Serve it behind HTTPS at
    PANEL_PUBLIC_URL; it has no login and no coordinator page."""
    serve("respond.app:create_app", host, port, workers, "answer page")
