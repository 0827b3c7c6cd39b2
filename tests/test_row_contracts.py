"""The row contracts: what a valid signup or withdrawal row is, and what the reasons say."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.row_problems import row_problems
from schemas.signup import UNQUOTED_COLUMNS, ContactChannel, Pregnancy, Sex, SignupRow, age_on
from schemas.withdrawal import WithdrawalAction, WithdrawalRow
from tests.helpers import signup

#: A valid row as the reader hands it over: text cells, None where a cell is empty.
VALID: dict[str, str | None] = {
    column: cell or None
    for column, cell in signup(
        indsendelse_id="3F6C2A1E-8D4B-4C1A-9B7E-2A5D6E7F8A01",
        fornavn=" Søren ",
        email="Soeren.Aerboe@Example.dk",
        diagnoser=" g25.8 ",
        andet="=1+1 <script>alert(1)</script>",
    ).items()
}


def problems_of(**changes: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        SignupRow.model_validate(VALID | changes)
    return {p.column: p.reason for p in row_problems(caught.value, SignupRow, UNQUOTED_COLUMNS)}


def test_a_valid_row_is_normalised() -> None:
    row = SignupRow.model_validate(VALID)
    assert row.submission_id == "3f6c2a1e-8d4b-4c1a-9b7e-2a5d6e7f8a01"
    assert row.submitted_at.utcoffset() == timedelta(hours=1)
    assert (row.first_name, row.email, row.phone) == (
        "Søren",
        "soeren.aerboe@example.dk",
        "+4520112233",
    )
    assert row.sex is Sex.MALE and row.sex.name == "MALE"
    assert (row.diagnoses, row.medicines) == (("G25.8",), ())
    assert row.weight_kg == 88.5 and row.height_cm == 182
    assert row.pregnant is None and row.smoker is False and row.rls_urge is True
    assert row.contact_channel is ContactChannel.EMAIL
    # Free text is data, never code: kept exactly as written.
    assert row.free_text == "=1+1 <script>alert(1)</script>"


def test_empty_lists_and_none_lists_differ() -> None:
    assert SignupRow.model_validate(VALID | {"medicin": None}).medicines is None
    assert SignupRow.model_validate(VALID | {"medicin": "INGEN"}).medicines == ()


@pytest.mark.parametrize(
    ("change", "column", "reason"),
    [
        ({"foedselsdato": "1975-03-02"}, "foedselsdato", "written year first"),
        ({"vaegt_kg": "72.5"}, "vaegt_kg", "decimal comma (72,5)"),
        ({"email": "soeren.example.dk"}, "email", "is not an e-mail address"),
        ({"foedselsdato": "14-07-2030"}, "foedselsdato", "after the submission date"),
        ({"foedselsdato": "14-07-2010"}, "foedselsdato", "age 15"),
        (
            {"fornavn": '=HYPERLINK("http://x")'},
            "fornavn",
            "begins with '=', like a spreadsheet formula",
        ),
        ({"efternavn": "@SUM(A1)"}, "efternavn", "begins with '@'"),
        ({"postnummer": "0800"}, "postnummer", "not a Danish postcode"),
        ({"postnummer": "9991"}, "postnummer", "not a Danish postcode"),
        ({"diagnoser": "INGEN|G25.8"}, "diagnoser", "mixes INGEN"),
        ({"samtykke_kontakt": None}, "samtykke_kontakt", "required but empty"),
        ({"kontaktform": None}, "kontaktform", "required when samtykke_kontakt is Ja"),
        ({"gravid": "Ja"}, "gravid", "only when koen is Kvinde"),
        ({"koen": "mand"}, "koen", "'mand' is not one of Kvinde, Mand or Andet"),
        ({"hoejde_cm": "95"}, "hoejde_cm", "outside the allowed range 120 to 230"),
        ({"rls_naetter_pr_uge": "8"}, "rls_naetter_pr_uge", "0 to 7"),
        ({"indsendelse_id": "not-a-uuid"}, "indsendelse_id", "is not a submission id"),
        ({"telefon": "12 34"}, "telefon", "not a Danish phone number"),
        ({"andet": "x" * 2001}, "andet", "2,001 characters long; at most 2,000"),
    ],
)
def test_each_kind_of_damage_names_its_column_and_reason(
    change: dict[str, str | None], column: str, reason: str
) -> None:
    problems = problems_of(**change)
    assert column in problems, problems
    assert reason in problems[column]


def test_every_problem_of_a_row_is_reported() -> None:
    problems = problems_of(foedselsdato="1975-03-02", vaegt_kg="72.5", email="x", postnummer="1")
    assert set(problems) == {"foedselsdato", "vaegt_kg", "email", "postnummer"}


def test_contact_details_and_free_text_are_never_quoted_in_a_reason() -> None:
    secret = "soeren-secret"
    problems = problems_of(email=secret, fornavn="=" + secret, telefon=secret, andet=secret * 200)
    assert all(secret not in reason for reason in problems.values()), problems


def test_a_huge_cell_is_reported_in_a_line_not_echoed() -> None:
    problems = problems_of(koen="x" * 5_000_000)
    assert len(problems["koen"]) < 200


def test_pregnancy_is_asked_of_women_only() -> None:
    woman = SignupRow.model_validate(VALID | {"koen": "Kvinde", "gravid": "Ved ikke"})
    assert woman.pregnant is Pregnancy.UNKNOWN
    assert "gravid" in problems_of(koen="Andet", gravid="Nej")


def test_age_counts_whole_years_on_the_day() -> None:
    assert age_on(date(2000, 2, 29), date(2018, 2, 28)) == 17
    assert age_on(date(2000, 2, 29), date(2018, 3, 1)) == 18
    assert age_on(date(1961, 7, 14), date(2026, 7, 14)) == 65


def test_withdrawal_rows() -> None:
    row = WithdrawalRow.model_validate(
        {"email": " Peter@Example.DK ", "tidspunkt": "15-03-2026 10:00:00", "handling": "slet"}
    )
    assert (row.email, row.action) == ("peter@example.dk", WithdrawalAction.ERASE)
    with pytest.raises(ValidationError) as caught:
        WithdrawalRow.model_validate(
            {"email": "x@y.dk", "tidspunkt": "15-03-2026", "handling": "slette"}
        )
    reasons = {p.column: p.reason for p in row_problems(caught.value, WithdrawalRow)}
    assert reasons["handling"] == "'slette' is not one of afmeld or slet"
    assert "dd-mm-yyyy HH:MM:SS" in reasons["tidspunkt"]
