"""The review app: ``create_app`` wires the store, the pages and the security around them.

Every response carries security headers (a strict Content-Security-Policy: scripts and styles
from this app only, no framing), and pages with candidate data are never cached.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from configuration.settings import load_settings
from http_security.headers import SecurityHeaders
from review import auth, candidates, deciding, errors, referrals, studies
from store.panel_store import PanelStore

HERE = Path(__file__).parent


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
    app.include_router(referrals.router)

    errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    def health() -> HTMLResponse:
        return HTMLResponse("ok")

    return app
