"""Every error the answer page answers, as a Danish page: never FastAPI's JSON, never a
traceback. Nothing of the request is logged but where it failed (its address holds a token)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from respond.errors import FormRefused, TooManyRequests
from respond.pages import neutral_page
from respond.templating import templates

log = logging.getLogger(__name__)


def install(app: FastAPI) -> None:
    """Register the app's error pages."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return neutral_page(request)
        return error_page(request, error.status_code, "Siden kan ikke vises.")

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        return error_page(request, 400, "Svaret kunne ikke læses. Gå tilbage, og prøv igen.")

    @app.exception_handler(FormRefused)
    async def refused(request: Request, error: FormRefused) -> Response:
        return error_page(
            request,
            403,
            "Svaret kom ikke fra svarsiden, så det er ikke gemt. "
            "Åbn linket i din invitation igen, og svar dér.",
        )

    @app.exception_handler(TooManyRequests)
    async def too_many(request: Request, error: TooManyRequests) -> Response:
        response = error_page(
            request, 429, "Der er kommet for mange forespørgsler herfra. Vent lidt, og prøv igen."
        )
        response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.exception_handler(Exception)
    async def failed(request: Request, error: Exception) -> Response:
        # The path holds the token and an exception's text may quote data: the route only.
        log.error("the answer page failed at %s %s", request.method, _route(request))
        return error_page(request, 500, "Noget gik galt hos os. Dit svar er ikke gemt.")


def _route(request: Request) -> str:
    return "/svar/{token}" if request.url.path.startswith("/svar/") else "(another address)"


def error_page(request: Request, status: int, message: str) -> Response:
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message}, status_code=status
    )
