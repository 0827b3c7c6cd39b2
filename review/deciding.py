"""Deciding on candidates: one at a time from the candidate page, or in bulk for a list's
whole selection, by intent only.

A bulk decision is asked first and then confirmed: the first post shows what would happen in
numbers ("approve 12: 10 eligible, 2 needing screening on 4 criteria"), and only its
confirmation, naming exactly that selection, decides. Approving someone who needs screening is
a choice of its own (``approve-unscreened``), offered only where the study file allows it.
Whatever is refused comes back with what was typed; the selection travels in the address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from review.auth import Checked, Reads, act_of, in_turn, off_the_loop, writing
from review.candidates import (
    NO_CANDIDATE,
    candidate_response,
    check_may_review,
    list_response,
    log_view,
    reviewable_study,
    said,
)
from review.list_address import list_query, selection_address, with_address
from review.templating import templates
from schemas.review import Action, CandidateQuery
from store import candidate_list, decisions
from store.review_users import Session
from store.studies import StudySummary

router = APIRouter(prefix="/studies/{study_id}")

#: The form's word for approving someone who needs screening, knowingly.
APPROVE_UNSCREENED = "approve-unscreened"
#: What each choice of the forms means: the action, and whether unknowns are accepted.
CHOICES = {
    **{action.value: (action, False) for action in Action},
    APPROVE_UNSCREENED: (Action.APPROVE, True),
}

Words = Annotated[str, Form()]


@router.post("/candidates/{volunteer_id}/decision")
async def decide(
    request: Request,
    study_id: str,
    volunteer_id: str,
    session: Checked,
    connection: Reads,
    action: Words = "",
    seen_version: Annotated[int | None, Form()] = None,
    reason: Words = "",
    note: Words = "",
) -> Response:
    check_may_review(session.user, study_id)  # the study itself is only read if this fails
    typed = {"action": action, "reason": reason, "note": note}
    choice = CHOICES.get(action)
    current = candidate_list.candidate(connection, study_id, volunteer_id)
    if current is None:
        raise HTTPException(404, NO_CANDIDATE)
    if choice is None:
        problem, status = "Not saved: choose approve, defer, reject or add a note.", 422
    else:
        try:
            await in_turn(
                connection,
                lambda c: decisions.decide(
                    c, study_id, volunteer_id, choice[0], act=act_of(session),
                    seen_version=seen_version, reason=reason or None,
                    note=note or None, current=current, unscreened=choice[1],
                ),
            )  # fmt: skip
        except decisions.DecisionConflict as conflict:
            problem, status = (
                f"Not saved: someone else decided first. {volunteer_id} is now "
                f"{conflict.current.review_state}; here is the current state, with what you "
                "typed.",
                409,
            )
        except decisions.DecisionRefused as refusal:
            problem, status = f"Not saved: {refusal}.", 422
        else:
            address = selection_address(list_query(request))
            target = f"/studies/{study_id}/candidates/{volunteer_id}"
            return RedirectResponse(
                with_address(target, address, done=said(choice[0])), status_code=303
            )
    return await off_the_loop(
        connection, candidate_response, request, connection, study_id, volunteer_id, session, None,
        problem, status, typed,
    )  # fmt: skip


@router.post("/candidates-bulk")
def decide_in_bulk(
    request: Request,
    study_id: str,
    session: Checked,
    connection: Reads,
    action: Words = "",
    reason: Words = "",
    note: Words = "",
    confirm: Words = "",
    back: Words = "",
) -> Response:
    """Without ``confirm``: what would happen, to confirm. With it (the digest shown): the
    decisions, unless the selection changed since, which is then shown again. ``back``: the
    list again, with the form as it was filled in."""
    study = reviewable_study(connection, session.user, study_id)
    query = list_query(request)
    typed = {"action": action, "reason": reason, "note": note}
    if back:
        log_view(connection, session, study_id, "candidate list", detail=str(request.url.query))
        return list_response(request, connection, session, study, query, typed=typed)
    choice = CHOICES.get(action)
    if choice is None or choice[0] is Action.NOTE:
        return _refused(request, connection, session, study, query, typed, "choose a decision")
    what, unscreened = choice

    def preview() -> decisions.BulkPreview:
        return decisions.preview_all(
            connection, study_id, query, what, reason=reason or None, note=note or None,
            unscreened=unscreened,
        )  # fmt: skip

    try:
        if not confirm:
            return _confirmation(request, session, study, query, typed, preview())
        with writing(connection):
            result = decisions.decide_all(
                connection, study_id, query, what, act=act_of(session), reason=reason or None,
                note=note or None, unscreened=unscreened,
                confirmed=confirm,
            )  # fmt: skip
    except decisions.SelectionChanged as changed:
        return _confirmation(request, session, study, query, typed, preview(), f"{changed}.")
    except decisions.DecisionRefused as refusal:
        return _refused(request, connection, session, study, query, typed, str(refusal))
    skipped = "; ".join(f"{n} {why}" for why, n in result.skipped.items())
    message = f"{said(what)} {result.decided}" + (f" (left alone: {skipped})" if skipped else "")
    target = with_address(f"/studies/{study_id}/candidates", selection_address(query), done=message)
    return RedirectResponse(target, status_code=303)


def _confirmation(
    request: Request,
    session: Session,
    study: StudySummary,
    query: CandidateQuery,
    typed: dict[str, str],
    preview: decisions.BulkPreview,
    problem: str | None = None,
) -> Response:
    address = selection_address(query)
    return templates.TemplateResponse(
        request,
        "bulk_confirm.html",
        {
            "session": session,
            "study": study,
            "typed": typed,
            "preview": preview,
            "problem": problem,
            "action_url": with_address(f"/studies/{study.study_id}/candidates-bulk", address),
            "back": with_address(f"/studies/{study.study_id}/candidates", address),
        },
    )


def _refused(
    request: Request,
    connection: Connection,
    session: Session,
    study: StudySummary,
    query: CandidateQuery,
    typed: dict[str, str],
    why: str,
) -> Response:
    """The list again, with the selection and what was typed, saying why nothing was done."""
    log_view(connection, session, study.study_id, "candidate list", detail=str(request.url.query))
    return list_response(
        request, connection, session, study, query,
        problem=f"Nothing decided: {why}.", typed=typed, status=422,
    )  # fmt: skip
