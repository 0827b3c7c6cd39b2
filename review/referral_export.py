"""A study's referrals as a spreadsheet (CSV or XLSX) for the study team's own systems: one row
a volunteer who said yes and can still be reached, with name, contact details, preferred form
of contact, when they said yes, where the referral stands, and their answers to the screening
questions. Formula-safe (``review.spreadsheet_safe``): names, notes and answers are typed by
people. No pseudonymous id: the referral's number is the one the study team's page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from review.spreadsheet_safe import safe_cell
from schemas.danish_formats import COPENHAGEN
from store.referral_list import ListedReferral
from store.studies import StudySummary, definition_at

#: The columns before the screening answers, in order.
COLUMNS = (
    "referral",
    "first_name",
    "last_name",
    "email",
    "phone",
    "contact_form",
    "answered_at",
    "referred_at",
    "screening",
    "taken_at",
    "taken_by",
    "step",
    "step_reason",
    "step_at",
)


def questions(connection: Connection, study: StudySummary) -> dict[str, str]:
    """The study's screening questions by criterion id, as published now, in its order."""
    definition = definition_at(connection, study.study_id, study.version)
    if definition is None:
        return {}
    return {c.id: c.question.text for c in definition.criteria() if c.question is not None}


def referral_table(referrals: list[ListedReferral], questions: dict[str, str]) -> pd.DataFrame:
    """One row a referral; then a column per screening question answered by anyone (headed
    by its criterion id), holding the option chosen. ``questions``: criterion id -> its
    question, for the order (the study's), the rest after."""
    asked = {a.criterion_id for r in referrals for a in r.answers}
    ordered = [c for c in questions if c in asked] + sorted(asked - set(questions))
    rows: list[dict[str, Any]] = []
    for referral in referrals:
        latest = referral.latest
        row: dict[str, Any] = {
            "referral": referral.invitation_id,
            "first_name": referral.first_name,
            "last_name": referral.last_name,
            "email": referral.email,
            "phone": referral.phone or "",
            "contact_form": referral.contact_form,
            "answered_at": _time(referral.answered_at),
            "referred_at": _time(referral.referred_at),
            "screening": referral.screening.value,
            "taken_at": _time(referral.taken_at),
            "taken_by": referral.taken_by or "",
            "step": latest.step.value if latest else "",
            "step_reason": latest.reason.value if latest and latest.reason else "",
            "step_at": _time(latest.recorded_at if latest else None),
        }
        chosen = {a.criterion_id: a.option for a in referral.answers}
        row |= {f"answer: {c}": chosen.get(c, "") for c in ordered}
        rows.append(row)
    columns = [*COLUMNS, *(f"answer: {c}" for c in ordered)]
    return pd.DataFrame(rows, columns=columns).map(safe_cell)


def _time(at: datetime | None) -> str:
    """Danish local time, as ISO 8601 with its offset (a system reads it unambiguously)."""
    return at.astimezone(COPENHAGEN).isoformat(timespec="seconds") if at else ""
