"""How far back a code criterion looks: ``within: 90d``, ``3m``, ``2y`` or ``ever``.

A window ends on the match date and starts ``amount`` days, months or years before it, on the
same calendar day (a month back from 31 May is 30 April: the day is clamped to the month's
end). ``ever`` has no start. Which profile versions a window reads is the matching's business
(``matching.history``); this module only says what the words mean, for every evaluator alike.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

EVER = "ever"
_SHAPE = re.compile(r"^(?P<amount>[1-9][0-9]{0,3})(?P<unit>[dmy])$")
_UNITS = {"d": ("day", "days"), "m": ("month", "months"), "y": ("year", "years")}


@dataclass(frozen=True)
class Window:
    #: None: ``ever``.
    amount: int | None
    unit: str = ""

    @classmethod
    def parse(cls, text: str) -> Window:
        if text == EVER:
            return cls(None)
        found = _SHAPE.match(text)
        if found is None:
            raise PydanticCustomError(
                "window",
                "'{text}' is not a window: write a number and d, m or y (90d, 3m, 2y), or ever",
                {"text": text},
            )
        return cls(int(found["amount"]), found["unit"])

    def start(self, as_of: date) -> date | None:
        """The window's first day, when it ends on ``as_of`` (None: it has no start)."""
        if self.amount is None:
            return None
        if self.unit == "d":
            return as_of - timedelta(days=self.amount)
        months = self.amount * (12 if self.unit == "y" else 1)
        year, month = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
        month += 1
        return date(year, month, min(as_of.day, calendar.monthrange(year, month)[1]))

    def __str__(self) -> str:
        if self.amount is None:
            return "at any time"
        one, many = _UNITS[self.unit]
        return f"in the last {one}" if self.amount == 1 else f"in the last {self.amount} {many}"


def _checked(text: str) -> str:
    Window.parse(text.strip().lower())
    return text.strip().lower()


#: A window as a study file writes it (kept as written, so a definition's version is stable).
WindowText = Annotated[str, AfterValidator(_checked)]
