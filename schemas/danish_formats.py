"""How the signup form writes values, and how to read them back (see docs/export-format.md).

Each reader takes the raw cell text (already stripped, ``None`` when the cell was empty) and
returns a normalised Python value, or raises ``PydanticCustomError`` with a plain reason. They
are used as ``BeforeValidator``s in the row models; they are deliberately small and fast
because they run once per cell of exports with millions of rows.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic_core import PydanticCustomError

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def today_in_denmark() -> date:
    """Today's date in Denmark: the default match date and the day of sending."""
    return datetime.now(COPENHAGEN).date()


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DECIMAL_COMMA = re.compile(r"-?\d+(?:,\d+)?")
_DECIMAL_POINT = re.compile(r"-?\d+\.\d+")


def shown(value: str, limit: int = 40) -> str:
    """A cell value as it may appear in a reason: short, so a huge cell never floods a report,
    and on one line (control characters escaped)."""
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in value)
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value):,} characters)"


def _required(value: str | None) -> str:
    if value is None:
        raise PydanticCustomError("missing", "is required but empty")
    return value


def _date_fields(value: str) -> tuple[int, int, int] | None:
    """Day, month, year of a ``dd-mm-yyyy`` text, or None when it has another shape."""
    if len(value) == 10 and value[2] == "-" and value[5] == "-":
        day, month, year = value[:2], value[3:5], value[6:]
        if day.isdigit() and month.isdigit() and year.isdigit():
            return int(day), int(month), int(year)
    return None


def _wrong_date_shape(value: str, expected: str) -> PydanticCustomError:
    if _ISO_DATE.match(value):
        return PydanticCustomError(
            "danish_date",
            "'{value}' is written year first; the export writes dates as {expected}",
            {"value": shown(value), "expected": expected},
        )
    return PydanticCustomError(
        "danish_date",
        "'{value}' is not a date as {expected}",
        {"value": shown(value), "expected": expected},
    )


def read_date(value: str | None) -> date:
    """``14-07-1961`` -> ``date(1961, 7, 14)``."""
    value = _required(value)
    parts = _date_fields(value)
    if parts is None:
        raise _wrong_date_shape(value, "dd-mm-yyyy")
    day, month, year = parts
    try:
        return date(year, month, day)
    except ValueError:
        raise PydanticCustomError(
            "danish_date", "'{value}' is not a real calendar date", {"value": shown(value)}
        ) from None


def read_timestamp(value: str | None) -> datetime:
    """``02-03-2026 21:14:05`` in Danish local time -> a timezone-aware datetime.

    Local times that occur twice (the October fall-back hour) are read as the first occurrence,
    summer time; times that do not exist (the March spring-forward hour) keep their wall-clock
    reading with the standard-time offset. Both are what ``zoneinfo`` does with ``fold=0``.
    """
    value = _required(value)
    parts = _date_fields(value[:10]) if len(value) == 19 and value[10] == " " else None
    clock = value[11:].split(":") if parts else []
    if parts is None or len(clock) != 3 or not all(len(p) == 2 and p.isdigit() for p in clock):
        raise _wrong_date_shape(value, "dd-mm-yyyy HH:MM:SS")
    day, month, year = parts
    try:
        return datetime(
            year, month, day, int(clock[0]), int(clock[1]), int(clock[2]), tzinfo=COPENHAGEN
        )
    except ValueError:
        raise PydanticCustomError(
            "danish_timestamp", "'{value}' is not a real date and time", {"value": shown(value)}
        ) from None


def read_decimal_comma(value: str | None) -> float:
    """``72,5`` -> ``72.5``. A decimal point is refused: the export writes a comma."""
    value = _required(value)
    if _DECIMAL_COMMA.fullmatch(value):
        return float(value.replace(",", "."))
    if _DECIMAL_POINT.fullmatch(value):
        raise PydanticCustomError(
            "decimal_comma",
            "'{value}' has a decimal point; the export writes a decimal comma ({comma})",
            {"value": value, "comma": value.replace(".", ",")},
        )
    raise PydanticCustomError("decimal_comma", "'{value}' is not a number", {"value": shown(value)})


YES_NO = {"Ja": True, "Nej": False}


def read_yes_no(value: str | None) -> bool:
    """``Ja`` / ``Nej`` -> True / False."""
    value = _required(value)
    try:
        return YES_NO[value]
    except KeyError:
        raise PydanticCustomError(
            "yes_no", "'{value}' is not an answer; expected Ja or Nej", {"value": shown(value)}
        ) from None
