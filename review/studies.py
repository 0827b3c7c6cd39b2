"""The studies a user is granted, and one study's overview: status, target, counts per
candidate state, the attrition funnel as a chart, and when the last match ran. Counts only:
researchers see these pages too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from review.auth import LoggedIn, Reads
from review.templating import templates
from schemas.review import ReviewState
from store import candidate_list
from store.candidates import latest_match
from store.review_users import User
from store.studies import StudySummary, summaries, summary

router = APIRouter()


NOT_GRANTED = "No such study, or it is not granted to you."


@dataclass(frozen=True)
class FunnelBar:
    label: str
    kind: str
    remaining: int
    lost: int
    lost_only_here: int
    unknown: int
    #: Bar length, as a share of the starting panel (0-100).
    width: float


def visible_study(connection: Connection, user: User, study_id: str) -> StudySummary:
    """The study, if this user may see it; otherwise 404, the same as for no such study, so
    guessing ids tells nothing."""
    study = summary(connection, study_id) if user.may_see(study_id) else None
    if study is not None:
        return study
    raise HTTPException(404, NOT_GRANTED)


@router.get("/")
async def study_list(request: Request, session: LoggedIn, connection: Reads) -> Response:
    studies = [s for s in summaries(connection) if session.user.may_see(s.study_id)]
    return templates.TemplateResponse(
        request, "studies.html", {"session": session, "studies": studies}
    )


@router.get("/studies/{study_id}")
async def study_overview(
    request: Request, study_id: str, session: LoggedIn, connection: Reads
) -> Response:
    study = visible_study(connection, session.user, study_id)
    run = latest_match(connection, study_id)
    counts = candidate_list.state_counts(connection, study_id)
    return templates.TemplateResponse(
        request,
        "study.html",
        {
            "session": session,
            "study": study,
            "run": run,
            "bars": _bars(run.evaluated, run.funnel) if run else [],
            "states": [s.value for s in ReviewState],
            "counts": counts,
            "may_review": session.user.may_review(study_id),
        },
    )


def _bars(start: int, steps: list[dict[str, Any]]) -> list[FunnelBar]:
    scale = 100 / start if start else 0
    bars = [FunnelBar("Volunteers who may be contacted", "start", start, 0, 0, 0, 100.0)]
    for step in steps:
        bars.append(
            FunnelBar(
                label=("Not: " if step["kind"] == "exclusion" else "") + step["label"],
                kind=step["kind"],
                remaining=step["remaining"],
                lost=step["lost"],
                lost_only_here=step["lost_only_here"],
                unknown=step["unknown"],
                width=round(step["remaining"] * scale, 2),
            )
        )
    return bars
