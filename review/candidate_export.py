"""A study's candidate list as a spreadsheet (CSV or XLSX): pseudonymous ids, status, what to
screen, and per criterion the outcome and evidence. Never a name, a contact detail or an
identifier of the form: the profile version matched is told by its number among the
volunteer's versions and the day it was submitted, not by the form's submission id."""

from __future__ import annotations

import csv
import io
from typing import Any, BinaryIO

import pandas as pd

from review.spreadsheet_safe import safe_cell


def candidate_table(candidates: pd.DataFrame) -> pd.DataFrame:
    """One row a candidate, one column a criterion's outcome and one its evidence."""
    rows: list[dict[str, Any]] = []
    for candidate in candidates.to_dict("records"):
        row = {
            "volunteer_id": candidate["volunteer_id"],
            "status": candidate["status"],
            **({"review": candidate["review_state"]} if "review_state" in candidate else {}),
            "to_screen": ", ".join(candidate["unknown_criteria"]),
            "profile_version": _number(candidate.get("profile_number")),
            "profile_submitted": str(candidate.get("profile_submitted_at") or "")[:10],
            "study_version": candidate["study_version"],
            "as_of": str(candidate["as_of"])[:10],
        }
        for criterion_id, (outcome, evidence) in candidate["explanation"].items():
            row[criterion_id] = outcome
            row[f"{criterion_id} (evidence)"] = evidence
        rows.append(row)
    return pd.DataFrame(rows).map(safe_cell) if rows else pd.DataFrame(rows)


def _number(value: Any) -> int | str:
    return "" if value is None or pd.isna(value) else int(value)


def write_csv(table: pd.DataFrame, out: BinaryIO) -> None:
    text = io.StringIO()
    table.to_csv(text, index=False, quoting=csv.QUOTE_MINIMAL)
    out.write(text.getvalue().encode("utf-8-sig"))


def write_xlsx(table: pd.DataFrame, out: BinaryIO, sheet: str) -> None:
    from openpyxl import Workbook  # deferred: only a spreadsheet export needs it
    from openpyxl.utils import get_column_letter

    book = Workbook()
    page = book.active
    assert page is not None
    page.title = sheet[:31]
    page.append(list(table.columns))
    for row in table.itertuples(index=False):
        page.append(list(row))
    for number, column in enumerate(table.columns, start=1):
        width = max([len(str(column)), *(len(str(v)) for v in table[column].head(200))])
        page.column_dimensions[get_column_letter(number)].width = min(width + 2, 60)
    page.freeze_panes = "B2"
    book.save(out)
