"""The two kinds of export the signup form hands us, told apart by their header."""

from __future__ import annotations

import difflib
from enum import StrEnum

from pydantic import BaseModel

from schemas.danish_formats import shown
from schemas.signup import SIGNUP_COLUMNS, UNQUOTED_COLUMNS, SignupRow
from schemas.withdrawal import WITHDRAWAL_COLUMNS, WithdrawalRow


class ExportKind(StrEnum):
    SIGNUPS = "signups"
    WITHDRAWALS = "afmeldinger"

    @property
    def columns(self) -> tuple[str, ...]:
        return SIGNUP_COLUMNS if self is ExportKind.SIGNUPS else WITHDRAWAL_COLUMNS

    @property
    def row_model(self) -> type[BaseModel]:
        return SignupRow if self is ExportKind.SIGNUPS else WithdrawalRow

    @property
    def unquoted_columns(self) -> frozenset[str]:
        """Columns whose values never appear in reasons or reports."""
        return UNQUOTED_COLUMNS if self is ExportKind.SIGNUPS else frozenset({"email"})

    @property
    def id_column(self) -> str | None:
        return "indsendelse_id" if self is ExportKind.SIGNUPS else None


def kind_from_header(header: list[str]) -> ExportKind | None:
    """The export a header belongs to: exact, or close enough that its differences can be named.

    A header sharing most of one export's columns is that export with renamed, added or missing
    columns (the batch suite then refuses it, naming them); anything else is no export of ours.
    """
    names = set(header)
    for kind in ExportKind:
        if list(header) == list(kind.columns):
            return kind
    best = max(ExportKind, key=lambda kind: len(names & set(kind.columns)) / len(kind.columns))
    if len(names & set(best.columns)) / len(best.columns) >= 0.5:
        return best
    return None


def column_differences(found: list[str], expected: list[str]) -> str:
    """What changed in a header, in words: renamed, added, missing or reordered columns."""
    sentences = []
    matcher = difflib.SequenceMatcher(a=expected, b=found, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        gone, came = expected[a0:a1], found[b0:b1]
        if tag == "replace" and len(gone) == len(came):
            sentences += [
                f"column '{old}' is renamed '{shown(new)}'"
                for old, new in zip(gone, came, strict=True)
            ]
        elif tag in ("replace", "delete", "insert"):
            sentences += [f"column '{name}' is missing" for name in gone if name not in found]
            after = f" (after '{shown(found[b0 - 1])}')" if b0 else " (first)"
            sentences += [
                f"column '{shown(name)}' is added{after}" for name in came if name not in expected
            ]
    if not sentences:
        sentences.append("the columns are all there, but in another order")
    return "; ".join(sentences) + " (docs/export-format.md fixes the columns and their order)"
