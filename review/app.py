"""The review app: ``create_app`` wires the store, the pages and the security around them.

Every response carries security headers (a strict Content-Security-Policy: scripts and styles
from this app only, no framing), and pages with candidate data are never cached.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from review import auth, candidates, studies
from review.templating import templates
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


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response


def create_app(store: PanelStore | None = None, *, secure_cookies: bool = True) -> FastAPI:
    """The app on ``store`` (default: the configured one). ``secure_cookies=False`` only for
    plain HTTP on another host than localhost (browsers keep Secure cookies on localhost)."""
    app = FastAPI(title="panelmatch review", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.store = store or PanelStore.open()
    app.state.secure_cookies = secure_cookies
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(auth.router)
    app.include_router(studies.router)
    app.include_router(candidates.router)

    @app.exception_handler(StarletteHTTPException)
    async def error_page(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 401:
            return auth.to_login(request)
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": error.status_code, "message": error.detail, "session": None},
            status_code=error.status_code,
        )

    @app.get("/healthz", include_in_schema=False)
    def health() -> HTMLResponse:
        return HTMLResponse("ok")

    return app
