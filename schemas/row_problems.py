"""Plain-language reasons for what is wrong with a row, from pydantic's validation errors.

A quarantined row carries one ``RowProblem`` per broken cell, named by the export's own column
name, with a reason a data steward can act on. Contact details and free text are never quoted
back in a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from schemas.danish_formats import shown

#: What a pattern-checked column must look like, for the reason when it does not.
PATTERN_REASONS = {
    "indsendelse_id": "is not a submission id (a UUID, 3f6c2a1e-8d4b-4c1a-9b7e-2a5d6e7f8a01)",
    "email": "is not an e-mail address (name@domain.dk)",
    "postnummer": "is not a Danish postcode (4 digits, 1000 to 9990)",
    "fornavn": "is not a name (it must hold a letter and no line break)",
    "efternavn": "is not a name (it must hold a letter and no line break)",
}
_FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with one cell (or one rule across cells) of a row."""

    column: str
    reason: str


def row_problems(
    error: ValidationError, model: type[BaseModel], unquoted: frozenset[str] = frozenset()
) -> list[RowProblem]:
    """Every problem of the row, in column order of the model, each in plain words."""
    order = {field.alias or name: i for i, (name, field) in enumerate(model.model_fields.items())}
    problems = [_problem(detail, model, unquoted) for detail in error.errors(include_url=False)]
    return sorted(problems, key=lambda p: order.get(p.column, len(order)))


def _problem(detail: ErrorDetails, model: type[BaseModel], unquoted: frozenset[str]) -> RowProblem:
    column = str(detail["loc"][0]) if detail["loc"] else "(row)"
    kind = detail["type"]
    value: Any = detail.get("input")
    quoted = "" if column in unquoted or value is None else f"'{shown(str(value))}' "
    ctx = detail.get("ctx") or {}
    if kind in ("missing", "string_too_short") or (kind.endswith("_type") and value is None):
        reason = "is required but empty"
    elif kind == "string_too_long":
        reason = f"is {len(str(value)):,} characters long; at most {ctx['max_length']:,} allowed"
    elif kind == "string_pattern_mismatch" and str(value).startswith(_FORMULA_START):
        reason = f"begins with '{str(value)[0]}', like a spreadsheet formula"
    elif kind == "string_pattern_mismatch":
        reason = f"{quoted}{PATTERN_REASONS.get(column, 'does not have the expected shape')}"
    elif kind in ("int_parsing", "int_from_float"):
        reason = f"{quoted}is not a whole number"
    elif kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _bounds(model, column)
        reason = f"{quoted}is outside the allowed range {low} to {high}"
    elif kind in ("enum", "literal_error"):
        reason = f"{quoted}is not one of {ctx.get('expected', '').replace(chr(39), '')}"
    elif kind == "extra_forbidden":
        reason = "is not a column of this export"
    else:
        reason = detail["msg"]
    return RowProblem(column, reason)


def _bounds(model: type[BaseModel], column: str) -> tuple[Any, Any]:
    """The inclusive bounds declared for a column (``Field(ge=..., le=...)``)."""
    low = high = None
    for name, field in model.model_fields.items():
        if (field.alias or name) == column:
            for meta in _metadata(field.annotation, field.metadata):
                low = getattr(meta, "ge", low)
                high = getattr(meta, "le", high)
    return low, high


def _metadata(annotation: Any, extra: list[Any]) -> list[Any]:
    """Constraint objects anywhere inside ``Annotated[..., Field(...)] | None`` and ``extra``."""
    found: list[Any] = []
    pending = [*extra, annotation]
    while pending:
        item = pending.pop()
        if isinstance(item, FieldInfo):
            pending.extend(item.metadata)
        elif hasattr(item, "__metadata__") or hasattr(item, "__args__"):
            pending.extend(getattr(item, "__metadata__", ()))
            pending.extend(getattr(item, "__args__", ()))
        else:
            found.append(item)
    return found
