"""Every error the review app answers, as its own page: never FastAPI's raw JSON, never a
traceback. A request without a live session goes to the login, and back to the page it
came from (a form's page, for a form sent after the session ended: the browser keeps what
was typed, ``static/drafts.js``). A denied look at a study or candidate is written to the
access log, like every view."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from review.auth import SESSION_COOKIE, act_of
from review.templating import templates
from schemas.review import VOLUNTEER_ID
from store import decisions, review_users
from store.panel_store import PanelStore

log = logging.getLogger(__name__)

#: The study, and the candidate, an address under /studies/ names.
_STUDY_ADDRESS = re.compile(r"^/studies/([^/?]{1,64})(?:/candidates/([^/?]+))?")


def install(app: FastAPI) -> None:
    """Register the app's error pages."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 401:
            target = form_page(request) if request.method == "POST" else _address(request)
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        if error.status_code in (403, 404):
            await run_in_threadpool(_log_denied, request, error.status_code)
        return error_page(request, error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        fields = sorted({str(e["loc"][-1]) for e in error.errors() if e.get("loc")})
        return error_page(
            request,
            400,
            "This request is missing something or has a value that is not valid"
            + (f" ({', '.join(fields)})" if fields else "")
            + ". Nothing was saved; go back and try again.",
        )

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        # The class and text of an exception may quote data: only where it happened is logged.
        log.error("the review app failed at %s %s", request.method, request.url.path)
        return error_page(request, 500, "Something went wrong on our side; nothing was saved.")


def error_page(request: Request, status: int, message: str) -> Response:
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "session": None},
        status_code=status,
    )


def form_page(request: Request) -> str:
    """The page a form posted to this address is on, with the same selection."""
    path = request.url.path
    if path.endswith("/decision"):
        path = path.removesuffix("/decision")
    elif path.endswith("/candidates-bulk"):
        path = path.removesuffix("-bulk")
    else:
        path = "/"
    return path + (f"?{request.url.query}" if request.url.query and path != "/" else "")


def _address(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _log_denied(request: Request, status: int) -> None:
    """A logged-in user's refused look at a study or candidate, in the access log."""
    found = _STUDY_ADDRESS.match(request.url.path)
    token = request.cookies.get(SESSION_COOKIE)
    if found is None or token is None:
        return
    study_id, volunteer_id = found.groups()
    if volunteer_id is not None and not re.fullmatch(VOLUNTEER_ID, volunteer_id):
        volunteer_id = None
    store: PanelStore = request.app.state.store
    with store.reading() as connection:
        session = review_users.find_session(connection, token)
        if session is None:
            return
        with store.writer_turn():
            decisions.log_access(
                connection, act_of(session.session), study_id, "denied", volunteer_id,
                f"{status} {request.method} {request.url.path}"[:500],
            )  # fmt: skip
            connection.commit()
