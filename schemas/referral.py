"""The contract of a referral: a volunteer's yes, as the study team gets it, and what happened
next.

A yes on the answer page becomes a referral. If the volunteer was invited while some of the
study's criteria were unknown, the page first asks those criteria's screening questions and
evaluates the answers with the study's own criteria: met or still unknown refers them (the
study team screens what is still unknown), not met thanks them without referring them.

The study team takes a referral (from then on the answer cannot be changed) and records what
happened next, step by step; the latest step is where the referral stands.
"""

from __future__ import annotations

from enum import StrEnum


class Screening(StrEnum):
    """Where a yes stands with the screening questions."""

    #: Invited with nothing unknown: no question to ask.
    NOT_NEEDED = "not_needed"
    #: Questions asked and not all answered yet: not referred until they are.
    ASKED = "asked"
    #: The answers met every unknown criterion: eligible.
    MET = "met"
    #: Some criterion still unknown after the answers: referred, the study team screens.
    UNKNOWN = "unknown"
    #: The answers ruled them out: thanked, not referred.
    NOT_MET = "not_met"

    @property
    def refers(self) -> bool:
        """Whether a yes in this state reaches the study team."""
        return self in (Screening.NOT_NEEDED, Screening.MET, Screening.UNKNOWN)


class ReferralStep(StrEnum):
    """What the study team records of a referral, in the order it usually happens."""

    REACHED = "reached"
    SCREENED = "screened"
    ENROLLED = "enrolled"
    #: Not eligible at the study team's screening; a reason from ``NotEligibleReason``.
    NOT_ELIGIBLE = "not_eligible"
    DECLINED = "declined"
    #: A note changes nothing but the history.
    NOTE = "note"

    @property
    def closes(self) -> bool:
        """Whether the referral ends here without the volunteer taking part."""
        return self in (ReferralStep.NOT_ELIGIBLE, ReferralStep.DECLINED)


class NotEligibleReason(StrEnum):
    """Why a referral was not eligible at the study team's screening (no health detail of
    the person: the kind of reason only)."""

    INCLUSION_NOT_MET = "inclusion_not_met"
    EXCLUSION_MET = "exclusion_met"
    MEDICAL_ASSESSMENT = "medical_assessment"
    PRACTICAL = "practical"
    OTHER = "other"


#: Each step and reason as the study team reads it (Danish, as the rest of the team's pages).
STEP_WORDS = {
    ReferralStep.REACHED: "Kontaktet",
    ReferralStep.SCREENED: "Screenet",
    ReferralStep.ENROLLED: "Inkluderet",
    ReferralStep.NOT_ELIGIBLE: "Ikke egnet ved screening",
    ReferralStep.DECLINED: "Takkede nej",
    ReferralStep.NOTE: "Note",
}
REASON_WORDS = {
    NotEligibleReason.INCLUSION_NOT_MET: "Opfylder ikke et inklusionskriterium",
    NotEligibleReason.EXCLUSION_MET: "Opfylder et eksklusionskriterium",
    NotEligibleReason.MEDICAL_ASSESSMENT: "Lægelig vurdering",
    NotEligibleReason.PRACTICAL: "Praktiske forhold (tid, transport, sted)",
    NotEligibleReason.OTHER: "Andet",
}
