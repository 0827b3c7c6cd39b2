"""The obvious alternative to the engine, for the benchmark: the same study as DuckDB SQL.

SQL's NULL logic is Kleene's three-valued logic (``NULL AND FALSE`` is ``FALSE``, ``NULL OR
TRUE`` is ``TRUE``), so a criterion that is unknown is ``NULL`` and ``all``/``any``/``not``
translate word for word. The derived fields are computed in SQL too, once per run, from the same
profiles the engine gets (``panel_sql``), as the engine's ``prepare_panel`` does; so is each
profile version's Danish calendar day, from the same versions (``versions_sql``), for criteria
with a window.
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


def versions_sql() -> str:
    """``CREATE TABLE versions`` from ``history`` (every profile version, the current one
    included: ``matching.history.HISTORY_COLUMNS``), with the Danish day each was submitted."""
    return """
        CREATE OR REPLACE TABLE versions AS
        SELECT
            volunteer_id,
            submitted_at,
            CAST(timezone('Europe/Copenhagen', submitted_at) AS DATE) AS submitted_on,
            list_filter(string_split(diagnoses, '|'), lambda c: c <> '') AS diagnoses,
            list_filter(string_split(medicines, '|'), lambda c: c <> '') AS medicines
        FROM history
    """


def status_counts_sql(study: StudyDefinition, as_of: date | None = None) -> str:
    """Eligible (the whole definition true) and needs screening (it is NULL), over ``panel``
    (and ``versions``, for criteria with a window ending on ``as_of``)."""
    sql = _Sql(as_of)
    overall = " AND ".join(
        [*(sql(c) for c in study.inclusion), *(f"NOT {sql(c)}" for c in study.exclusion)]
    )
    windows = ", ".join(f"{name} AS ({query})" for name, query in sql.windows)
    joins = " ".join(f"LEFT JOIN {name} USING (volunteer_id)" for name, _ in sql.windows)
    return f"""
        {f"WITH {windows}" if windows else ""}
        SELECT count(*) FILTER (WHERE fits) AS eligible,
               count(*) FILTER (WHERE fits IS NULL) AS needs_screening
        FROM (SELECT {overall} AS fits FROM panel {joins})
    """


class _Sql(ThreeValued[str]):
    """Each criterion as a SQL expression over ``panel``: TRUE, FALSE, or NULL for unknown. A
    criterion with a window is a column of its own query over ``versions`` (``windows``, by
    name), joined to ``panel``."""

    def __init__(self, as_of: date | None = None) -> None:
        super().__init__(_SqlLogic())
        self.as_of = as_of
        self.windows: list[tuple[str, str]] = []

    def on_field(self, criterion: FieldComparison) -> str:
        return _comparison(criterion)

    def on_codes(self, criterion: CodeCriterion) -> str:
        if criterion.window is None:
            return _codes(criterion)
        if self.as_of is None:
            raise ValueError(f"{criterion.id} has a window: the SQL needs the match date")
        name = f"window_{len(self.windows)}"
        self.windows.append((name, _window(criterion, self.as_of)))
        return f"{name}.outcome"


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


def _window(criterion: CodeCriterion, as_of: date) -> str:
    """Per volunteer who has a profile version in effect during the window: TRUE when one
    reports a code of the set, FALSE when every one answered and none does, NULL otherwise (a
    volunteer without a row is unknown too: no version was in effect)."""
    window = criterion.window
    assert window is not None
    last_day = f"DATE '{as_of.isoformat()}'"
    start = window.start(as_of)
    if start is None:  # ever: every version up to the match date
        in_effect = f"SELECT * FROM versions WHERE submitted_on <= {last_day}"
    else:
        # The one current when the window opened (the latest submitted before its first day)
        # and every one submitted from its first day to the match date.
        first_day = f"DATE '{start.isoformat()}'"
        in_effect = f"""
            SELECT version.* FROM versions AS version
            LEFT JOIN (
                SELECT volunteer_id, max(submitted_at) AS submitted_at FROM versions
                WHERE submitted_on < {first_day} GROUP BY volunteer_id
            ) AS opened USING (volunteer_id)
            WHERE version.submitted_on <= {last_day}
              AND (version.submitted_on >= {first_day}
                   OR version.submitted_at = opened.submitted_at)
        """
    return f"""
        SELECT volunteer_id,
               CASE WHEN bool_or({_codes(criterion)}) THEN TRUE
                    WHEN bool_and({criterion.system} IS NOT NULL) THEN FALSE
               END AS outcome
        FROM ({in_effect})
        GROUP BY volunteer_id
    """


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
