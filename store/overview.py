"""The panel at a glance, for ``panel status``: how many volunteers, in which state, and the
diagnoses they report that WHO's ICD-10 does not know."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from schemas.code_lists import count_codes, unknown_icd10
from store.tables import CURRENT_PROFILE, Profile, QuarantinedRecord, Volunteer


@dataclass(frozen=True)
class PanelOverview:
    volunteers: int
    contactable: int
    withdrawn: int
    erased: int
    profiles: int
    quarantined_open: int


def overview(connection: Connection) -> PanelOverview:
    volunteers = connection.scalar(
        select(func.count()).select_from(Volunteer).where(Volunteer.erased_at.is_(None))
    )
    erased = connection.scalar(
        select(func.count()).select_from(Volunteer).where(Volunteer.erased_at.is_not(None))
    )
    withdrawn = connection.scalar(
        select(func.count())
        .select_from(Volunteer)
        .join(Profile, CURRENT_PROFILE)
        .where(Volunteer.withdrawn_at >= Profile.submitted_at)
    )
    contactable = connection.scalar(
        select(func.count())
        .select_from(Volunteer)
        .join(Profile, CURRENT_PROFILE)
        .where(
            Profile.consent_contact.is_(True),
            (Volunteer.withdrawn_at.is_(None)) | (Volunteer.withdrawn_at < Profile.submitted_at),
        )
    )
    profiles = connection.scalar(select(func.count()).select_from(Profile))
    open_quarantine = connection.scalar(
        select(func.count())
        .select_from(QuarantinedRecord)
        .where(QuarantinedRecord.resolved_at.is_(None))
    )
    return PanelOverview(
        int(volunteers or 0),
        int(contactable or 0),
        int(withdrawn or 0),
        int(erased or 0),
        int(profiles or 0),
        int(open_quarantine or 0),
    )


def unknown_diagnoses(connection: Connection) -> dict[str, int]:
    """Per diagnosis code in current profiles that WHO's ICD-10 does not know (the Danish
    hospital code system extends it), how many volunteers report it, the most frequent first.

    The database counts the distinct ``|``-joined lists (a panel has far fewer of them than
    volunteers); each is split once here, the same way on SQLite and PostgreSQL."""
    lists = connection.execute(
        select(Profile.diagnoses, func.count())
        .select_from(Volunteer)
        .join(Profile, CURRENT_PROFILE)
        .where(Profile.diagnoses.is_not(None), Profile.diagnoses != "")
        .group_by(Profile.diagnoses)
    )
    return unknown_icd10(count_codes((cell or "", int(count)) for cell, count in lists))
