"""Working a candidate list: the filtered, sorted, paginated list; one candidate with every
criterion's outcome and evidence, the decision history, the invitation and the neighbours in
the selection; and the export (deciding is ``review.deciding``). Pseudonymous throughout: no
name, e-mail, phone or identifier of the form is ever read here.

Every route checks that the user may review this study, and every candidate is looked up
within the study (a volunteer id of another study is "not found"). Each view of a list, a
candidate or an export is written to the access log.
"""

from __future__ import annotations

import io
import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from review import criteria_view
from review.auth import LoggedIn, Reads, act_of, off_the_loop, writing
from review.candidate_export import candidate_table, write_csv, write_xlsx
from review.list_address import (
    list_query,
    pager_link,
    selection_address,
    vouched,
    with_address,
)
from review.studies import NOT_GRANTED, visible_study
from review.templating import templates
from schemas.review import CandidateQuery
from schemas.study import StudyDefinition
from store import candidate_list, decisions, invitations
from store.review_users import Session, User
from store.studies import StudySummary, definition_at

router = APIRouter(prefix="/studies/{study_id}")
NO_CANDIDATE = "No such candidate on this study's list."


def reviewable_study(connection: Connection, user: User, study_id: str) -> StudySummary:
    study = visible_study(connection, user, study_id)
    check_may_review(user, study_id)
    return study


def check_may_review(user: User, study_id: str) -> None:
    """404 for a study not granted (as ``visible_study``), 403 for a researcher."""
    if not user.may_see(study_id):
        raise HTTPException(404, NOT_GRANTED)
    if not user.may_review(study_id):
        raise HTTPException(403, "Researchers see funnels and counts, not candidates.")


@router.get("/candidates")
async def list_page(
    request: Request, study_id: str, session: LoggedIn, connection: Reads
) -> Response:
    study = reviewable_study(connection, session.user, study_id)
    query = list_query(request)
    await off_the_loop(
        connection, log_view, connection, session, study_id, "candidate list",
        detail=str(request.url.query),
    )  # fmt: skip
    return list_response(request, connection, session, study, query)


def list_response(
    request: Request,
    connection: Connection,
    session: Session,
    study: StudySummary,
    query: CandidateQuery,
    *,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The list page (or, for htmx, the table in it) of ``query``'s selection; with a
    ``problem``, the bulk form as the coordinator filled it in (``typed``)."""
    page = candidate_list.candidate_page(
        connection, study.study_id, query, study.list_revision,
        number_known=vouched(query, session.csrf_token),
    )  # fmt: skip
    base, address = f"/studies/{study.study_id}/candidates", selection_address(query)
    secret = session.csrf_token
    definition = definition_at(connection, study.study_id, study.version)
    labels = criterion_labels(definition)
    asked = candidate_list.screening_questions(connection, study.study_id, study.list_revision)
    partial = request.headers.get("HX-Request") == "true" and problem is None
    return templates.TemplateResponse(
        request,
        "candidate_table.html" if partial else "candidates.html",
        {
            "session": session,
            "study": study,
            "page": page,
            "query": query,
            "labels": labels,
            # Only criteria someone needs screening on, in the order written.
            "questions": [(c, label, asked[c]) for c, label in labels.items() if c in asked],
            "address": address,
            "unsorted": selection_address(query, "sort", "descending"),
            "previous_page": page.page > 1
            and page.rows
            and pager_link(base, address, secret, page.page - 1, before=page.rows[0].volunteer_id),
            "next_page": page.page < page.pages
            and page.rows
            and pager_link(base, address, secret, page.page + 1, after=page.rows[-1].volunteer_id),
            "allows_unscreened": allows_unscreened(definition),
            "message": _done(request),
            "problem": problem,
            "typed": typed or {},
        },
        status_code=status,
    )


def criterion_labels(definition: StudyDefinition | None) -> dict[str, str]:
    """Each criterion's label by its id, in the order written."""
    return {c.id: c.label for c in definition.criteria()} if definition else {}


def allows_unscreened(definition: StudyDefinition | None) -> bool:
    return definition is not None and definition.contact.approve_needs_screening


@router.get("/candidates.{kind}")
def export(
    request: Request, study_id: str, kind: str, session: LoggedIn, connection: Reads
) -> Response:
    reviewable_study(connection, session.user, study_id)
    if kind not in ("csv", "xlsx"):
        raise HTTPException(404, "Exports are CSV or XLSX.")
    query = list_query(request)
    table = candidate_table(candidate_list.export_frame(connection, study_id, query))
    log_view(connection, session, study_id, f"export {kind}", detail=str(request.url.query))
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
        connection,
        candidate_response,
        request,
        connection,
        study_id,
        volunteer_id,
        session,
        _done(request),
    )


def candidate_response(
    request: Request,
    connection: Connection,
    study_id: str,
    volunteer_id: str,
    session: Session,
    message: str | None,
    problem: str | None = None,
    status: int = 200,
    typed: dict[str, str] | None = None,
) -> Response:
    """The candidate page; after a refused decision, with the ``problem`` and the words the
    coordinator had typed. The list's selection (in the address) gives the neighbours."""
    study = reviewable_study(connection, session.user, study_id)
    row = candidate_list.candidate(connection, study_id, volunteer_id, with_profile_version=True)
    if row is None:
        raise HTTPException(404, NO_CANDIDATE)
    query = list_query(request)
    address = selection_address(query)
    previous, following = candidate_list.neighbours(connection, study_id, query, volunteer_id)
    back = candidate_list.page_of(connection, study_id, query, row)
    base = f"/studies/{study_id}/candidates"
    explanation = candidate_list.explanation(connection, study_id, volunteer_id)
    history = decisions.history(connection, study_id, volunteer_id)
    outreach = invitations.outreach_of(connection, study_id, volunteer_id)
    definition = definition_at(connection, study_id, row.study_version)
    log_view(connection, session, study_id, "candidate", volunteer_id)
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
            "typed": typed or {},
            "allows_unscreened": allows_unscreened(
                definition_at(connection, study_id, study.version)
            ),
            "address": address,
            "back": with_address(base, address, page=back) + f"#c-{volunteer_id}",
            "previous": previous and with_address(f"{base}/{previous}", address),
            "next": following and with_address(f"{base}/{following}", address),
        },
        status_code=status,
    )


def log_view(
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
            connection, act_of(session), study_id, what, volunteer_id, detail or None
        )


#: What a redirect after a decision may say (nothing else from an address is shown: a
#: crafted link cannot put words on the page).
_DONE = re.compile(r"(approved|rejected|deferred|noted)( [0-9]+( \(left alone: [a-z0-9 ,;]+\))?)?")


def _done(request: Request) -> str | None:
    said = request.query_params.get("done")
    return said if said and _DONE.fullmatch(said) else None


def said(action: str) -> str:
    """An action as a redirect after it says it was done."""
    return {"approve": "approved", "reject": "rejected", "defer": "deferred"}.get(action, "noted")
