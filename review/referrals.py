"""The study team's page: the volunteers who said yes to their study, by name, with how to
reach them and their answers to the screening questions; taking a referral, and recording
what happened next (``store.referral_list``); the same list as CSV or XLSX.

Only the study's team and admins are shown it (``User.may_see_referrals``): a coordinator or
researcher of the study is refused (403), anyone else is told there is no such study (404),
and a study team sees nothing else of the panel (``User.may_see`` keeps it off the overviews,
candidate lists and criteria). Every view and export writes one access-log line per volunteer
shown; every form carries the session's CSRF token.
"""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from review.auth import Checked, LoggedIn, Reads, act_of, in_turn, off_the_loop, writing
from review.candidate_export import write_csv, write_xlsx
from review.referral_export import questions, referral_table
from review.studies import NOT_GRANTED
from review.templating import templates
from schemas.referral import REASON_WORDS, STEP_WORDS, NotEligibleReason, ReferralStep
from schemas.review import Role
from store import referral_list
from store.referral_list import ListedReferral, NoSuchReferral, StepProblem, StepRefused
from store.review_users import Session, User
from store.studies import StudySummary, summaries, summary

router = APIRouter()

NAMES_FOR_THE_TEAM = "Names of volunteers are shown to the study's team only."
NO_REFERRAL = "Ingen sådan henvisning på listen (personen kan have trukket sig)."
#: How the page says why a step was not recorded.
PROBLEM_WORDS = {
    StepProblem.NEEDS_REASON: "Vælg en årsag, når personen ikke er egnet ved screening.",
    StepProblem.REASON_NOT_HERE: "En årsag hører kun til trinnet «Ikke egnet ved screening».",
    StepProblem.NEEDS_NOTE: "Skriv noten.",
    StepProblem.NOTE_TOO_LONG: "Noten er for lang.",
}
CONTACT_FORMS = {"email": "E-mail", "sms": "SMS"}
#: What a redirect after a form may say (nothing else from an address is shown).
DONE_WORDS = {"taken": "Henvisningen er taget.", "recorded": "Trinnet er gemt."}
EXPORTS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def team_study(connection: Connection, user: User, study_id: str) -> StudySummary:
    """The study, if this user may see its referrals; 403 for its coordinators and
    researchers, 404 for everyone else (as for a study that does not exist)."""
    if user.may_see_referrals(study_id):
        study = summary(connection, study_id)
        if study is not None:
            return study
    elif user.may_see(study_id):
        raise HTTPException(403, NAMES_FOR_THE_TEAM)
    raise HTTPException(404, NOT_GRANTED)


@router.get("/referrals")
async def team_studies(request: Request, session: LoggedIn, connection: Reads) -> Response:
    """The studies whose referrals this user sees; a study team of one study goes straight
    to it."""
    user = session.user
    if not user.role.sees_names:
        raise HTTPException(403, NAMES_FOR_THE_TEAM)
    studies = [s for s in summaries(connection) if user.may_see_referrals(s.study_id)]
    if len(studies) == 1 and user.role is Role.STUDY_TEAM:
        return RedirectResponse(f"/studies/{studies[0].study_id}/referrals", status_code=303)
    return templates.TemplateResponse(
        request, "referral_studies.html", {"session": session, "studies": studies}
    )


@router.get("/studies/{study_id}/referrals")
async def referrals_page(
    request: Request, study_id: str, session: LoggedIn, connection: Reads
) -> Response:
    study = team_study(connection, session.user, study_id)
    said = request.query_params.get("done", "")
    return await off_the_loop(  # (it writes the access log)
        connection, page_response, request, connection, session, study, DONE_WORDS.get(said)
    )


def page_response(
    request: Request,
    connection: Connection,
    session: Session,
    study: StudySummary,
    message: str | None = None,
    problem: tuple[int, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    """The page, written to the access log first; after a refused step, the ``problem`` at
    its referral (its id, the words) with what was typed."""
    shown = referral_list.referral_list(connection, study.study_id)
    log_shown(connection, session, study.study_id, "referral list", shown)
    return templates.TemplateResponse(
        request,
        "referrals.html",
        {
            "session": session,
            "study": study,
            "referrals": shown,
            "questions": questions(connection, study),
            "message": message,
            "problem": problem,
            "typed": typed or {},
            "STEP_WORDS": STEP_WORDS,
            "REASON_WORDS": REASON_WORDS,
            "CONTACT_FORMS": CONTACT_FORMS,
        },
        status_code=status,
    )


def log_shown(
    connection: Connection, session: Session, study_id: str, what: str, shown: list[ListedReferral]
) -> None:
    """Who was shown whom, written before the page or file is sent."""
    with writing(connection):
        referral_list.log_shown(connection, act_of(session), study_id, what, shown)


@router.get("/studies/{study_id}/referrals.{kind}")
def export(study_id: str, kind: str, session: LoggedIn, connection: Reads) -> Response:
    study = team_study(connection, session.user, study_id)
    if kind not in EXPORTS:
        raise HTTPException(404, "Exports are CSV or XLSX.")
    shown = referral_list.referral_list(connection, study_id)
    table = referral_table(shown, questions(connection, study))
    log_shown(connection, session, study_id, f"referral export {kind}", shown)
    body = io.BytesIO()
    if kind == "csv":
        write_csv(table, body)
    else:
        write_xlsx(table, body, study_id)
    return Response(
        body.getvalue(),
        media_type=EXPORTS[kind],
        headers={"Content-Disposition": f'attachment; filename="{study_id}-referrals.{kind}"'},
    )


def _back(study_id: str, invitation_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/studies/{study_id}/referrals?done={done}#r-{invitation_id}", status_code=303
    )


@router.post("/studies/{study_id}/referrals/{invitation_id}/take")
async def take(study_id: str, invitation_id: int, session: Checked, connection: Reads) -> Response:
    team_study(connection, session.user, study_id)
    act = act_of(session)
    try:
        await in_turn(connection, lambda c: referral_list.take(c, study_id, invitation_id, act))
    except NoSuchReferral:
        raise HTTPException(404, NO_REFERRAL) from None
    return _back(study_id, invitation_id, "taken")


Words = Annotated[str, Form()]


@router.post("/studies/{study_id}/referrals/{invitation_id}/step")
async def record_step(
    request: Request,
    study_id: str,
    invitation_id: int,
    session: Checked,
    connection: Reads,
    step: Words = "",
    reason: Words = "",
    note: Words = "",
) -> Response:
    study = team_study(connection, session.user, study_id)
    typed = {"invitation_id": str(invitation_id), "step": step, "reason": reason, "note": note}
    chosen = next((s for s in ReferralStep if s.value == step), None)
    because = next((r for r in NotEligibleReason if r.value == reason), None)
    if chosen is None or (reason and because is None):
        problem = "Vælg et trin fra listen."
    else:
        act = act_of(session)
        try:
            await in_turn(
                connection,
                lambda c: referral_list.record_step(
                    c, study_id, invitation_id, chosen, act, reason=because, note=note
                ),
            )
        except NoSuchReferral:
            raise HTTPException(404, NO_REFERRAL) from None
        except StepRefused as refused:
            problem = PROBLEM_WORDS[refused.problem]
        else:
            return _back(study_id, invitation_id, "recorded")
    return await off_the_loop(
        connection, page_response, request, connection, session, study, None,
        (invitation_id, problem), typed, 422,
    )  # fmt: skip
