"""``/svar/<token>``: what the invitation said and the three answers; the answer, recorded,
and applied to the invitation's referral (``store.answers.give_answer``). After a yes, the
page asks the screening questions of the criteria that were unknown at the invitation
(``respond.questions`` takes the answers).

A token that leads nowhere (made up, mangled, expired, erased: ``store.answer_links``) gets
one neutral page, the same bytes and status whatever failed, after the same queries a valid
one costs (its study's definition and its answer are looked up for nothing). Nothing is
logged of a request: the address holds the token.

The first time a working link is opened, the invitation records when (the funnel's "opened
the page"): a small write, once per invitation, that a token leading nowhere never costs.
Which tokens work is plain from the page itself, so the write reveals nothing more; what
the neutral page must not reveal is why a token failed, and every failure costs the same.

Routes are plain ``def``: each is a few short queries, run in the thread pool.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from respond.errors import FormRefused
from respond.form_tokens import FormTokens
from respond.invited import Invited, Questions, invited, questions
from respond.templating import templates
from schemas.referral import Screening
from store import answers
from store.answer_links import AnsweringInvitation, find_invitation
from store.answers import Answer, AnswerIsFinal
from store.panel_store import PanelStore

router = APIRouter()

#: What the neutral page answers every token that leads nowhere.
NOT_FOUND = 404
#: What a change the page cannot make answers (the page, saying why): the answer is final.
REFUSED = 409

#: The three answers as the page offers them, in its order.
CHOICES = {
    Answer.YES: "Ja, jeg vil gerne høre mere",
    Answer.NO: "Nej tak",
    Answer.STOP: "Kontakt mig ikke igen",
}
#: What the page says when it refuses to change an answer the study team has taken.
FINAL = (
    "Projektet har allerede taget imod dit svar, så det kan ikke længere ændres her. "
    "Vil du ændre det, så skriv til projektet."
)


def limited(request: Request) -> None:
    """Spend one request of the client address's share (``respond.limits``)."""
    address = request.client.host if request.client else "unknown"
    request.app.state.rate_limit.take(address)


Limited = Annotated[None, Depends(limited)]


def store_of(request: Request) -> PanelStore:
    store: PanelStore = request.app.state.store
    return store


def form_tokens(request: Request) -> FormTokens:
    tokens: FormTokens = request.app.state.form_tokens
    return tokens


def now() -> datetime:
    return datetime.now(UTC)


def opened(connection: Connection, token: str) -> tuple[AnsweringInvitation, Invited] | None:
    """In a form's transaction: the invitation ``token`` leads to and what it said, its page
    marked opened; None for a token that leads nowhere (after the same queries)."""
    found = find_invitation(connection, token, now())
    shown = invited(connection, found)
    if found is None or shown is None:
        return None
    answers.mark_opened(connection, found.invitation_id, now())
    return found, shown


@router.get("/svar/{token}")
def answer_page(request: Request, token: str, _: Limited) -> Response:
    store = store_of(request)
    with store.reading() as connection:
        found = find_invitation(connection, token, now())
        shown = invited(connection, found)
        asked = questions(connection, found, shown.standing) if found and shown else None
    if found is None or shown is None:
        return neutral_page(request)
    if not shown.standing.opened:
        with store.writer_turn(), store.writing() as connection:
            answers.mark_opened(connection, found.invitation_id, now())
    return page(request, token, shown, asked)


@router.post("/svar/{token}")
def answer(
    request: Request,
    token: str,
    _: Limited,
    answer: Annotated[str, Form()] = "",
    form_token: Annotated[str, Form()] = "",
) -> Response:
    if not form_tokens(request).valid(token, form_token):
        raise FormRefused
    chosen = Answer(answer) if answer in set(Answer) else None
    store = store_of(request)
    # On SQLite, in its turn among the writers: an ingest storing a big file lets it in
    # between two of its parts (``store.database.writer_turn``).
    with store.writer_turn(), store.writing() as connection:
        if (working := opened(connection, token)) is None:
            return neutral_page(request)
        found, shown = working
        if chosen is None or shown.answer is Answer.STOP:
            # No choice made, or nothing left to change: the page again, as it stands.
            asked = questions(connection, found, shown.standing)
            return page(request, token, shown, asked, status_code=200 if chosen else 400)
        try:
            screening = answers.give_answer(connection, found, chosen, now())
        except AnswerIsFinal:
            asked = questions(connection, found, shown.standing)
            return page(request, token, shown, asked, notice=FINAL, status_code=REFUSED)
        if screening is Screening.ASKED:
            return _asked(request, connection, token, found)
    return thanks(request, token, chosen, screening, changed=shown.answer)


def _asked(
    request: Request, connection: Connection, token: str, found: AnsweringInvitation
) -> Response:
    """The page after a yes with questions to answer: the questions."""
    shown = invited(connection, found)
    assert shown is not None  # found a moment ago, in the same transaction
    return page(request, token, shown, questions(connection, found, shown.standing))


def page(
    request: Request,
    token: str,
    shown: Invited,
    asked: Questions | None,
    *,
    notice: str | None = None,
    missing: frozenset[str] = frozenset(),
    status_code: int = 200,
) -> Response:
    """The answer page: the invitation, where the answer stands, the questions of a yes (with
    ``missing`` naming the fields left unanswered), and the answers to choose from."""
    return templates.TemplateResponse(
        request,
        "answer.html",
        {
            "invited": shown,
            "standing": shown.standing,
            "questions": asked.shown if asked else [],
            "missing": missing,
            "notice": notice,
            "token": token,
            "form_token": form_tokens(request).for_page(token),
            "choices": CHOICES,
        },
        status_code=status_code,
    )


def thanks(
    request: Request,
    token: str,
    answer: Answer,
    screening: Screening | None,
    changed: Answer | None = None,
) -> Response:
    """The page after an answer: what it was, and what happens next."""
    return templates.TemplateResponse(
        request,
        "thanks.html",
        {
            "answer": answer,
            "screening": screening,
            "token": token,
            "choices": CHOICES,
            "changed": changed,
        },
    )


def neutral_page(request: Request) -> Response:
    """The one page for every token that leads nowhere: it says nothing of why."""
    return templates.TemplateResponse(request, "neutral.html", {}, status_code=NOT_FOUND)
