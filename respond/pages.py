"""``/svar/<token>``: what the invitation said and the three answers; the answer, recorded.

A token that leads nowhere (made up, mangled, expired, erased: ``store.answer_links``) gets
one neutral page, the same bytes and status whatever failed, after the same queries a valid
one costs (its study's definition and its answer are looked up for nothing). Nothing is
logged of a request: the address holds the token.

Routes are plain ``def``: each is a few short queries, run in the thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from outreach.sender import DEFAULT_TITLE
from respond.errors import FormRefused
from respond.form_tokens import FormTokens
from respond.templating import templates
from store import answers, studies
from store.answer_links import AnsweringInvitation, find_invitation
from store.answers import Answer
from store.panel_store import PanelStore

router = APIRouter()

#: What the neutral page answers every token that leads nowhere.
NOT_FOUND = 404
#: Looked up in place of a study and an invitation for a token that leads nowhere.
_NO_STUDY, _NO_INVITATION = "", -1

#: The three answers as the page offers them, in its order.
CHOICES = {
    Answer.YES: "Ja, jeg vil gerne høre mere",
    Answer.NO: "Nej tak",
    Answer.STOP: "Kontakt mig ikke igen",
}


def limited(request: Request) -> None:
    """Spend one request of the client address's share (``respond.limits``)."""
    address = request.client.host if request.client else "unknown"
    request.app.state.rate_limit.take(address)


Limited = Annotated[None, Depends(limited)]


@dataclass(frozen=True)
class Invited:
    """What a volunteer's invitation said, and what they answered so far."""

    organiser: str
    title: str
    involves: str | None
    answer: Answer | None


def _invited(connection: Connection, found: AnsweringInvitation | None) -> Invited | None:
    definition = studies.current_definition(connection, found.study_id if found else _NO_STUDY)
    answer = answers.current_answer(connection, found.invitation_id if found else _NO_INVITATION)
    if found is None or definition is None:
        return None
    contact = definition.contact
    title = contact.invitation_title or DEFAULT_TITLE
    return Invited(contact.organiser, title, contact.involves, answer)


def _store(request: Request) -> PanelStore:
    store: PanelStore = request.app.state.store
    return store


def _form_tokens(request: Request) -> FormTokens:
    tokens: FormTokens = request.app.state.form_tokens
    return tokens


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/svar/{token}")
def answer_page(request: Request, token: str, _: Limited) -> Response:
    with _store(request).reading() as connection:
        invited = _invited(connection, find_invitation(connection, token, _now()))
    if invited is None:
        return neutral_page(request)
    return _page(request, token, invited)


@router.post("/svar/{token}")
def answer(
    request: Request,
    token: str,
    _: Limited,
    answer: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    if not _form_tokens(request).valid(token, form_token):
        raise FormRefused
    chosen = Answer(answer) if answer in set(Answer) else None
    store = _store(request)
    # On SQLite, in its turn among the writers: an ingest storing a big file lets it in
    # between two of its parts (``store.database.writer_turn``).
    with store.writer_turn(), store.writing() as connection:
        found = find_invitation(connection, token, _now())
        invited = _invited(connection, found)
        if found is None or invited is None:
            return neutral_page(request)
        if chosen is None or invited.answer is Answer.STOP:
            # No choice made, or nothing left to change: the page again, as it stands.
            return _page(request, token, invited, status_code=200 if chosen else 400)
        answers.record_answer(connection, found, chosen, _now())
    return templates.TemplateResponse(
        request,
        "thanks.html",
        {"answer": chosen, "token": token, "choices": CHOICES, "changed": invited.answer},
    )


def _page(request: Request, token: str, invited: Invited, status_code: int = 200) -> Response:
    return templates.TemplateResponse(
        request,
        "answer.html",
        {
            "invited": invited,
            "token": token,
            "form_token": _form_tokens(request).for_page(token),
            "choices": CHOICES,
        },
        status_code=status_code,
    )


def neutral_page(request: Request) -> Response:
    """The one page for every token that leads nowhere: it says nothing of why."""
    return templates.TemplateResponse(request, "neutral.html", {}, status_code=NOT_FOUND)
