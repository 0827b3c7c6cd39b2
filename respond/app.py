"""The answer page's app: ``create_app`` wires the store, the one page, rate limiting and the
security headers. It has no login and no route but ``/svar/<token>``, the form of its
screening questions (``/svar/<token>/spoergsmaal``) and its stylesheet: no coordinator page
is reachable from it.

Its security headers are the review app's, from ``http_security.headers``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from configuration.settings import load_settings
from http_security.headers import SecurityHeaders
from respond import errors_pages, pages, questions
from respond.form_tokens import FormTokens
from respond.limits import RateLimit
from store.panel_store import PanelStore

HERE = Path(__file__).parent


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
    app.include_router(questions.router)
    errors_pages.install(app)
    return app
