"""Jinja2 templates (autoescaped), with the filters the pages share."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates

from schemas.review import REJECT_REASONS
from schemas.study_fields import Region

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


templates.env.filters["danish"] = _danish
templates.env.filters["region"] = _region
templates.env.filters["thousands"] = lambda n: f"{n:,}"
templates.env.globals["REJECT_REASONS"] = REJECT_REASONS
templates.env.globals["REGIONS"] = list(Region)
