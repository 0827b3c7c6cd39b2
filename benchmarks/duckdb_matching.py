"""The obvious alternative to the engine, for the benchmark: the same study as DuckDB SQL.

SQL's NULL logic is Kleene's three-valued logic (``NULL AND FALSE`` is ``FALSE``, ``NULL OR
TRUE`` is ``TRUE``), so a criterion that is unknown is ``NULL`` and ``all``/``any``/``not``
translate word for word. The derived fields are computed in SQL too, once per run, from the same
profiles the engine gets (``panel_sql``), as the engine's ``prepare_panel`` does.
"""

from __future__ import annotations

from datetime import date

from matching.regions import POSTCODE_RANGES
from matching.three_valued import ThreeValued
from schemas.study import CodeCriterion, FieldComparison, StudyDefinition
from schemas.study_fields import FIELDS


def panel_sql(as_of: date) -> str:
    """``CREATE TABLE panel`` with every field a criterion can name, from ``profiles``."""
    regions = " ".join(
        f"WHEN postcode_number BETWEEN {first} AND {last} THEN '{region.value}'"
        for first, last, region in POSTCODE_RANGES
    )
    # Every other field a criterion may name (``schemas.study_fields``) is read as stored.
    as_stored = ", ".join(
        name
        for name, field in FIELDS.items()
        if not field.derived and name not in ("postcode", "pregnant")
    )
    # Asked of some only: for the others, what the declaration says (else NULL, unknown).
    pregnancy = FIELDS["pregnant"]
    asked = ", ".join(f"'{sex}'" for sex in pregnancy.asked_of)
    not_asked = " ".join(
        f"WHEN sex = '{sex}' THEN {str(means).upper()}" for sex, means in pregnancy.not_asked_means
    )
    before_birthday = (
        f"month(birth_date) > {as_of.month} "
        f"OR (month(birth_date) = {as_of.month} AND day(birth_date) > {as_of.day})"
    )
    return f"""
        CREATE OR REPLACE TABLE panel AS
        WITH typed AS (
            SELECT *,
                TRY_CAST(postcode AS INTEGER) AS postcode_number,
                CAST(timezone('Europe/Copenhagen', submitted_at) AS DATE) AS submitted_on
            FROM profiles
        )
        SELECT
            volunteer_id,
            {as_of.year} - year(birth_date) - CASE WHEN {before_birthday} THEN 1 ELSE 0 END
                AS age,
            weight_kg / ((height_cm / 100.0) * (height_cm / 100.0)) AS bmi,
            CASE {regions} END AS region,
            ({as_of.year} - year(submitted_on)) * 12 + {as_of.month} - month(submitted_on)
                - CASE WHEN day(submitted_on) > {as_of.day} THEN 1 ELSE 0 END
                AS months_since_update,
            postcode_number AS postcode,
            CASE WHEN sex IS NULL THEN NULL
                 WHEN sex NOT IN ({asked}) THEN CASE {not_asked} END
                 WHEN pregnant = 'yes' THEN TRUE
                 WHEN pregnant = 'no' THEN FALSE
            END AS pregnant,
            {as_stored},
            list_filter(string_split(diagnoses, '|'), lambda c: c <> '') AS diagnoses,
            list_filter(string_split(medicines, '|'), lambda c: c <> '') AS medicines
        FROM typed
    """


def status_counts_sql(study: StudyDefinition) -> str:
    """Eligible (the whole definition true) and needs screening (it is NULL), over ``panel``."""
    sql = _Sql()
    overall = " AND ".join(
        [*(sql(c) for c in study.inclusion), *(f"NOT {sql(c)}" for c in study.exclusion)]
    )
    return f"""
        SELECT count(*) FILTER (WHERE fits) AS eligible,
               count(*) FILTER (WHERE fits IS NULL) AS needs_screening
        FROM (SELECT {overall} AS fits FROM panel)
    """


class _Sql(ThreeValued[str]):
    """Each criterion as a SQL expression over ``panel``: TRUE, FALSE, or NULL for unknown."""

    def __init__(self) -> None:
        super().__init__(_SqlLogic())

    def on_field(self, criterion: FieldComparison) -> str:
        return _comparison(criterion)

    def on_codes(self, criterion: CodeCriterion) -> str:
        return _codes(criterion)


class _SqlLogic:
    """SQL's NULL logic is Kleene's: ``all``/``any``/``not`` are ``AND``/``OR``/``NOT``."""

    @staticmethod
    def all_of(parts: list[str]) -> str:
        return "(" + " AND ".join(parts) + ")"

    @staticmethod
    def any_of(parts: list[str]) -> str:
        return "(" + " OR ".join(parts) + ")"

    @staticmethod
    def negation(part: str) -> str:
        return f"(NOT {part})"

    @staticmethod
    def at_least(count: int, parts: list[str]) -> str:
        met = " + ".join(f"CASE WHEN {p} THEN 1 ELSE 0 END" for p in parts)
        open_ = " + ".join(f"CASE WHEN {p} IS NULL THEN 1 ELSE 0 END" for p in parts)
        return (
            f"(CASE WHEN {met} >= {count} THEN TRUE WHEN {met} + {open_} < {count} THEN FALSE END)"
        )

    @staticmethod
    def resolve_unknown(sql: str, policy: str) -> str:
        if policy == "unknown":
            return sql
        return f"COALESCE({sql}, {'TRUE' if policy == 'met' else 'FALSE'})"

    @staticmethod
    def met_as_unknown(sql: str) -> str:
        return f"(CASE WHEN {sql} THEN NULL ELSE {sql} END)"


def _comparison(comparison: FieldComparison) -> str:
    column = str(comparison.field)
    if comparison.equals is not None:
        return f"({column} = {_literal(comparison.equals)})"
    if comparison.one_of is not None:
        return f"({column} IN ({', '.join(_literal(v) for v in comparison.one_of)}))"
    bounds = []
    if comparison.at_least is not None:
        bounds.append(f"{column} >= {comparison.at_least}")
    if comparison.at_most is not None:
        bounds.append(f"{column} <= {comparison.at_most}")
    return "(" + " AND ".join(bounds) + ")"


def _codes(criterion: CodeCriterion) -> str:
    codes = criterion.codes
    counted = " OR ".join(_covers(p) for p in codes.any_of)
    if codes.except_:
        counted = f"({counted}) AND NOT ({' OR '.join(_covers(e) for e in codes.except_)})"
    # A list that was not answered is NULL, and len(list_filter(NULL, ...)) > 0 is NULL.
    return f"(len(list_filter({criterion.system}, lambda c: {counted})) > 0)"


def _covers(pattern: str) -> str:
    """SQL for ``schemas.study_checks.covers(pattern, c)`` on one reported code ``c``."""
    if "-" in pattern:
        low, high = pattern.split("-")
        return f"(length(c) >= {len(low)} AND c[1:{len(low)}] BETWEEN '{low}' AND '{high}')"
    return f"starts_with(c, '{pattern}')"


def _literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)
