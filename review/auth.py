"""Logging in and out, the session behind every page, and CSRF protection of every form.

The session cookie holds a random token (HttpOnly, Secure, SameSite=Strict); the store keeps
only its hash. Every state-changing request carries the session's CSRF token (a hidden form
field, or the ``X-CSRF-Token`` header htmx sends); the login form, before any session, is
protected by a double-submit cookie.

Every refused login gets one answer, in one time: an unknown e-mail, a wrong password, a
disabled account, an e-mail or password longer than allowed, and a login refused by a limit
(``store.review_users.login_limit``) all run argon2 once and answer 401 with the same page,
only the fresh form token differing; the store records which it was.

Where the work runs. A page is a few short queries and a template, so ``async def`` routes
run it on the event loop, one request at a time in each worker process, as a pre-fork
server's sync worker would: in threads, the same pages cost twice the CPU under load, the
threads fighting over the GIL. Anything slow (argon2, whole-list exports, bulk decisions)
is a plain ``def`` route and runs in the thread pool. Each request reads and writes through
one connection (``reading``, ``writing``).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, ParamSpec, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from review import passwords
from review.templating import templates
from schemas.act import Act
from schemas.review import LOGIN_WINDOW_MINUTES, MAX_EMAIL_LENGTH, MAX_PASSWORD_LENGTH
from store import review_users
from store.database import writer_turn
from store.panel_store import PanelStore
from store.review_users import Outcome, Session

T = TypeVar("T")
P = ParamSpec("P")

router = APIRouter()
SESSION_COOKIE = "panel_session"
LOGIN_COOKIE = "panel_login_csrf"
#: The one answer to every refused login (it says nothing of which check refused it).
REFUSED = (
    "Wrong e-mail or password, or too many tries from here: "
    f"wait {LOGIN_WINDOW_MINUTES} minutes and try again."
)


def now() -> datetime:
    return datetime.now(UTC)


def act_of(session: Session) -> Act:
    """What the session's user does now: who and when, for the record."""
    return Act(session.user.email, now())


def store_of(request: Request) -> PanelStore:
    store: PanelStore = request.app.state.store
    return store


async def reading(request: Request) -> AsyncIterator[Connection]:
    """The request's one connection. Whatever it read is committed at the end, not rolled
    back: on PostgreSQL a rollback makes psycopg drop every statement it had prepared, and
    each request would parse and plan its queries anew."""
    with store_of(request).reading() as connection:
        yield connection
        connection.commit()


@contextmanager
def writing(connection: Connection) -> Iterator[Connection]:
    """A short write on the request's connection, committed at once (with what it read
    before); on SQLite, in its turn among the writers (``store.database.writer_turn``): an
    ingest storing a big file lets it in between two of its parts."""
    with writer_turn(connection.engine):
        try:
            yield connection
        except BaseException:
            connection.rollback()
            raise
        connection.commit()


async def in_turn(connection: Connection, write: Callable[[Connection], T]) -> T:
    """``write(connection)`` inside ``writing``, from a handler on the event loop (see
    ``off_the_loop``)."""

    def written() -> T:
        with writing(connection):
            return write(connection)

    return await off_the_loop(connection, written)


async def off_the_loop(
    connection: Connection, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``work(*args, **kwargs)``, which writes on ``connection``, called from a handler on
    the event loop. On SQLite in a worker thread, so that while the write waits for its turn
    (an ingest's part, at most) the process goes on serving every other request. Elsewhere
    (PostgreSQL: nothing the app writes waits for an ingest) right here: a thread per request
    cost twice the CPU a request (threads contend for the GIL) and halved the throughput."""
    if connection.dialect.name == "sqlite":
        return await run_in_threadpool(work, *args, **kwargs)
    return work(*args, **kwargs)


Reads = Annotated[Connection, Depends(reading)]


async def current_session(request: Request, connection: Reads) -> Session:
    """The logged-in session, or 401 (which the app turns into a redirect to the login)."""
    token = request.cookies.get(SESSION_COOKIE)
    found = review_users.find_session(connection, token) if token else None
    if token is None or found is None:
        raise HTTPException(401)
    moment = now()
    if found.expired(moment):
        await in_turn(connection, lambda c: review_users.end_session(c, token))
        raise HTTPException(401)
    if found.due_keep_alive(moment):
        await in_turn(connection, lambda c: review_users.keep_alive(c, token, moment))
    return found.session


async def csrf_checked(
    request: Request, session: Annotated[Session, Depends(current_session)]
) -> Session:
    """The session, for a request that changes something and proves it comes from our page."""
    sent = request.headers.get("X-CSRF-Token")
    if sent is None:
        form = await request.form()
        sent = str(form.get("csrf_token", ""))
    if not secrets.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise HTTPException(403, "This form has expired or did not come from this app; reload.")
    return session


LoggedIn = Annotated[Session, Depends(current_session)]
Checked = Annotated[Session, Depends(csrf_checked)]


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    return _login_form(request, next, None)


@router.post("/login")
def login(
    request: Request,
    connection: Reads,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
        return _login_form(request, next, "The login form expired; please try again.", 403)
    moment = now()
    client = client_address(request)
    too_long = len(email) > MAX_EMAIL_LENGTH or len(password) > MAX_PASSWORD_LENGTH
    account = review_users.login_account(connection, email)
    forgiven = account.failures_forgiven_at if account else None
    limit = review_users.login_limit(connection, email, client, moment, forgiven)
    connection.commit()  # argon2 below takes tens of milliseconds, on purpose: no transaction
    # Whatever refuses the login, argon2 runs once (``passwords.verify``): no time tells why.
    matches = passwords.verify(account.password_hash if account else None, password)
    outcome = limit or _verdict(account, too_long=too_long, matches=matches)
    if outcome is not Outcome.LOGGED_IN or account is None:
        with writing(connection):
            review_users.record_attempt(connection, email, client, outcome, moment)
        return _login_form(request, next, REFUSED, 401)
    fresh_hash = (
        passwords.hash_password(password) if passwords.needs_rehash(account.password_hash) else None
    )
    with writing(connection):
        if fresh_hash:
            review_users.store_rehashed_password(connection, account.user_id, fresh_hash)
        token = review_users.start_session(connection, account.user_id, moment)
        review_users.record_attempt(connection, email, client, outcome, moment)
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_cookie(request, response, SESSION_COOKIE, token)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, session: Checked, connection: Reads) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    await in_turn(connection, lambda c: review_users.end_session(c, token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _verdict(
    account: review_users.LoginAccount | None, *, too_long: bool, matches: bool
) -> Outcome:
    """How a login within the limits ends."""
    if too_long:
        return Outcome.TOO_LONG
    if account is None:
        return Outcome.UNKNOWN_EMAIL
    if account.disabled:
        return Outcome.DISABLED
    return Outcome.LOGGED_IN if matches else Outcome.WRONG_PASSWORD


def client_address(request: Request) -> str:
    """The client's address as the server sees it: behind a reverse proxy, what uvicorn's
    proxy-headers handling makes of ``X-Forwarded-For`` from the addresses it trusts
    (``--forwarded-allow-ips``)."""
    return request.client.host if request.client else "unknown"


def _login_form(request: Request, next: str, message: str | None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "session": None,
            "next": _safe_next(next),
            "message": message,
            "csrf_token": token,
            "max_email": MAX_EMAIL_LENGTH,
            "max_password": MAX_PASSWORD_LENGTH,
        },
        status_code=status,
    )
    _set_cookie(request, response, LOGIN_COOKIE, token)
    return response


def _set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """Out of reach of scripts, sent over HTTPS only, and never on requests from elsewhere."""
    response.set_cookie(
        name, value, httponly=True, secure=request.app.state.secure_cookies, samesite="strict"
    )


def _safe_next(target: str) -> str:
    """Only a path of this app (no other site, no scheme-relative //host)."""
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target
