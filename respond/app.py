"""The answer page's app: ``create_app`` wires the store, the one page, rate limiting and the
security headers. It has no login and no route but ``/svar/<token>`` (and its stylesheet): no
coordinator page is reachable from it.

The security headers are the review app's (``review.app``), written here once more because
the two apps sit side by side in one layer and neither imports the other;
``tests/test_respond_app.py`` holds them identical.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from configuration.settings import load_settings
from respond import errors_pages, pages
from respond.form_tokens import FormTokens
from respond.limits import RateLimit
from store.panel_store import PanelStore

HERE = Path(__file__).parent

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers as the response starts; nothing but the
    stylesheet may be cached; over HTTPS, HSTS for a year."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.static = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cached = scope["path"].startswith("/static/")
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *self.static]
                if not cached:
                    headers.append((b"cache-control", b"no-store"))
                if https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    store: PanelStore | None = None,
    *,
    pseudonym_key: bytes | None = None,
    rate_limit: RateLimit | None = None,
) -> FastAPI:
    """The app on ``store`` (default: the configured one); the form key derives from
    ``pseudonym_key`` (default: the configured one)."""
    app = FastAPI(title="panelmatch answers", docs_url=None, redoc_url=None, openapi_url=None)
    if store is None or pseudonym_key is None:
        settings = load_settings().store
        store = store or PanelStore.open(settings)
        pseudonym_key = pseudonym_key or settings.pseudonym_key_bytes()
    app.state.store = store
    app.state.form_tokens = FormTokens(pseudonym_key)
    app.state.rate_limit = rate_limit or RateLimit()
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(pages.router)
    errors_pages.install(app)
    return app
