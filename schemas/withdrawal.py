"""The contract for one row of the form's ``afmeldinger`` export: a withdrawal."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from schemas.signup import Email, Timestamp

WITHDRAWAL_COLUMNS: tuple[str, ...] = ("email", "tidspunkt", "handling")


class WithdrawalAction(StrEnum):
    #: Never contact me again; the profile may stay.
    UNSUBSCRIBE = "afmeld"
    #: Erase me (GDPR art. 17).
    ERASE = "slet"


class WithdrawalRow(BaseModel):
    """One withdrawal request, validated and normalised."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    email: Email = Field(alias="email")
    requested_at: Timestamp = Field(alias="tidspunkt")
    action: Annotated[WithdrawalAction, Field(alias="handling")]
