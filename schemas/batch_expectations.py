"""The batch contracts: Great Expectations suites that every export file must pass as a whole.

The row models decide each row; these suites decide the file. A failed expectation refuses
the whole file, however good most of its rows are: it means the export itself went wrong
(a form change, a broken clock, a systematic format error), and nothing of it is stored.

The suites run on a *batch frame* built by ``ingest.batch_gate``: the file's own columns
(contact details and free text blanked out, so no validation result or Data Docs page ever
holds them) followed by the derived columns named in ``DERIVED_COLUMNS``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

import great_expectations as gx
import great_expectations.expectations as gxe

from schemas.exports import ExportKind
from schemas.signup import MAX_AGE, MIN_AGE, ContactChannel, Pregnancy, Sex
from schemas.withdrawal import WithdrawalAction

#: Columns added to the file's own: where each row starts, whether it was quarantined, and
#: leniently parsed values for plausibility checks (NULL where a cell does not parse).
DERIVED_COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.SIGNUPS: (
        "_line",
        "_quarantined",
        "_birth_year",
        "_postcode",
        "_submitted_at",
        "_bmi",
    ),
    ExportKind.WITHDRAWALS: ("_line", "_quarantined", "_requested_at"),
}
#: The form went live after this; nothing is submitted or withdrawn earlier.
FORM_OPENED = datetime(2015, 1, 1, tzinfo=UTC)
#: Clocks differ a little; a timestamp further ahead of the file's arrival is a broken clock.
CLOCK_SKEW = timedelta(days=1)
YES_NO = [Pregnancy.YES.value, Pregnancy.NO.value]
_ADULTS = f"volunteers are adults, {MIN_AGE} to {MAX_AGE} years old"


def _values(choices: type[StrEnum]) -> list[str]:
    """What the form writes for each of ``choices`` (declared with the row models)."""
    return [choice.value for choice in choices]


def batch_suite(
    kind: ExportKind, quarantine_threshold: float, received_at: datetime
) -> gx.ExpectationSuite:
    """The suite for one file of ``kind`` received at ``received_at``."""
    common = _common(kind, quarantine_threshold)
    specific = (
        _signups(quarantine_threshold, received_at)
        if kind is ExportKind.SIGNUPS
        else _withdrawals(quarantine_threshold, received_at)
    )
    return gx.ExpectationSuite(name=f"{kind.value}-batch", expectations=[*common, *specific])


def _common(kind: ExportKind, threshold: float) -> list[gxe.Expectation]:
    return [
        gxe.ExpectTableColumnsToMatchOrderedList(
            column_list=[*kind.columns, *DERIVED_COLUMNS[kind]],
            meta={
                "why": "the exact columns of docs/export-format.md, in order: a form change "
                "refuses the file"
            },
        ),
        gxe.ExpectTableRowCountToBeBetween(min_value=1, meta={"why": "an export holds rows"}),
        gxe.ExpectColumnMeanToBeBetween(
            column="_quarantined",
            max_value=threshold,
            strict_max=True,
            meta={"why": f"the share of quarantined rows must stay under {threshold:.0%}"},
        ),
    ]


def _signups(threshold: float, received_at: datetime) -> list[gxe.Expectation]:
    mostly = 1 - threshold
    year = received_at.year
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="indsendelse_id", mostly=mostly),
        gxe.ExpectColumnValuesToBeUnique(
            column="indsendelse_id", meta={"why": "a submission id appears once in a file"}
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="_submitted_at",
            min_value=FORM_OPENED,
            max_value=received_at + CLOCK_SKEW,
            meta={"why": "no submission before the form opened or after the file arrived"},
        ),
        *(
            gxe.ExpectColumnValuesToBeBetween(
                column=column, min_value=low, max_value=high, mostly=mostly, meta={"why": why}
            )
            for column, low, high, why in (
                ("_birth_year", year - MAX_AGE - 1, year - MIN_AGE, _ADULTS),
                ("_postcode", 1000, 9990, "Danish postcodes run from 1000 to 9990"),
                ("_bmi", 12, 70, "height and weight together give a plausible BMI"),
            )
        ),
        gxe.ExpectColumnValuesToBeInSet(column="koen", value_set=_values(Sex), mostly=mostly),
        gxe.ExpectColumnValuesToNotBeNull(column="samtykke_kontakt", mostly=mostly),
        gxe.ExpectColumnValuesToBeInSet(column="samtykke_kontakt", value_set=YES_NO, mostly=mostly),
        gxe.ExpectColumnValuesToBeInSet(
            column="kontaktform", value_set=_values(ContactChannel), mostly=mostly
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="gravid", value_set=_values(Pregnancy), mostly=mostly
        ),
        *(
            gxe.ExpectColumnValuesToBeInSet(column=column, value_set=YES_NO, mostly=mostly)
            for column in ("ryger", "rls_trang", "rls_hvile", "rls_bevaegelse", "rls_aften")
        ),
    ]


def _withdrawals(threshold: float, received_at: datetime) -> list[gxe.Expectation]:
    return [
        gxe.ExpectColumnValuesToBeInSet(
            column="handling", value_set=_values(WithdrawalAction), mostly=1 - threshold
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="_requested_at",
            min_value=FORM_OPENED,
            max_value=received_at + CLOCK_SKEW,
            meta={"why": "no withdrawal before the form opened or after the file arrived"},
        ),
    ]
