"""Recruiting in waves: how many a study invites now, and whom its quotas let in. Pure.

A study stops inviting when enough participants count toward its target (enrolled, or
referred and still open: ``store.referral_states``). Until then each contact run invites a
wave just big enough, at the answer rate seen so far, to bring in the participants still
needed, counting the invitations still waiting for an answer as part of it::

    needed   = target - counting
    rate     = (PRIOR_YES_RATE * PRIOR_WEIGHT + referred) / (PRIOR_WEIGHT + referred + settled)
    wave     = ceil(needed / rate) - awaiting, at least 0, at most the budget left

``referred`` are the study's invitations whose yes reached the study team, ``settled`` those
answered otherwise, or whose answer link no longer works (expired, erased) without a yes:
each has had its chance, as has one unanswered for ``ANSWER_WINDOW`` (three weeks).
``awaiting`` are those that still may be answered: queued, or sent within the window with a
working link and no answer yet, or a yes still answering the screening questions.
Invitations sent without an answer link (no ``PANEL_PUBLIC_URL``) can never be answered where
the panel sees it: they are neither (``SILENT``). The rate is the mean of a Beta prior
(``PRIOR_YES_RATE``, worth ``PRIOR_WEIGHT`` invitations) updated by the answers: before any
answer it is the prior, and the study's own answers outweigh the prior once there are more
of them than ``PRIOR_WEIGHT``. It is never 0, so a wave is always finite.

Quotas (``schemas.study_quotas``) work the same way per group: a group with room for ``r``
more under its ``at_most`` may get ``ceil(r / rate)`` invitations less its own awaiting ones
(none once full); a group short of its ``at_least`` has that many of the wave held for it and
its members chosen first, in the study's order; and the rest of the target (``target -
at_least``) is an ``at_most`` for everyone outside the group, so others cannot fill the
places it needs. The numbers are exact fractions: a wave does not depend on rounding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from schemas.study_quotas import GroupBounds, QuotaGroup
from store.invitations import QUEUED, SENDING, SENT
from store.wave_facts import GroupFacts, InvitationFacts

#: The yes rate assumed before a study has answers: a yes that reaches the study team per
#: invitation (docs/outreach.md, "Waves and quotas", says why 15 % and 20).
PRIOR_YES_RATE = Fraction(15, 100)
#: How many answered invitations the prior is worth.
PRIOR_WEIGHT = 20
#: How long an unanswered invitation counts as awaiting its answer; after it, as having had
#: its chance (a later answer still counts as it comes). Most answers come within days of the
#: invitation or of its reminder (after ``PANEL_REMINDER_DAYS``, 10): waiting for every link
#: to expire (``PANEL_ANSWER_DAYS``, 60) would stall a study for two months on the silence
#: of those who never answer, and count meanwhile only the quick answers, likelier yeses.
ANSWER_WINDOW = timedelta(days=21)


class Standing(StrEnum):
    """Where an invitation stands for the waves."""

    #: The volunteer said yes, and it reached the study team (a referral).
    REFERRED = "referred"
    #: Had its chance: answered no or stop, or yes and ruled out by the screening questions,
    #: or its link stopped working, or ``ANSWER_WINDOW`` passed, without an answer.
    SETTLED = "settled"
    #: May still be answered: queued or being sent, or sent within ``ANSWER_WINDOW`` with a
    #: working link and no answer yet, or a yes whose screening questions are still open.
    AWAITING = "awaiting"
    #: Sent without an answer link: its answer can never be counted.
    SILENT = "silent"


def standing(invitation: InvitationFacts, now: datetime) -> Standing | None:
    """Where the invitation stands (None: failed or cancelled, it counts for nothing)."""
    if invitation.referred:
        return Standing.REFERRED
    if invitation.status in (QUEUED, SENDING):
        return Standing.AWAITING
    if invitation.status != SENT:
        return None
    if invitation.link_expires_at is None:
        return Standing.SETTLED if invitation.answered else Standing.SILENT
    works = invitation.link_alive and now < invitation.link_expires_at
    if not works:
        return Standing.SETTLED
    if invitation.answered:
        return Standing.AWAITING if invitation.answering_questions else Standing.SETTLED
    sent_at = invitation.sent_at or now
    return Standing.AWAITING if now < sent_at + ANSWER_WINDOW else Standing.SETTLED


@dataclass(frozen=True)
class Recruitment:
    """A study's recruitment as a contact run finds it."""

    target: int
    #: One per participant counting toward the target (enrolled, or referred and open).
    counting: Sequence[GroupFacts]
    #: The study's invitations that count for the waves, with their volunteer's traits.
    invitations: Sequence[tuple[Standing, GroupFacts]]
    quotas: Sequence[GroupBounds] = ()

    def tally(self, standing: Standing, inside: Group | None = None) -> int:
        return sum(
            s is standing and (inside is None or inside.of(traits))
            for s, traits in self.invitations
        )

    def counted(self, inside: Group | None = None) -> int:
        return sum(inside is None or inside.of(traits) for traits in self.counting)


def expected_yes_rate(referred: int, settled: int) -> Fraction:
    """The Beta prior's mean after ``referred`` yeses of ``referred + settled`` chances."""
    return (PRIOR_YES_RATE * PRIOR_WEIGHT + referred) / (PRIOR_WEIGHT + referred + settled)


def invitations_for(needed: int, rate: Fraction, awaiting: int) -> int:
    """How many more invitations bring ``needed`` yeses at ``rate``, beyond the ``awaiting``
    ones already out (never fewer than none)."""
    if needed <= 0:
        return 0
    return max(0, math.ceil(needed / rate) - awaiting)


@dataclass(frozen=True)
class Group:
    """The volunteers of a quota's group, or (``outside``) everyone but them."""

    group: QuotaGroup
    outside: bool = False

    def of(self, traits: GroupFacts) -> bool:
        inside = self.group.holds(traits.sex, traits.age, traits.region)
        return inside != self.outside


class WaveHold(StrEnum):
    """Why someone who passes every contact rule is not in this wave."""

    STUDY_FULL = "study has enough participants"
    QUOTA_FULL = "their group's quota is full"
    WAVE_FULL = "not in this wave: waiting for answers"
    BUDGET_SPENT = "study's invitation budget spent"


@dataclass(frozen=True)
class Wave:
    """What a study invites now: how many, and each group's room (no personal data)."""

    size: int
    #: Participants still needed (None: not known, the budget alone limits the wave), and
    #: the answers the wave was sized from.
    needed: int | None
    rate: Fraction
    awaiting: int
    budget_left: int
    #: At most this many invitations to each group (its ``at_most`` room, or for those
    #: outside an ``at_least`` group, what the rest of the target leaves them).
    caps: dict[Group, int] = field(default_factory=dict)
    #: This many of the wave are held for each group short of its ``at_least``.
    reserves: dict[Group, int] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return self.needed is not None and self.needed <= 0

    def words(self) -> str:
        """The wave as reports say it (counts and a rate only)."""
        if self.needed is None:
            return f"wave of {self.size:,}, limited by the invitation budget"
        return (
            f"wave of {self.size:,}: still needed {max(0, self.needed):,}, expected yes rate "
            f"{float(self.rate):.0%}, {self.awaiting:,} awaiting an answer, "
            f"{self.budget_left:,} left of the budget"
        )

    @classmethod
    def budget_only(cls, budget_left: int) -> Wave:
        """A wave limited by the budget alone (no recruitment facts: the rules on their own)."""
        size = max(0, budget_left)
        return cls(size, None, PRIOR_YES_RATE, 0, size)


def plan_wave(recruitment: Recruitment, budget_left: int) -> Wave:
    """The study's wave: its size within ``budget_left``, and its quotas' caps and reserves."""
    rate = expected_yes_rate(
        recruitment.tally(Standing.REFERRED), recruitment.tally(Standing.SETTLED)
    )
    needed = recruitment.target - recruitment.counted()
    awaiting = recruitment.tally(Standing.AWAITING)
    budget_left = max(0, budget_left)
    size = min(budget_left, invitations_for(needed, rate, awaiting))
    caps: dict[Group, int] = {}
    reserves: dict[Group, int] = {}

    def room(group: Group, most: int) -> int:
        left = most - recruitment.counted(group)
        return invitations_for(left, rate, recruitment.tally(Standing.AWAITING, group))

    for bounds in recruitment.quotas:
        inside = Group(bounds.group)
        if bounds.at_most is not None:
            caps[inside] = room(inside, bounds.at_most)
        if bounds.at_least is not None:
            outside = Group(bounds.group, outside=True)
            rest = recruitment.target - bounds.at_least
            caps[outside] = room(outside, rest)
            short = room(inside, bounds.at_least)
            if short:
                reserves[inside] = min(size, short)
    return Wave(size, max(0, needed), rate, awaiting, budget_left, caps, reserves)


@dataclass
class WaveChoice:
    invite: list[str] = field(default_factory=list)
    held_back: dict[WaveHold, list[str]] = field(default_factory=dict)


def choose_wave(wave: Wave, candidates: Sequence[tuple[str, GroupFacts]]) -> WaveChoice:
    """Who of ``candidates`` (in the study's order, each passing every contact rule) is in
    the wave: first the members of each group short of its ``at_least``, up to what is held
    for it, then anyone, in order; nobody past a cap of one of their groups."""
    chosen = WaveChoice()
    if wave.full:
        chosen.held_back = {WaveHold.STUDY_FULL: [v for v, _ in candidates]} if candidates else {}
        return chosen
    left = dict(wave.caps)
    taken: set[str] = set()

    def fits(traits: GroupFacts) -> bool:
        return all(room > 0 for group, room in left.items() if group.of(traits))

    def take(volunteer_id: str, traits: GroupFacts) -> None:
        chosen.invite.append(volunteer_id)
        taken.add(volunteer_id)
        for group in left:
            if group.of(traits):
                left[group] -= 1

    for group, held in wave.reserves.items():
        members = sum(group.of(traits) for v, traits in candidates if v in taken)
        for volunteer_id, traits in candidates:
            if members >= held or len(chosen.invite) >= wave.size:
                break
            if volunteer_id not in taken and group.of(traits) and fits(traits):
                take(volunteer_id, traits)
                members += 1
    for volunteer_id, traits in candidates:
        if volunteer_id in taken:
            continue
        if len(chosen.invite) < wave.size and fits(traits):
            take(volunteer_id, traits)
            continue
        chosen.held_back.setdefault(_why_not(wave, traits, len(chosen.invite)), []).append(
            volunteer_id
        )
    # In the study's order, as the contact rules keep it.
    place = {volunteer_id: i for i, (volunteer_id, _) in enumerate(candidates)}
    chosen.invite.sort(key=place.__getitem__)
    return chosen


def _why_not(wave: Wave, traits: GroupFacts, invited: int) -> WaveHold:
    if any(room <= 0 and group.of(traits) for group, room in wave.caps.items()):
        return WaveHold.QUOTA_FULL
    if invited >= wave.budget_left:
        return WaveHold.BUDGET_SPENT
    return WaveHold.WAVE_FULL
