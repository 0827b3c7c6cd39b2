"""How the form writes single values: dates, timestamps, weights, ids, e-mail case.

Tables of every day's and every second's text are built once, so that a batch of rows gets its
dates and timestamps by indexing.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

import numpy as np
from numpy.typing import NDArray

from data_samples.pools import object_array

ObjectArray = NDArray[np.object_]


@cache
def day_texts() -> tuple[int, ObjectArray]:
    """``dd-mm-yyyy`` of every day from 1 January 1800 to 31 December 2199, and the first's
    ordinal (index = ordinal - first)."""
    first = np.datetime64("1800-01-01")
    days = np.arange(first, np.datetime64("2200-01-01")).astype(str)
    texts = object_array([f"{iso[8:10]}-{iso[5:7]}-{iso[:4]}" for iso in days.tolist()])
    return 657_072, texts  # date(1800, 1, 1).toordinal()


@cache
def two_digit_years() -> ObjectArray:
    """The last two digits of the year of each day in ``day_texts``."""
    return object_array([text[8:10] for text in day_texts()[1].tolist()])


@cache
def clock_texts() -> ObjectArray:
    """``HH:MM:SS`` of every second of a day."""
    return object_array([f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86_400)])


def weight_text(kilograms: float) -> str:
    """72.46 -> ``72,5``."""
    return f"{kilograms:.1f}".replace(".", ",")


def with_case(address: str, style: str) -> str:
    """``anne.lund@example.dk`` in a case style: lower, capitalised, domain, upper."""
    if style == "lower":
        return address.lower()
    if style == "upper":
        return address.upper()
    local, domain = address.lower().split("@", 1)
    if style == "capitalised":
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    return local.capitalize() + "@" + domain.capitalize()


def submission_id(bits: int) -> str:
    """128 random bits as a version-4 UUID text: ``str(uuid.UUID(int=bits, version=4))``."""
    bits = (bits & ~(0xF000 << 64)) | (0x4000 << 64)
    bits = (bits & ~(0xC000 << 48)) | (0x8000 << 48)
    h = f"{bits:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def read_form_date(text: str) -> date:
    """``14-07-1961`` -> ``date(1961, 7, 14)``."""
    return date(int(text[6:10]), int(text[3:5]), int(text[:2]))


def form_date(day: date) -> str:
    """``date(1961, 7, 14)`` -> ``14-07-1961``."""
    return f"{day.day:02d}-{day.month:02d}-{day.year:04d}"


def format_timestamp(moment: datetime) -> str:
    """``datetime(2026, 3, 2, 21, 14, 5)`` -> ``02-03-2026 21:14:05`` (naive, Danish local time)."""
    return moment.strftime("%d-%m-%Y %H:%M:%S")


def parse_timestamp(text: str) -> datetime:
    """``02-03-2026 21:14:05`` -> a naive local datetime."""
    return datetime.strptime(text, "%d-%m-%Y %H:%M:%S")
