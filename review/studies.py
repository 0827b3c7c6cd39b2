"""The studies a user is granted (with what waits for review), and one study's overview:
status, target, counts per candidate state, the recruitment funnel, the attrition funnel as a
chart, and when the last match ran. Counts only: researchers see these pages too, with small
counts suppressed and the rest rounded (``Counts``; docs/review.md, "Counts researchers
see")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection

from review.auth import LoggedIn, Reads
from review.recruitment_view import recruitment_view
from review.templating import templates
from schemas.review import ReviewState, Role
from store import candidate_list, review_counts
from store.match_runs import latest_match
from store.review_users import User
from store.studies import StudySummary, summaries, summary

router = APIRouter()


NOT_GRANTED = "No such study, or it is not granted to you."
#: A researcher sees no count from 1 to this minus one, and every other count rounded to a
#: multiple of it, so no count, nor a difference of two, singles someone out.
SMALLEST_SHOWN = 5


def rounded(n: int) -> int:
    """``n`` to the nearest multiple of ``SMALLEST_SHOWN`` (halves up)."""
    return (n + SMALLEST_SHOWN // 2) // SMALLEST_SHOWN * SMALLEST_SHOWN


def suppressed(n: int) -> str:
    """A count as a researcher sees it: 0, "<5", or rounded."""
    if n == 0:
        return "0"
    if n < SMALLEST_SHOWN:
        return f"<{SMALLEST_SHOWN}"
    return f"{rounded(n):,}"


def exact(n: int) -> str:
    return f"{n:,}"


@dataclass(frozen=True)
class Counts:
    """How this user's pages show counts of people: exactly to those who see candidates
    (coordinators, admins); suppressed and rounded to researchers."""

    show: Callable[[int], str]
    #: The value bars are drawn from, so a bar's length discloses no more than its number.
    value: Callable[[int], int]
    protected: bool

    @staticmethod
    def of(user: User) -> Counts:
        if user.role.sees_candidates:
            return Counts(exact, lambda n: n, protected=False)
        return Counts(suppressed, rounded, protected=True)


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
    if session.user.role is Role.STUDY_TEAM:  # sees its referrals, nothing else
        return RedirectResponse("/referrals", status_code=303)
    studies = [s for s in summaries(connection) if session.user.may_see(s.study_id)]
    pending = review_counts.pending(connection) if studies else {}
    return templates.TemplateResponse(
        request,
        "studies.html",
        {
            "session": session,
            "studies": studies,
            "pending": pending,
            "no_pending": review_counts.Pending(),
            "counts": Counts.of(session.user),
        },
    )


@router.get("/studies/{study_id}")
async def study_overview(
    request: Request, study_id: str, session: LoggedIn, connection: Reads
) -> Response:
    study = visible_study(connection, session.user, study_id)
    run = latest_match(connection, study_id)
    counts = Counts.of(session.user)
    return templates.TemplateResponse(
        request,
        "study.html",
        {
            "session": session,
            "study": study,
            "run": run,
            "bars": _bars(run.evaluated, run.funnel, counts.value) if run else [],
            "states": [s.value for s in ReviewState],
            "state_counts": candidate_list.state_counts(connection, study_id),
            "recruitment": recruitment_view(connection, study_id, counts, SMALLEST_SHOWN),
            "counts": counts,
            "may_review": session.user.may_review(study_id),
        },
    )


def _bars(start: int, steps: list[dict[str, Any]], value: Callable[[int], int]) -> list[FunnelBar]:
    scale = 100 / value(start) if value(start) else 0
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
                width=min(100.0, round(value(step["remaining"]) * scale, 2)),
            )
        )
    return bars
