"""Cells that a spreadsheet will not run: a value beginning like a formula (``=``, ``+``,
``-``, ``@``, or a tab or carriage return before one) gets a leading apostrophe, the OWASP
advice against CSV/formula injection. Candidate lists never hold free text, but they hold
criterion labels and evidence written by people."""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
