"""Who may be invited, decided at the moment of sending: pure rules, no I/O.

The store gathers, for each study, a ``Prospect`` per candidate: the facts as they are now
(approval, a fresh re-evaluation of the current profile against the study's current version,
consent, withdrawal, erasure, earlier invitations). ``plan_contact_run`` then decides, for
every prospect, either an invitation or the one rule that holds them back, so the counts of
a run always add up to its prospects. Of those every rule lets in, the study's wave
(``outreach.waves``) takes as many as it needs now, its quotas allowing; the others are held
back as the study being full, their group's quota, the wave or the budget says.

Order. Studies are taken by id; within a study, prospects by ``invitation_order``: a keyed
hash of the study, its seed and the volunteer id. It is reproducible (the same inputs give
the same invitations), it is unrelated to when someone signed up, their id's order or where
they live, and a volunteer keeps their place when others join or leave the list, so a re-run
after a failure does not reshuffle who comes first under a spent budget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from configuration.settings import ContactPolicy
from outreach.waves import Wave, WaveHold, choose_wave
from store.wave_facts import GroupFacts


class HeldBack(StrEnum):
    """Why a candidate is not invited, in the order the rules are checked."""

    STUDY_NOT_RECRUITING = "study not recruiting"
    ALREADY_INVITED = "already invited to this study"
    NOT_APPROVED = "not approved"
    ERASED = "erased"
    WITHDRAWN = "withdrawn"
    NO_CONSENT = "no consent to contact"
    NO_LONGER_FITS = "profile no longer fits"
    SCREEN_AGAIN = "changed profile needs screening again"
    NO_ADDRESS = "no address for their channel"
    INVITED_RECENTLY = "invited recently"
    YEARLY_LIMIT = "yearly limit reached"
    # The wave (``outreach.waves``): whom the study invites now of those the rules let in.
    STUDY_FULL = WaveHold.STUDY_FULL.value
    QUOTA_FULL = WaveHold.QUOTA_FULL.value
    WAVE_FULL = WaveHold.WAVE_FULL.value
    BUDGET_SPENT = WaveHold.BUDGET_SPENT.value


class Fit(StrEnum):
    """The current profile against the study's current version, re-evaluated now."""

    ELIGIBLE = "eligible"
    NEEDS_SCREENING = "needs_screening"
    NOT_MET = "not_met"


@dataclass(frozen=True)
class Prospect:
    volunteer_id: str
    #: A coordinator approved them (or the study approves eligible candidates itself).
    approved: bool
    fit: Fit
    #: Criteria to screen now that were not open when they were approved (a changed profile).
    new_unknowns: frozenset[str] = frozenset()
    consent: bool = True
    withdrawn: bool = False
    erased: bool = False
    has_address: bool = True
    invited_to_this_study: bool = False
    #: When they were invited before, to any study (queued or sent).
    earlier_invitations: tuple[datetime, ...] = ()
    #: What the study's quotas group them by.
    traits: GroupFacts = field(default_factory=GroupFacts)


@dataclass(frozen=True)
class StudyProspects:
    study_id: str
    recruiting: bool
    #: How many more invitations the study may send over its life (its budget, less those
    #: already sent or queued).
    budget_left: int
    prospects: Sequence[Prospect]
    seed: str = ""
    #: How many the study invites now, and its quotas' room (None: the budget alone).
    wave: Wave | None = None


@dataclass
class ContactPlan:
    study_id: str
    #: In the order they are to be sent.
    invite: list[str] = field(default_factory=list)
    held_back: dict[HeldBack, list[str]] = field(default_factory=dict)
    #: The wave it was sized as (counts and rates only).
    wave: Wave | None = None

    def counts(self) -> dict[str, int]:
        return {"invite": len(self.invite)} | {
            rule.value: len(ids) for rule, ids in self.held_back.items()
        }


def invitation_order(study_id: str, seed: str, volunteer_ids: Iterable[str]) -> list[str]:
    """The volunteers in the study's reproducible, unbiased order (see the module's text)."""

    def rank(volunteer_id: str) -> bytes:
        key = f"{study_id}\x1f{seed}\x1f{volunteer_id}".encode()
        return hashlib.blake2b(key, digest_size=16).digest()

    return sorted(volunteer_ids, key=lambda v: (rank(v), v))


def plan_contact_run(
    studies: Iterable[StudyProspects], policy: ContactPolicy, now: datetime
) -> list[ContactPlan]:
    """Every study's invitations and holds. An invitation planned for one study counts
    against the contact policy for the studies after it, as a sent one would."""
    planned: dict[str, list[datetime]] = {}
    plans = []
    for study in sorted(studies, key=lambda s: s.study_id):
        wave = study.wave or Wave.budget_only(study.budget_left)
        plan = ContactPlan(study.study_id, wave=wave)
        by_id = {p.volunteer_id: p for p in study.prospects}
        passing = []
        for volunteer_id in invitation_order(study.study_id, study.seed, by_id):
            prospect = by_id[volunteer_id]
            history = [*prospect.earlier_invitations, *planned.get(volunteer_id, [])]
            rule = _held_back(study, prospect, history, policy, now)
            if rule is not None:
                plan.held_back.setdefault(rule, []).append(volunteer_id)
            else:
                passing.append((volunteer_id, prospect.traits))
        chosen = choose_wave(wave, passing)
        plan.invite = chosen.invite
        for why, held in chosen.held_back.items():
            plan.held_back[HeldBack(why.value)] = held
        for volunteer_id in plan.invite:
            planned.setdefault(volunteer_id, []).append(now)
        plans.append(plan)
    return plans


def _held_back(
    study: StudyProspects,
    prospect: Prospect,
    history: list[datetime],
    policy: ContactPolicy,
    now: datetime,
) -> HeldBack | None:
    if not study.recruiting:
        return HeldBack.STUDY_NOT_RECRUITING
    if prospect.invited_to_this_study:
        return HeldBack.ALREADY_INVITED
    if not prospect.approved:
        return HeldBack.NOT_APPROVED
    if prospect.erased:
        return HeldBack.ERASED
    if prospect.withdrawn:
        return HeldBack.WITHDRAWN
    if not prospect.consent:
        return HeldBack.NO_CONSENT
    if prospect.fit is Fit.NOT_MET:
        return HeldBack.NO_LONGER_FITS
    if prospect.new_unknowns:
        return HeldBack.SCREEN_AGAIN
    if not prospect.has_address:
        return HeldBack.NO_ADDRESS
    recent = now - timedelta(days=policy.min_days_between)
    if any(moment > recent for moment in history):
        return HeldBack.INVITED_RECENTLY
    window = now - timedelta(days=policy.window_days)
    if sum(moment > window for moment in history) >= policy.max_per_window:
        return HeldBack.YEARLY_LIMIT
    return None
