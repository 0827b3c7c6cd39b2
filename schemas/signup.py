"""The contract for one row of the form's ``signups`` export: one submitted health profile.

``SignupRow`` validates and normalises the raw cells (the export's Danish column names are the
aliases; attributes are English). The reader hands it ``None`` for an empty cell and the text
otherwise. ``SignupRow.model_validate(cells, context={"received_at": ...})`` either returns a
normalised row or raises a ``ValidationError`` listing every problem in the row.

``SignupRow`` is also the one declaration of the profile's fields: the export's columns, where
each field is kept (``CONTACT_FIELDS``, ``NOTE_FIELD``, ``PROFILE_FIELDS``), what matching reads
(``MATCHED_FIELDS``) and the type each is stored as follow from it (see the end of the module).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from types import NoneType, UnionType
from typing import Annotated, Any, Self, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from schemas.codes import CodeSystem, code_list_reader
from schemas.danish_formats import read_date, read_decimal_comma, read_timestamp, read_yes_no

MIN_AGE, MAX_AGE = 18, 110


class Sex(StrEnum):
    """Member names are the normalised, stored values; values are what the form writes."""

    FEMALE = "Kvinde"
    MALE = "Mand"
    OTHER = "Andet"


class Pregnancy(StrEnum):
    YES = "Ja"
    NO = "Nej"
    UNKNOWN = "Ved ikke"


class ContactChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


#: A name holds a letter, no line break, and does not begin like a spreadsheet formula
#: (``=``, ``+``, ``-``, ``@``). Checked by pydantic-core's regex engine, not in Python.
NAME_PATTERN = r"^(?:\p{L}|[^=+\-@\r\n\p{L}][^\r\n\p{L}]*\p{L})[^\r\n]*$"
#: Danish postcodes: four digits, 1000 to 9990.
POSTCODE_PATTERN = r"^(?:[1-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|9990)$"
_PHONE_PREFIXES = ("+45", "0045")


def _danish_phone(value: str) -> str:
    """``+45 20 11 22 33``, ``0045 20112233``, ``20 11 22 33`` -> ``+4520112233``."""
    digits = value.replace(" ", "")
    for prefix in _PHONE_PREFIXES:
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
            break
    if len(digits) != 8 or not digits.isdigit():
        raise PydanticCustomError(
            "danish_phone", "is not a Danish phone number (8 digits, optionally +45 or 0045 first)"
        )
    return "+45" + digits


SubmissionId = Annotated[
    str,
    StringConstraints(
        to_lower=True,
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    ),
]
Email = Annotated[
    str, StringConstraints(to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
]
PersonName = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=NAME_PATTERN)]
Timestamp = Annotated[datetime, BeforeValidator(read_timestamp)]
DanishDate = Annotated[date, BeforeValidator(read_date)]
YesNo = Annotated[bool, BeforeValidator(read_yes_no)]


class SignupRow(BaseModel):
    """One submitted health profile, validated and normalised."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    submission_id: SubmissionId = Field(alias="indsendelse_id")
    submitted_at: Timestamp = Field(alias="indsendt")
    first_name: PersonName = Field(alias="fornavn")
    last_name: PersonName = Field(alias="efternavn")
    email: Email = Field(alias="email")
    phone: Annotated[str, AfterValidator(_danish_phone)] | None = Field(None, alias="telefon")
    birth_date: DanishDate = Field(alias="foedselsdato")
    sex: Sex = Field(alias="koen")
    postcode: Annotated[str, StringConstraints(pattern=POSTCODE_PATTERN)] = Field(
        alias="postnummer"
    )
    height_cm: Annotated[int, Field(ge=120, le=230)] | None = Field(None, alias="hoejde_cm")
    weight_kg: (
        Annotated[float, BeforeValidator(read_decimal_comma), Field(ge=30, le=300)] | None
    ) = Field(None, alias="vaegt_kg")
    diagnoses: (
        Annotated[tuple[str, ...], BeforeValidator(code_list_reader(CodeSystem.ICD10))] | None
    ) = Field(None, alias="diagnoser")
    medicines: (
        Annotated[tuple[str, ...], BeforeValidator(code_list_reader(CodeSystem.ATC))] | None
    ) = Field(None, alias="medicin")
    pregnant: Pregnancy | None = Field(None, alias="gravid")
    smoker: YesNo | None = Field(None, alias="ryger")
    rls_urge: YesNo | None = Field(None, alias="rls_trang")
    rls_at_rest: YesNo | None = Field(None, alias="rls_hvile")
    rls_relieved_by_movement: YesNo | None = Field(None, alias="rls_bevaegelse")
    rls_evening: YesNo | None = Field(None, alias="rls_aften")
    rls_nights_per_week: Annotated[int, Field(ge=0, le=7)] | None = Field(
        None, alias="rls_naetter_pr_uge"
    )
    sleep_quality: Annotated[int, Field(ge=1, le=5)] | None = Field(None, alias="soevnkvalitet")
    consent_contact: YesNo = Field(alias="samtykke_kontakt")
    contact_channel: ContactChannel | None = Field(None, alias="kontaktform")
    free_text: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, alias="andet"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        """Rules across fields; all broken ones are reported together."""
        problems: list[tuple[str, str, str, dict[str, Any]]] = []
        submitted = self.submitted_at.date()
        if self.birth_date > submitted:
            problems.append(
                (
                    "foedselsdato",
                    "birth_date",
                    "is after the submission date {day}",
                    {"day": submitted.strftime("%d-%m-%Y")},
                )
            )
        else:
            age = age_on(self.birth_date, submitted)
            if not MIN_AGE <= age <= MAX_AGE:
                problems.append(
                    (
                        "foedselsdato",
                        "age",
                        "gives age {age} at submission; the panel takes ages {low} to {high}",
                        {"age": age, "low": MIN_AGE, "high": MAX_AGE},
                    )
                )
        if self.pregnant is not None and self.sex is not Sex.FEMALE:
            problems.append(
                (
                    "gravid",
                    "not_asked",
                    "is answered, but the form asks it only when koen is Kvinde",
                    {},
                )
            )
        if self.consent_contact and self.contact_channel is None:
            problems.append(
                (
                    "kontaktform",
                    "required_with_consent",
                    "is required when samtykke_kontakt is Ja",
                    {},
                )
            )
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(kind, message, context),
                        loc=(column,),
                        input=None,
                    )
                    for column, kind, message, context in problems
                ],
            )
        return self


# --- where each field is kept: the one declaration of the profile's fields ---------------------
#
# ``SignupRow`` is the one list of what a submission holds; every other list of fields is
# derived from it here, or checked against it in tests/test_one_declaration.py: the export's
# columns (the aliases, in the export's order), the store's ``profile`` and ``contact`` columns
# (``store.tables``, checked: declarative tables and migrations are written out),
# what matching reads (``matching.panel.PROFILE_SCHEMA``, derived) and the fields a criterion
# may name (``schemas.study_fields.FIELDS``, checked: they add meanings, units and the fields
# derived at match time).

#: Who the volunteer is: kept apart, in ``contact``; only outreach reads it.
CONTACT_FIELDS: tuple[str, ...] = ("first_name", "last_name", "email", "phone")
#: The free text, which may say anything: kept in ``submission_note``, never read downstream.
NOTE_FIELD = "free_text"
#: Every other field is the profile: one row of ``profile`` per submission (versioned).
PROFILE_FIELDS: tuple[str, ...] = tuple(
    name for name in SignupRow.model_fields if name not in {*CONTACT_FIELDS, NOTE_FIELD}
)
#: Profile fields about contact, not health: the store selects who may be matched by them;
#: they are never a criterion.
CONSENT_FIELDS: tuple[str, ...] = ("consent_contact", "contact_channel")
#: What matching reads of each current profile: the health answers and when they were given.
MATCHED_FIELDS: tuple[str, ...] = tuple(
    name for name in PROFILE_FIELDS if name not in CONSENT_FIELDS
)


def column_of(name: str) -> str:
    """The export's column for a ``SignupRow`` field."""
    alias = SignupRow.model_fields[name].alias
    assert alias is not None, f"{name} has no export column"
    return alias


#: The export's columns, in order (``SignupRow``'s fields are declared in that order).
SIGNUP_COLUMNS: tuple[str, ...] = tuple(column_of(name) for name in SignupRow.model_fields)
#: Columns holding who the volunteer is; they never travel with the health answers.
CONTACT_COLUMNS = frozenset(column_of(name) for name in CONTACT_FIELDS)
#: Columns whose values are never repeated in a quarantine reason or a report.
UNQUOTED_COLUMNS = CONTACT_COLUMNS | {column_of(NOTE_FIELD)}


def stored_type(name: str) -> type:
    """The plain type a field's value is stored as: its annotation without ``None`` and
    constraints; a choice (an enum) and a code list (``|``-joined) as text."""
    kind: Any = SignupRow.model_fields[name].annotation
    while get_origin(kind) in (Union, UnionType, Annotated):
        kind = next(arg for arg in get_args(kind) if arg is not NoneType)
    if get_origin(kind) is tuple or issubclass(kind, StrEnum):
        return str
    return kind


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (a birthday on 29 February counts on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
