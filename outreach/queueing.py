"""Deciding who is invited now, and writing those invitations to the outbox.

For every study: each candidate on its list becomes a ``Prospect`` (the facts as they are
now, with the study evaluated afresh on their current profile), the study's wave is sized
from its answers so far (``outreach.waves``: read afresh each run), ``plan_contact_run`` decides
who is invited and who is held back by which rule, and, unless it is a dry run, the
invitations are queued in the same transaction, under the store's queueing lock. Approved
candidates whose changed profile no longer fits, or needs screening again, are not invited,
and their candidate row says why.

A retry (``plan_retry``) goes the same way for a study's failed invitations: each is treated
as a cancelled one, which queueing queues again under every rule, keeping its Message-ID.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import cache

from sqlalchemy import Connection

from configuration.settings import ContactPolicy
from matching.panel import PreparedPanel
from outreach.contact_rules import (
    ContactPlan,
    Fit,
    HeldBack,
    Prospect,
    StudyProspects,
    plan_contact_run,
)
from outreach.errors import NothingToRetry
from outreach.reevaluation import FreshFit, fresh_fits
from outreach.waves import Recruitment, plan_wave, standing
from schemas.review import ReviewState
from schemas.study import StudyDefinition, StudyStatus
from schemas.study_quotas import group_bounds
from store import decisions, invitations, studies, wave_facts
from store.errors import UnknownStudy
from store.invitations import (
    AUTO_APPROVED,
    CANCELLED,
    FAILED,
    Approval,
    CandidateFacts,
    NewInvitation,
)
from store.match_runs import matching_panel
from store.wave_facts import GroupFacts


def _definition(connection: Connection, study_id: str) -> StudyDefinition:
    definition = studies.current_definition(connection, study_id)
    if definition is None:
        raise UnknownStudy([study_id], see_list=True)
    return definition


@dataclass(frozen=True)
class _Study:
    definition: StudyDefinition
    facts: dict[str, CandidateFacts]
    approvals: dict[str, Approval]
    fresh: dict[str, FreshFit]
    #: Invitations queued again if invited now (cancelled, or failed and retried): status.
    requeue: dict[str, str]


def plan_invitations(
    connection: Connection,
    study_ids: list[str] | None,
    policy: ContactPolicy,
    as_of: date,
    now: datetime,
    *,
    actor: str,
    message_domain: str,
    dry_run: bool,
) -> list[ContactPlan]:
    """Every study's plan (default: every recruiting study); unless ``dry_run``, queued."""
    if not dry_run:
        invitations.lock_for_queueing(connection)
    ids = study_ids if study_ids is not None else studies.recruiting(connection)
    definitions = [_definition(connection, study_id) for study_id in ids]
    # Read and prepared once for all studies, and only if someone is to be evaluated.
    panel = cache(lambda: matching_panel(connection, as_of, definitions))
    history = invitations.contact_history(connection)
    gathered: dict[str, _Study] = {}
    prospects = []
    for study_id, definition in zip(ids, definitions, strict=True):
        study, listed = _gather(connection, definition, panel, history, now)
        gathered[study_id] = study
        prospects.append(listed)
    plans = plan_contact_run(prospects, policy, now)
    if not dry_run:
        for plan in plans:
            _write(connection, plan, gathered[plan.study_id], as_of, now, actor, message_domain)
    return plans


def plan_retry(
    connection: Connection,
    study_id: str,
    volunteer_ids: list[str] | None,
    policy: ContactPolicy,
    as_of: date,
    now: datetime,
    *,
    actor: str,
    message_domain: str,
) -> ContactPlan:
    """Queue the study's failed invitations again (default: all; else those of
    ``volunteer_ids``), each only if every rule holds now, and record who asked. Raises
    ``NothingToRetry`` (changing nothing) when a named volunteer has no failed invitation."""
    invitations.lock_for_queueing(connection)
    definition = _definition(connection, study_id)
    failed = invitations.failed_invitations(connection, study_id)
    chosen = list(failed) if volunteer_ids is None else list(dict.fromkeys(volunteer_ids))
    missing = [volunteer_id for volunteer_id in chosen if volunteer_id not in failed]
    if missing:
        raise NothingToRetry(study_id, missing)
    panel = cache(lambda: matching_panel(connection, as_of, [definition]))
    history = invitations.contact_history(connection)
    study, prospects = _gather(connection, definition, panel, history, now, frozenset(chosen))
    (plan,) = plan_contact_run([prospects], policy, now)
    _write(connection, plan, study, as_of, now, actor, message_domain)
    outcomes = {failed[v]: "queued" for v in plan.invite}
    for rule, held in plan.held_back.items():
        outcomes |= {failed[v]: rule.value for v in held}
    invitations.record_retries(connection, outcomes, actor, now)
    return plan


def _gather(
    connection: Connection,
    definition: StudyDefinition,
    panel: Callable[[], PreparedPanel],
    history: dict[str, list[datetime]],
    now: datetime,
    retrying: frozenset[str] | None = None,
) -> tuple[_Study, StudyProspects]:
    """The study's candidates as prospects; with ``retrying``, only those volunteers, whose
    failed invitations count as not sent."""
    facts = {f.volunteer_id: f for f in invitations.candidate_facts(connection, definition.id)}
    if retrying is not None:
        facts = {v: f for v, f in facts.items() if v in retrying}
    approved = invitations.approvals(connection, definition.id)
    invited = invitations.study_invitations(connection, definition.id)
    requeue = {
        v: status
        for v, status in invited.items()
        if status == CANCELLED or (status == FAILED and retrying is not None and v in retrying)
    }
    auto = definition.contact.auto_approve_eligible
    to_evaluate = [
        f.volunteer_id
        for f in facts.values()
        if (f.volunteer_id not in invited or f.volunteer_id in requeue)
        and (
            f.review_state == ReviewState.APPROVED
            or (auto and f.review_state == ReviewState.UNDECIDED)
        )
    ]
    fresh = fresh_fits(definition, panel(), to_evaluate) if to_evaluate else {}
    groups = wave_facts.group_facts(connection, definition.id)
    listed = [
        replace(
            _prospect(f, fresh.get(f.volunteer_id), approved.get(f.volunteer_id), definition),
            invited_to_this_study=f.volunteer_id in invited and f.volunteer_id not in requeue,
            earlier_invitations=tuple(history.get(f.volunteer_id, ())),
            traits=groups.get(f.volunteer_id, GroupFacts()),
        )
        for f in facts.values()
    ]
    # Retried volunteers no longer on the list (erased since) have no approval there.
    listed += [
        Prospect(volunteer_id=v, approved=False, fit=Fit.NOT_MET)
        for v in sorted((retrying or frozenset()) - facts.keys())
    ]
    budget = int(definition.contact.invitation_budget * definition.recruitment_target)
    spent = invitations.invitations_counted(connection, definition.id)
    prospects = StudyProspects(
        study_id=definition.id,
        recruiting=definition.status is StudyStatus.RECRUITING,
        budget_left=max(0, budget - spent),
        prospects=listed,
        wave=plan_wave(_recruitment(connection, definition, groups, now), budget - spent),
    )
    return _Study(definition, facts, approved, fresh, requeue), prospects


def _recruitment(
    connection: Connection,
    definition: StudyDefinition,
    groups: dict[str, GroupFacts],
    now: datetime,
) -> Recruitment:
    """Where the study's recruitment stands now: who counts toward its target, and how far
    each of its invitations got (answers are read afresh every run)."""
    unknown = GroupFacts()
    answers = [
        (where, groups.get(facts.volunteer_id, unknown))
        for facts in wave_facts.invitation_facts(connection, definition.id)
        if (where := standing(facts, now)) is not None
    ]
    counting = [
        groups.get(v, unknown) for v in wave_facts.counting_volunteers(connection, definition.id)
    ]
    target = definition.recruitment_target
    return Recruitment(target, counting, answers, group_bounds(definition.quotas, target))


def _prospect(
    facts: CandidateFacts,
    fresh: FreshFit | None,
    approval: Approval | None,
    definition: StudyDefinition,
) -> Prospect:
    auto = definition.contact.auto_approve_eligible
    fit = fresh.fit if fresh is not None else Fit.NOT_MET
    if facts.review_state == ReviewState.APPROVED:
        approved = True
        # Approved on exactly this profile and study version: the coordinator saw these
        # unknowns. Anything changed since: whatever is unknown now is to be screened again.
        same = (
            approval is not None
            and fresh is not None
            and approval.submission_id == fresh.submission_id
            and approval.study_version == definition.version
        )
        new_unknowns = frozenset() if same or fresh is None else fresh.unknowns
    else:
        # Automatic approval is of eligible candidates: one who needs screening needs a
        # coordinator; one who no longer fits is reported as such.
        approved = (
            auto and facts.review_state == ReviewState.UNDECIDED and fit is not Fit.NEEDS_SCREENING
        )
        new_unknowns = frozenset()
    return Prospect(
        volunteer_id=facts.volunteer_id,
        approved=approved,
        fit=fit,
        new_unknowns=new_unknowns if fit is Fit.NEEDS_SCREENING else frozenset(),
        consent=facts.consent,
        withdrawn=facts.withdrawn,
        erased=facts.erased,
        has_address=facts.has_phone if facts.channel == "sms" else not facts.erased,
    )


def _write(
    connection: Connection,
    plan: ContactPlan,
    study: _Study,
    as_of: date,
    now: datetime,
    actor: str,
    message_domain: str,
) -> None:
    version = study.definition.version
    # An automatic approval is a decision like any other, recorded as it takes effect.
    automatic = decisions.approve_automatically(
        connection,
        plan.study_id,
        [
            (v, version, study.fresh[v].submission_id)
            for v in plan.invite
            if v not in study.approvals
        ],
        now,
    )
    new = []
    for volunteer_id in plan.invite:
        approval = study.approvals.get(volunteer_id)
        if approval is None and volunteer_id not in automatic:
            continue  # a coordinator decided on them meanwhile
        new.append(
            NewInvitation(
                study_id=plan.study_id,
                volunteer_id=volunteer_id,
                channel=study.facts[volunteer_id].channel,
                study_version=version,
                submission_id=study.fresh[volunteer_id].submission_id,
                decision_id=automatic[volunteer_id] if approval is None else approval.decision_id,
                approved_by=AUTO_APPROVED if approval is None else approval.decided_by,
                requeued_from=study.requeue.get(volunteer_id),
            )
        )
    invitations.queue(connection, new, as_of, actor, now, message_domain)
    held_before = [v for v in plan.invite if study.facts[v].hold_reason is not None]
    invitations.clear_holds(connection, plan.study_id, held_before)
    reasons: dict[str, str] = {}
    for volunteer_id in plan.held_back.get(HeldBack.NO_LONGER_FITS, []):
        ruled_out = ", ".join(study.fresh[volunteer_id].ruled_out_by)
        reasons[volunteer_id] = (
            f"the current profile no longer fits study version {version} ({ruled_out}); not invited"
        )
    no_longer_fit = set(reasons)
    for volunteer_id in plan.held_back.get(HeldBack.SCREEN_AGAIN, []):
        unknowns = ", ".join(sorted(study.fresh[volunteer_id].unknowns))
        reasons[volunteer_id] = (
            f"the profile or study changed since the approval; screen again ({unknowns}) "
            "before they can be invited"
        )
    # Said once: a later run that finds the same changes nothing (``updated_at`` says when).
    reasons = {v: said for v, said in reasons.items() if study.facts[v].hold_reason != said}
    invitations.hold_candidates(connection, plan.study_id, reasons, no_longer_fit, now)
