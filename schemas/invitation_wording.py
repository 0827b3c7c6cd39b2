"""Wording that would tell an invitation's reader why its volunteer was invited.

An invitation goes to a volunteer because their health profile fits the study, so whatever
in it names a condition, a treatment or a criterion tells anyone who reads their mail what is
in that profile (GDPR art. 9). ``panel study check`` warns when the study's wording that
reaches invitations (``contact.organiser``, ``invitation_title``, ``involves``) uses one of
the study's own codes, a word of its title or criteria, or a Danish word for a health matter.
A warning, not an error: a word may be harmless where it stands, and the researcher decides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from schemas.study import CodeCriterion, ContactSettings, CriterionBase, StudyDefinition

#: What of a study reaches its invitations.
INVITATION_FIELDS = ("organiser", "invitation_title", "involves")

#: Danish words that name a health matter on their own (lower case, whole words).
HEALTH_WORDS = frozenset(
    [
        "allergi",
        "angst",
        "astma",
        "cancer",
        "demens",
        "depression",
        "diabetes",
        "diagnose",
        "diagnosen",
        "diagnoser",
        "diagnosticeret",
        "epilepsi",
        "gigt",
        "graviditet",
        "gravid",
        "hiv",
        "hjertesygdom",
        "kol",
        "kræft",
        "leversygdom",
        "lidelse",
        "lidelser",
        "medicin",
        "medicinen",
        "migræne",
        "nyresygdom",
        "overvægt",
        "parkinson",
        "patient",
        "patienter",
        "psykisk",
        "sclerose",
        "smerter",
        "sukkersyge",
        "symptom",
        "symptomer",
        "sygdom",
        "sygdomme",
        "syndrom",
    ]
)
#: Words of titles and criteria that say nothing of anyone's health.
_PLAIN = frozenset(
    [
        "about",
        "above",
        "after",
        "already",
        "answer",
        "answered",
        "before",
        "below",
        "criteria",
        "criterion",
        "current",
        "currently",
        "during",
        "either",
        "equals",
        "every",
        "inclusive",
        "least",
        "match",
        "months",
        "nights",
        "other",
        "reported",
        "should",
        "single",
        "their",
        "these",
        "those",
        "under",
        "weekly",
        "within",
        "without",
        "years",
    ]
)
#: Profile fields that say who and where someone is, not how they are.
_DEMOGRAPHIC = frozenset({"age", "sex", "region", "postcode", "months_since_update"})
_WORD = re.compile(r"[^\W\d_]+")
_CODE = re.compile(r"\b[A-Z]\d{2}[0-9A-Z.]*\b")
_ACRONYM = re.compile(r"\b[A-Z]{3,}\b")


def revealing_words(study: StudyDefinition) -> list[tuple[str, str]]:
    """(field, message) for each invitation field that uses a revealing word or code."""
    return contact_revealing_words(study.contact, study.title, study.criteria())


def contact_revealing_words(
    contact: ContactSettings, title: str, criteria: Sequence[CriterionBase]
) -> list[tuple[str, str]]:
    """``revealing_words`` of a study's contact settings, its title and its criteria (nested
    ones included), for when only these parts of a study are known to be valid."""
    own = _own_words(title, criteria)
    codes = _codes(criteria)
    found = []
    for field in INVITATION_FIELDS:
        text = getattr(contact, field) or ""
        words = {word.lower() for word in _WORD.findall(text)}
        hits = sorted(words & own) + sorted((words & HEALTH_WORDS) - own)
        hits += sorted({code for code in _CODE.findall(text.upper()) if code in codes})
        if hits:
            said = ", ".join(f"'{hit}'" for hit in hits)
            found.append(
                (
                    field,
                    f"says {said}, which may tell whoever reads an invitation why its volunteer "
                    "was chosen: invitations must not reveal anything of a health profile",
                )
            )
    return found


def _own_words(title: str, criteria: Sequence[CriterionBase]) -> set[str]:
    """Words of six letters or more, and acronyms, of the study's title and of its criteria
    but those on who and where someone is (age, sex, region, ...)."""
    health = [c for c in criteria if getattr(c, "field", None) not in _DEMOGRAPHIC]
    texts = [title, *(criterion.label for criterion in health)]
    words = {w.lower() for text in texts for w in _WORD.findall(text) if len(w) >= 6}
    acronyms = {a.lower() for text in texts for a in _ACRONYM.findall(text)}
    return (words - _PLAIN) | acronyms


def _codes(criteria: Sequence[CriterionBase]) -> set[str]:
    patterns = [
        pattern
        for criterion in criteria
        if isinstance(criterion, CodeCriterion)
        for pattern in (*criterion.codes.any_of, *criterion.codes.except_)
    ]
    return {code for pattern in patterns for code in _CODE.findall(str(pattern).upper())}
