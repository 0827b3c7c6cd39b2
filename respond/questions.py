"""``/svar/<token>/spoergsmaal``: the answers to the screening questions of a yes.

Every question must be answered (a radio button of its options; the form marks each one
required, and the page asks again, keeping what was chosen, for any left out). The answers
are recorded for this study only and evaluated with the study's own criteria
(``store.answers.answer_questions``): met or still unknown refers the yes, not met thanks
the volunteer without naming why. They can be changed until the study team has taken the
referral; after that the page says so and changes nothing.

A token that leads nowhere gets the neutral page after the same queries as on the page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from respond.errors import FormRefused
from respond.invited import Question, Questions, questions
from respond.pages import (
    FINAL,
    REFUSED,
    Limited,
    form_tokens,
    neutral_page,
    now,
    opened,
    page,
    store_of,
    thanks,
)
from schemas.study import AnswerOption
from store import answers
from store.answers import Answer, AnswerIsFinal

router = APIRouter()

#: Where the questions' form is sent, under the page's own address.
QUESTIONS_PATH = "spoergsmaal"
#: What the page says when a question was left unanswered.
ANSWER_EVERY_QUESTION = "Svar på alle spørgsmålene, før du sender dem."
#: What it says when the answer is no longer a yes (changed in another window, say).
NOT_A_YES = "Du har ikke svaret ja, så der er ingen spørgsmål at svare på."


async def sent_fields(request: Request) -> dict[str, str]:
    """The form's fields as text (the questions' names are the study's, not fixed)."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


@router.post(f"/svar/{{token}}/{QUESTIONS_PATH}")
def answer_questions(
    request: Request,
    token: str,
    _: Limited,
    fields: Annotated[dict[str, str], Depends(sent_fields)],
) -> Response:
    if not form_tokens(request).valid(token, fields.get("form_token", "")):
        raise FormRefused
    store = store_of(request)
    with store.writer_turn(), store.writing() as connection:
        if (working := opened(connection, token)) is None:
            return neutral_page(request)
        found, shown = working
        asked = questions(connection, found, shown.standing)
        if asked is None:
            return page(request, token, shown, asked, notice=NOT_A_YES, status_code=REFUSED)
        if shown.standing.final:
            return page(request, token, shown, asked, notice=FINAL, status_code=REFUSED)
        sent = [Question(each.asked, chosen_position(each, fields)) for each in asked.shown]
        if any(each.chosen is None for each in sent):
            missing = frozenset(each.field for each in sent if each.chosen is None)
            again = Questions(asked.screening, sent)
            return page(
                request, token, shown, again,
                notice=ANSWER_EVERY_QUESTION, missing=missing, status_code=400,
            )  # fmt: skip
        given = {each.asked.criterion_id: option_of(each) for each in sent}
        try:
            screening = answers.answer_questions(connection, found, asked.screening, given, now())
        except AnswerIsFinal:  # taken a moment ago, by the study team
            return page(request, token, shown, asked, notice=FINAL, status_code=REFUSED)
    return thanks(request, token, Answer.YES, screening, changed=Answer.YES)


def chosen_position(question: Question, fields: dict[str, str]) -> int | None:
    """The position of the option chosen for ``question`` (None: none, or not one of its)."""
    positions = {
        str(position): position for position in range(len(question.asked.question.answers))
    }
    return positions.get(fields.get(question.field, ""))


def option_of(question: Question) -> AnswerOption:
    assert question.chosen is not None
    return question.asked.question.answers[question.chosen]
