"""Working a candidate list: the filtered, sorted, paginated list; one candidate with every
criterion's outcome and evidence and the decision history; decisions one at a time or in
bulk; and the export. Pseudonymous throughout: no name, e-mail or phone is ever read here.

Every route checks that the user may review this study, and every candidate is looked up
within the study (a volunteer id of another study is "not found"). Each view of a list, a
candidate or an export is written to the access log.
"""

from __future__ import annotations

import io
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Connection

from panel.candidate_export import candidate_table, write_csv, write_xlsx
from review import criteria_view
from review.auth import Checked, LoggedIn, Reads, in_turn, now, off_the_loop, writing
from review.studies import NOT_GRANTED, visible_study
from review.templating import templates
from schemas.review import Action, CandidateQuery
from store import candidate_list, decisions, invitations
from store.review_users import Session, User
from store.studies import StudySummary, definition_at

router = APIRouter(prefix="/studies/{study_id}")
NO_CANDIDATE = "No such candidate on this study's list."


def reviewable_study(connection: Connection, user: User, study_id: str) -> StudySummary:
    study = visible_study(connection, user, study_id)
    _may_review(user, study_id)
    return study


def _may_review(user: User, study_id: str) -> None:
    """404 for a study not granted (as ``visible_study``), 403 for a researcher."""
    if not user.may_see(study_id):
        raise HTTPException(404, NOT_GRANTED)
    if not user.may_review(study_id):
        raise HTTPException(403, "Researchers see funnels and counts, not candidates.")


def _query(values: dict[str, str]) -> CandidateQuery:
    try:
        return CandidateQuery.model_validate(values)
    except ValidationError as problem:
        where = ", ".join(str(e["loc"][0]) for e in problem.errors() if e["loc"])
        raise HTTPException(400, f"These filters are not valid: {where}.") from None


@router.get("/candidates")
async def list_page(
    request: Request, study_id: str, session: LoggedIn, connection: Reads
) -> Response:
    study = reviewable_study(connection, session.user, study_id)
    query = _query(dict(request.query_params))
    page = candidate_list.candidate_page(connection, study_id, query, study.list_revision)
    definition = definition_at(connection, study_id, study.version)
    await off_the_loop(
        connection, _log, connection, session, study_id, "candidate list",
        detail=str(request.url.query),
    )  # fmt: skip
    criteria = [(c.id, c.label) for c in definition.criteria()] if definition else []
    partial = request.headers.get("HX-Request") == "true"
    return templates.TemplateResponse(
        request,
        "candidate_table.html" if partial else "candidates.html",
        {
            "session": session,
            "study": study,
            "page": page,
            "query": query,
            "criteria": criteria,
            "filters": _without(request, "page", "after", "before"),
            "unsorted": _without(request, "page", "after", "before", "sort", "descending"),
            "message": _done(request),
        },
    )


@router.get("/candidates.{kind}")
def export(
    request: Request, study_id: str, kind: str, session: LoggedIn, connection: Reads
) -> Response:
    reviewable_study(connection, session.user, study_id)
    if kind not in ("csv", "xlsx"):
        raise HTTPException(404, "Exports are CSV or XLSX.")
    query = _query(dict(request.query_params))
    table = candidate_table(candidate_list.export_frame(connection, study_id, query))
    _log(connection, session, study_id, f"export {kind}", detail=str(request.url.query))
    body = io.BytesIO()
    if kind == "csv":
        write_csv(table, body)
        media = "text/csv; charset=utf-8"
    else:
        write_xlsx(table, body, study_id)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(
        body.getvalue(),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{study_id}-candidates.{kind}"'},
    )


@router.get("/candidates/{volunteer_id}")
async def candidate_detail(
    request: Request, study_id: str, volunteer_id: str, session: LoggedIn, connection: Reads
) -> Response:
    return await off_the_loop(  # (it writes the access log)
        connection, _detail, request, connection, study_id, volunteer_id, session, _done(request)
    )


@router.post("/candidates/{volunteer_id}/decision")
async def decide(
    request: Request,
    study_id: str,
    volunteer_id: str,
    session: Checked,
    connection: Reads,
    action: Annotated[str, Form()],
    seen_version: Annotated[int | None, Form()] = None,
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    _may_review(session.user, study_id)  # the study itself is only read if this fails
    if action not in {a.value for a in Action}:
        raise HTTPException(400, "Choose approve, reject, defer or note.")
    current = candidate_list.candidate(connection, study_id, volunteer_id)
    if current is None:
        raise HTTPException(404, NO_CANDIDATE)
    try:
        await in_turn(
            connection,
            lambda c: decisions.decide(
                c, study_id, volunteer_id, Action(action), actor=session.user.email,
                now=now(), seen_version=seen_version, reason=reason or None, note=note or None,
                current=current,
            ),
        )  # fmt: skip
    except decisions.DecisionConflict as conflict:
        problem, status = (
            f"Not saved: someone else decided first. {volunteer_id} is now "
            f"{conflict.current.review_state}; here is the current state.",
            409,
        )
    except decisions.DecisionRefused as refusal:
        problem, status = f"Not saved: {refusal}.", 422
    else:
        return RedirectResponse(
            f"/studies/{study_id}/candidates/{volunteer_id}?done={_said(action)}",
            status_code=303,
        )
    return await off_the_loop(
        connection, _detail, request, connection, study_id, volunteer_id, session, None,
        problem, status,
    )  # fmt: skip


@router.post("/candidates-bulk")
def decide_in_bulk(
    request: Request,
    study_id: str,
    session: Checked,
    connection: Reads,
    action: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    state: Annotated[str, Form()] = "",
    region: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    age_min: Annotated[str, Form()] = "",
    age_max: Annotated[str, Form()] = "",
    screen: Annotated[str, Form()] = "",
) -> Response:
    reviewable_study(connection, session.user, study_id)
    if action not in (Action.APPROVE, Action.REJECT, Action.DEFER):
        raise HTTPException(400, "Choose approve, reject or defer.")
    fields = {
        "status": status, "state": state, "region": region, "sex": sex,
        "age_min": age_min, "age_max": age_max, "screen": screen,
    }  # fmt: skip
    query = _query(fields)
    with writing(connection):
        try:
            result = decisions.decide_all(
                connection, study_id, query, Action(action), actor=session.user.email,
                now=now(), reason=reason, note=note,
            )  # fmt: skip
        except decisions.DecisionRefused as refusal:
            raise HTTPException(422, f"Nothing saved: {refusal}.") from None
    skipped = "; ".join(f"{n} {why}" for why, n in result.skipped.items())
    message = f"{_said(action)} {result.decided}" + (f" (left alone: {skipped})" if skipped else "")
    kept = {k: v for k, v in fields.items() if v}
    target = f"/studies/{study_id}/candidates?{urlencode(kept | {'done': message})}"
    return RedirectResponse(target, status_code=303)


def _detail(
    request: Request,
    connection: Connection,
    study_id: str,
    volunteer_id: str,
    session: Session,
    message: str | None,
    problem: str | None = None,
    status: int = 200,
) -> Response:
    study = reviewable_study(connection, session.user, study_id)
    row = candidate_list.candidate(connection, study_id, volunteer_id)
    if row is None:
        raise HTTPException(404, NO_CANDIDATE)
    explanation = candidate_list.explanation(connection, study_id, volunteer_id)
    history = decisions.history(connection, study_id, volunteer_id)
    outreach = invitations.outreach_of(connection, study_id, volunteer_id)
    definition = definition_at(connection, study_id, row.study_version)
    _log(connection, session, study_id, "candidate", volunteer_id)
    return templates.TemplateResponse(
        request,
        "candidate.html",
        {
            "session": session,
            "study": study,
            "row": row,
            "criteria_view": criteria_view.build(definition, explanation, row.unknown_criteria),
            "history": history,
            "outreach": outreach,
            "message": message,
            "problem": problem,
        },
        status_code=status,
    )


def _log(
    connection: Connection,
    session: Session,
    study_id: str,
    what: str,
    volunteer_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Who viewed what, written before the page is sent (GDPR accountability)."""
    with writing(connection):
        decisions.log_access(
            connection, session.user.email, study_id, what, now(), volunteer_id, detail or None
        )


#: What a redirect after a decision may say (nothing else from an address is shown: a
#: crafted link cannot put words on the page).
_DONE = re.compile(r"(approved|rejected|deferred|noted)( [0-9]+( \(left alone: [a-z0-9 ,;]+\))?)?")


def _done(request: Request) -> str | None:
    said = request.query_params.get("done")
    return said if said and _DONE.fullmatch(said) else None


def _said(action: str) -> str:
    return {"approve": "approved", "reject": "rejected", "defer": "deferred"}.get(action, "noted")


def _without(request: Request, *names: str) -> str:
    """The address's filters, without ``names`` (for links that change them)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in (*names, "done")]
    return urlencode([(k, v) for k, v in kept if v])
