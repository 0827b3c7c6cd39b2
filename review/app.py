"""The review app: ``create_app`` wires the store, the pages and the security around them.

Every response carries security headers (a strict Content-Security-Policy: scripts and styles
from this app only, no framing), and pages with candidate data are never cached.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from configuration.settings import load_settings
from review import auth, candidates, deciding, errors, studies
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
    """Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a task and a stream per
    request): adds the headers as the response starts. Served over HTTPS, browsers are told
    to use nothing else for a year (HSTS); over plain HTTP the header would be ignored, and
    on localhost it would pin HTTPS on every other app served there."""

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


def create_app(store: PanelStore | None = None, *, secure_cookies: bool = True) -> FastAPI:
    """The app on ``store`` (default: the configured one). ``secure_cookies=False`` only for
    plain HTTP on another host than localhost (browsers keep Secure cookies on localhost)."""
    app = FastAPI(title="panelmatch review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store or PanelStore.open(load_settings().store)
    app.state.secure_cookies = secure_cookies
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router)
    app.include_router(studies.router)
    app.include_router(candidates.router)
    app.include_router(deciding.router)

    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    def health() -> HTMLResponse:
        return HTMLResponse("ok")

    return app
