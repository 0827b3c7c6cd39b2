"""Reading the form's Danish cell formats (docs/export-format.md, "Common rules")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from schemas.codes import CodeSystem, code_list_reader
from schemas.danish_formats import (
    COPENHAGEN,
    read_date,
    read_decimal_comma,
    read_timestamp,
    read_yes_no,
)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_every_date_written_dd_mm_yyyy_reads_back(day: date) -> None:
    assert read_date(day.strftime("%d-%m-%Y")) == day


@given(
    st.datetimes(
        min_value=datetime(2015, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
    )
)
def test_timestamps_are_danish_local_time_and_timezone_aware(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    local = moment.astimezone(COPENHAGEN)
    parsed = read_timestamp(local.strftime("%d-%m-%Y %H:%M:%S"))
    assert parsed.tzinfo is not None
    # Local wall-clock times repeat in the October fall-back hour; the first reading is kept.
    assert parsed == moment or parsed == moment - timedelta(hours=1)


def test_summer_and_winter_offsets() -> None:
    assert read_timestamp("02-03-2026 21:14:05").utcoffset() == timedelta(hours=1)
    assert read_timestamp("02-07-2026 21:14:05").utcoffset() == timedelta(hours=2)
    # The repeated hour on 25-10-2026 reads as summer time (its first occurrence).
    assert read_timestamp("25-10-2026 02:30:00").utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1975-03-02", "written year first"),
        ("31-02-1975", "not a real calendar date"),
        ("2-3-1975", "not a date"),
        ("", "not a date"),
    ],
)
def test_wrong_dates_say_why(text: str, reason: str) -> None:
    with pytest.raises(PydanticCustomError, match=reason):
        read_date(text)


def test_an_iso_timestamp_is_refused_not_misread() -> None:
    with pytest.raises(PydanticCustomError, match="year first"):
        read_timestamp("2026-03-02 21:14:05")


@given(st.decimals(min_value=0, max_value=999, places=1, allow_nan=False, allow_infinity=False))
def test_decimal_comma(number) -> None:  # type: ignore[no-untyped-def]
    assert read_decimal_comma(str(number).replace(".", ",")) == pytest.approx(float(number))


def test_a_decimal_point_is_refused_with_the_right_spelling() -> None:
    with pytest.raises(PydanticCustomError, match=r"decimal point.*\(72,5\)"):
        read_decimal_comma("72.5")


def test_yes_no() -> None:
    assert read_yes_no("Ja") is True
    assert read_yes_no("Nej") is False
    with pytest.raises(PydanticCustomError, match="expected Ja or Nej"):
        read_yes_no("ja")


def test_code_lists_keep_none_apart_from_not_answered() -> None:
    read = code_list_reader(CodeSystem.ICD10)
    assert read("INGEN") == ()
    assert read(" g25.8 | n18.3 |G25.8") == ("G25.8", "N18.3")
    with pytest.raises(PydanticCustomError, match="mixes INGEN"):
        read("INGEN|G25.8")
    with pytest.raises(PydanticCustomError, match="not an ICD-10 code"):
        read("G2X.8")


@given(
    st.lists(
        st.from_regex(r"[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?", fullmatch=True),
        min_size=1,
        max_size=5,
    )
)
def test_atc_lists_normalise_to_upper_case_without_spaces(codes: list[str]) -> None:
    messy = "|".join(f" {code.lower()} " for code in codes)
    assert code_list_reader(CodeSystem.ATC)(messy) == tuple(dict.fromkeys(codes))
