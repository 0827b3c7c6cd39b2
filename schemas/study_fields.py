"""The profile fields a study's criteria may name, what values they take, and how derived
fields are computed (the computing itself is in ``matching``).

Consent, withdrawals and contact details are deliberately not here: they are never criteria
(a volunteer without current consent is never a candidate, whatever a study says).

The answered fields are ``schemas.signup.SignupRow``'s, the one declaration of the profile;
this table adds what researchers read (meaning, unit) and the fields derived at match time.
Its choices follow from the row model's enums; tests/test_one_declaration.py holds every
answered field, its bounds and its choices to the row model, and every field matching reads
to a criterion here, a code system, or a field a derived one comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from schemas.signup import Sex


class FieldKind(StrEnum):
    NUMBER = "number"
    CHOICE = "choice"
    YES_NO = "yes/no"


class Region(StrEnum):
    """Denmark's five regions, as criteria name them."""

    HOVEDSTADEN = "hovedstaden"
    SJAELLAND = "sjaelland"
    SYDDANMARK = "syddanmark"
    MIDTJYLLAND = "midtjylland"
    NORDJYLLAND = "nordjylland"

    @property
    def display_name(self) -> str:
        return {
            Region.HOVEDSTADEN: "Region Hovedstaden",
            Region.SJAELLAND: "Region Sjælland",
            Region.SYDDANMARK: "Region Syddanmark",
            Region.MIDTJYLLAND: "Region Midtjylland",
            Region.NORDJYLLAND: "Region Nordjylland",
        }[self]


@dataclass(frozen=True)
class ProfileField:
    name: str
    kind: FieldKind
    meaning: str
    #: Inclusive bounds of what the field can hold (numbers), or its values (choices).
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    #: Computed at match time rather than answered on the form.
    derived: bool = False
    #: Known for every volunteer: answered on every valid signup (or derived from what is),
    #: so a criterion on it is never unknown and needs no screening question.
    always_known: bool = False
    #: The form asks it only of volunteers of these sexes (stored values); empty: everyone.
    asked_of: tuple[str, ...] = ()
    #: For a volunteer the form did not ask, what the missing answer means, by sex; a sex
    #: not listed here leaves it unknown (a question for screening).
    not_asked_means: tuple[tuple[str, bool], ...] = ()


def stored_choices(choices: type[StrEnum]) -> tuple[str, ...]:
    """A choice's values as the store keeps them: the member names, in lower case."""
    return tuple(member.name.lower() for member in choices)


FIELDS: dict[str, ProfileField] = {
    field.name: field
    for field in (
        ProfileField(
            "age",
            FieldKind.NUMBER,
            "age in whole years on the match date",
            18,
            110,
            derived=True,
            always_known=True,
            unit="years",
        ),
        ProfileField(
            "bmi",
            FieldKind.NUMBER,
            "weight / height² from the current profile",
            5,
            200,
            derived=True,
            unit="kg/m²",
        ),
        ProfileField(
            "region",
            FieldKind.CHOICE,
            "Danish region, from the postcode (an approximation)",
            choices=tuple(region.value for region in Region),
            derived=True,
        ),
        ProfileField(
            "months_since_update",
            FieldKind.NUMBER,
            "whole months from the current profile's submission to the match date",
            0,
            1200,
            derived=True,
            always_known=True,
            unit="months",
        ),
        ProfileField(
            "sex", FieldKind.CHOICE, "sex", choices=stored_choices(Sex), always_known=True
        ),
        ProfileField(
            "postcode", FieldKind.NUMBER, "postcode, as a number", 1000, 9990, always_known=True
        ),
        ProfileField("height_cm", FieldKind.NUMBER, "height", 120, 230, unit="cm"),
        ProfileField("weight_kg", FieldKind.NUMBER, "weight", 30, 300, unit="kg"),
        ProfileField(
            "pregnant",
            FieldKind.YES_NO,
            "pregnant now; asked of women only: no for men, unknown for others",
            asked_of=(Sex.FEMALE.name.lower(),),
            not_asked_means=((Sex.MALE.name.lower(), False),),
        ),
        ProfileField("smoker", FieldKind.YES_NO, "smokes"),
        ProfileField("rls_urge", FieldKind.YES_NO, "urge to move the legs (IRLSSG 1)"),
        ProfileField("rls_at_rest", FieldKind.YES_NO, "urge begins or worsens at rest (IRLSSG 2)"),
        ProfileField(
            "rls_relieved_by_movement", FieldKind.YES_NO, "urge relieved by movement (IRLSSG 3)"
        ),
        ProfileField("rls_evening", FieldKind.YES_NO, "urge worse in the evening (IRLSSG 4)"),
        ProfileField(
            "rls_nights_per_week",
            FieldKind.NUMBER,
            "nights a week with leg symptoms",
            0,
            7,
            unit="nights",
        ),
        ProfileField("sleep_quality", FieldKind.NUMBER, "sleep quality, 1 (very poor) to 5", 1, 5),
    )
}

#: The code systems a criterion may ask about, by the key that names them in a study file.
CODE_SYSTEMS = {"diagnoses": "ICD-10", "medicines": "ATC"}
