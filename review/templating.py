"""Jinja2 templates (autoescaped), with the filters the pages share."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from schemas.review import AUTOMATIC_APPROVER, NOTE_MAX_LENGTH, REJECT_REASONS, InvitationFilter
from schemas.study_fields import Region
from store.candidate_list import CandidateRow

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def _danish(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(COPENHAGEN).strftime("%d-%m-%Y %H:%M")
    return value.strftime("%d-%m-%Y")


def _region(value: str | None) -> str:
    return Region(value).display_name if value else "unknown"


def _decision(row: CandidateRow) -> str:
    """A candidate's decision in words: an automatic approval says so."""
    automatic = row.automatic and row.review_state == "approved"
    return "approved (automatic)" if automatic else row.review_state


#: What the list's invitation filter offers, in words; the last two are also what a
#: candidate without an invitation reads (an invitation's own status is its word).
INVITATION_FILTERS = {
    InvitationFilter.NONE: "not invited",
    InvitationFilter.QUEUED: "queued",
    InvitationFilter.SENT: "sent",
    InvitationFilter.FAILED: "failed",
    InvitationFilter.CANCELLED: "cancelled",
    InvitationFilter.HELD: "held back",
}


def _invitation(row: CandidateRow) -> str:
    if row.invitation:
        return row.invitation
    return INVITATION_FILTERS[InvitationFilter.HELD if row.hold_reason else InvitationFilter.NONE]


def _decision_badge(row: CandidateRow) -> Markup:
    """The decision as a badge; an approval of someone who needs screening says that
    unknowns remain (they are invited although some criteria are unknown)."""
    badge = f'<span class="badge {row.review_state}">{_decision(row)}</span>'
    if row.review_state == "approved" and row.status == "needs_screening":
        badge += (
            ' <span class="badge warn" title="Invited although some criteria are unknown; '
            'the study team screens them">unknowns remain</span>'
        )
    return Markup(badge)  # fixed words, a state of a closed set


def _invitation_badge(row: CandidateRow) -> Markup:
    kind = row.invitation or ("held" if row.hold_reason else "none")
    return Markup(f'<span class="badge {kind}">{_invitation(row)}</span>')


def _labelled(criteria: list[str], labels: dict[str, str]) -> str:
    return "; ".join(labels.get(c, c) for c in criteria)


templates.env.filters["decision"] = _decision
templates.env.filters["decision_badge"] = _decision_badge
templates.env.filters["invitation_badge"] = _invitation_badge
templates.env.filters["labelled"] = _labelled
templates.env.filters["invitation"] = _invitation
templates.env.filters["danish"] = _danish
templates.env.filters["region"] = _region
templates.env.filters["thousands"] = lambda n: f"{n:,}"
templates.env.globals["REJECT_REASONS"] = REJECT_REASONS
templates.env.globals["REGIONS"] = list(Region)
templates.env.globals["INVITATION_FILTERS"] = INVITATION_FILTERS
templates.env.globals["NOTE_MAX_LENGTH"] = NOTE_MAX_LENGTH
templates.env.globals["AUTOMATIC_APPROVER"] = AUTOMATIC_APPROVER
