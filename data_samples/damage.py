"""Damaged rows: each kind breaks exactly one rule of docs/export-format.md, in one known column.

The ingest quarantines such rows; everything else in a damaged row stays valid.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Literal, get_args

from data_samples.form_values import form_date, read_form_date

DamageKind = Literal[
    "iso_date",
    "decimal_point",
    "email_without_at",
    "birth_date_future",
    "formula_name",
    "bad_postcode",
    "bad_code",
    "missing_consent",
    "gravid_for_man",
]
DAMAGE_KINDS: tuple[DamageKind, ...] = get_args(DamageKind)

#: The column each kind damages (``formula_name`` hits ``fornavn`` or ``efternavn``).
DAMAGED_COLUMN: dict[DamageKind, str] = {
    "iso_date": "foedselsdato",
    "decimal_point": "vaegt_kg",
    "email_without_at": "email",
    "birth_date_future": "foedselsdato",
    "formula_name": "fornavn",
    "bad_postcode": "postnummer",
    "bad_code": "diagnoser",
    "missing_consent": "samtykke_kontakt",
    "gravid_for_man": "gravid",
}

_AT_REPLACEMENTS = ("", ".", "(at)", " ")
_FORMULA_NAMES = ('=HYPERLINK("http://x","klik")', "=1+1", "=cmd|' /C calc'!A0", "@SUM(1+1)")
_BAD_POSTCODES = ("0800", "123", "0999", "12345", "9999", "800O")
_BAD_DIAGNOSES = ("G2X.8", "INGEN|G25.8", "G25.8|INGEN", "G25,8", "GG25.8", "I10|E11.999")


def _future_birth_date(values: dict[str, str], rng: random.Random) -> str:
    submitted = read_form_date(values["indsendt"][:10])
    born = read_form_date(values["foedselsdato"])
    if born.year < 2000 and rng.random() < 0.6:
        try:  # a slipped century, 1961 -> 2061
            typo = born.replace(year=born.year + 100)
        except ValueError:
            typo = born
        if typo > submitted:
            return form_date(typo)
    return form_date(submitted + timedelta(days=rng.randint(1, 400)))


def _formula_name(name: str, rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice("=+-@") + name
    return rng.choice(_FORMULA_NAMES)


def damage(
    values: dict[str, str], kind: DamageKind, rng: random.Random
) -> tuple[dict[str, str], str]:
    """A copy of a valid row, broken in the way ``kind`` names; and the column that breaks."""
    row = dict(values)
    column = DAMAGED_COLUMN[kind]
    if kind == "iso_date":
        born = row["foedselsdato"]
        row[column] = f"{born[6:10]}-{born[3:5]}-{born[:2]}"
    elif kind == "decimal_point":
        weight = row[column] or f"{rng.uniform(50.0, 110.0):.1f}"
        row[column] = weight.replace(",", ".")
    elif kind == "email_without_at":
        row[column] = row[column].replace("@", rng.choice(_AT_REPLACEMENTS))
    elif kind == "birth_date_future":
        row[column] = _future_birth_date(row, rng)
    elif kind == "formula_name":
        column = rng.choice(("fornavn", "efternavn"))
        row[column] = _formula_name(row[column], rng)
    elif kind == "bad_postcode":
        row[column] = rng.choice(_BAD_POSTCODES)
    elif kind == "bad_code":
        row[column] = rng.choice(_BAD_DIAGNOSES)
    elif kind == "missing_consent":
        row[column] = ""
        row["kontaktform"] = ""
    elif kind == "gravid_for_man":
        row["koen"] = "Mand"
        row[column] = "Ja"
    return row, column
