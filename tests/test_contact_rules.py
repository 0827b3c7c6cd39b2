"""The send-time contact rules: properties over random panels, and the named edge cases."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from configuration.settings import ContactPolicy
from outreach.contact_rules import (
    ContactPlan,
    Fit,
    HeldBack,
    Prospect,
    StudyProspects,
    invitation_order,
    plan_contact_run,
)

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
POLICY = ContactPolicy()
VOLUNTEERS = [f"v{n:03d}" for n in range(12)]

earlier = st.lists(
    st.integers(min_value=0, max_value=800).map(lambda days: NOW - timedelta(days=days)),
    max_size=6,
).map(tuple)


def mostly(usual: object, other: object) -> st.SearchStrategy[object]:
    """Usually the fact that lets an invitation through, so that examples reach the later
    rules (the contact policy, the budget) often."""
    return st.sampled_from([usual] * 5 + [other])


prospect_facts = st.fixed_dictionaries(
    {
        "approved": mostly(True, False),
        "fit": mostly(Fit.ELIGIBLE, Fit.NOT_MET) | st.sampled_from(Fit),
        "new_unknowns": mostly(frozenset(), frozenset({"pregnant"})),
        "consent": mostly(True, False),
        "withdrawn": mostly(False, True),
        "erased": mostly(False, True),
        "has_address": mostly(True, False),
        "invited_to_this_study": mostly(False, True),
    }
)


@st.composite
def contact_runs(draw: st.DrawFn) -> list[StudyProspects]:
    history = {v: draw(earlier) for v in VOLUNTEERS}  # one history per volunteer, all studies
    studies = []
    for study_id in draw(st.lists(st.sampled_from("abcde"), min_size=1, max_size=4, unique=True)):
        members = draw(st.lists(st.sampled_from(VOLUNTEERS), unique=True, max_size=len(VOLUNTEERS)))
        prospects = [
            Prospect(v, earlier_invitations=history[v], **draw(prospect_facts)) for v in members
        ]
        studies.append(
            StudyProspects(
                f"study-{study_id}",
                recruiting=draw(st.booleans() | st.just(True)),
                budget_left=draw(st.integers(0, 8)),
                prospects=prospects,
                seed=draw(st.sampled_from(["", "2026"])),
            )
        )
    return studies


def studies_with_plans(run: list[StudyProspects]) -> list[tuple[StudyProspects, ContactPlan]]:
    """Each study with its plan (plans come in study id order)."""
    studies = sorted(run, key=lambda s: s.study_id)
    return list(zip(studies, plan_contact_run(run, POLICY, NOW), strict=True))


@given(contact_runs())
def test_every_prospect_is_invited_or_held_back_by_exactly_one_rule(
    run: list[StudyProspects],
) -> None:
    for study, plan in studies_with_plans(run):
        decided = plan.invite + [v for ids in plan.held_back.values() for v in ids]
        assert sorted(decided) == sorted(p.volunteer_id for p in study.prospects)
        assert sum(plan.counts().values()) == len(study.prospects)


@given(contact_runs())
def test_nobody_is_invited_against_a_rule(run: list[StudyProspects]) -> None:
    plans = {plan.study_id: plan for plan in plan_contact_run(run, POLICY, NOW)}
    invitations_now: dict[str, int] = {}
    for study in run:
        plan = plans[study.study_id]
        assert len(plan.invite) <= max(study.budget_left, 0)
        for prospect in study.prospects:
            if prospect.volunteer_id not in plan.invite:
                continue
            invitations_now[prospect.volunteer_id] = (
                invitations_now.get(prospect.volunteer_id, 0) + 1
            )
            assert study.recruiting and prospect.approved and prospect.consent
            assert not (prospect.withdrawn or prospect.erased or prospect.invited_to_this_study)
            assert prospect.fit is not Fit.NOT_MET and not prospect.new_unknowns
            assert prospect.has_address
            history = prospect.earlier_invitations
            assert all(
                moment <= NOW - timedelta(days=POLICY.min_days_between) for moment in history
            )
            in_window = sum(moment > NOW - timedelta(days=POLICY.window_days) for moment in history)
            assert in_window + 1 <= POLICY.max_per_window
    # one run never invites anyone twice: the 30-day rule holds across the studies of a run
    assert all(count == 1 for count in invitations_now.values())


@given(contact_runs(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_the_order_things_are_given_in(
    run: list[StudyProspects], shuffler: random.Random
) -> None:
    shuffled = []
    for study in run:
        prospects = list(study.prospects)
        shuffler.shuffle(prospects)
        shuffled.append(replace(study, prospects=prospects))
    shuffler.shuffle(shuffled)
    assert plan_contact_run(shuffled, POLICY, NOW) == plan_contact_run(run, POLICY, NOW)


@given(contact_runs())
def test_a_spent_budget_holds_back_only_those_after_the_invited_in_the_studys_order(
    run: list[StudyProspects],
) -> None:
    for study, plan in studies_with_plans(run):
        order = invitation_order(
            study.study_id, study.seed, [p.volunteer_id for p in study.prospects]
        )
        over_budget = plan.held_back.get(HeldBack.BUDGET_SPENT, [])
        if over_budget:
            assert len(plan.invite) == study.budget_left
            assert max(map(order.index, plan.invite), default=-1) < min(
                map(order.index, over_budget)
            )


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, min_size=2), st.text(max_size=8))
def test_a_volunteer_keeps_their_place_when_others_join_the_list(ids: list[str], seed: str) -> None:
    newcomer, *others = ids
    before = invitation_order("rls-magnesium", seed, others)
    after = invitation_order("rls-magnesium", seed, [*others, newcomer])
    assert [v for v in after if v != newcomer] == before


def test_the_order_is_a_shuffle_not_the_ids_order() -> None:
    ids = [f"v{n:05d}" for n in range(1000)]
    order = invitation_order("rls-magnesium", "", ids)
    assert order != ids and sorted(order) == ids
    assert invitation_order("rls-magnesium", "", reversed(ids)) == order
    assert invitation_order("sleep-healthy", "", ids) != order  # each study its own order
    first_half = sum(order.index(v) < 500 for v in ids[:500])
    assert 200 < first_half < 300  # about half of the early ids come first: not favoured


def _one(prospect: Prospect, **study: object) -> dict[HeldBack | str, list[str]]:
    values = {"recruiting": True, "budget_left": 10} | study
    plan = plan_contact_run([StudyProspects("s", prospects=[prospect], **values)], POLICY, NOW)[0]  # type: ignore[arg-type]
    return {"invite": plan.invite} if plan.invite else dict(plan.held_back)


def test_thirty_days_since_the_last_invitation_is_allowed_and_a_moment_less_is_not() -> None:
    exactly = Prospect(
        "v1", approved=True, fit=Fit.ELIGIBLE, earlier_invitations=(NOW - timedelta(days=30),)
    )
    assert _one(exactly) == {"invite": ["v1"]}
    just_under = Prospect(
        "v1",
        approved=True,
        fit=Fit.ELIGIBLE,
        earlier_invitations=(NOW - timedelta(days=30) + timedelta(seconds=1),),
    )
    assert _one(just_under) == {HeldBack.INVITED_RECENTLY: ["v1"]}


def test_four_invitations_in_365_days_hold_back_a_fifth() -> None:
    four = tuple(NOW - timedelta(days=d) for d in (40, 120, 200, 364))
    assert _one(Prospect("v1", approved=True, fit=Fit.ELIGIBLE, earlier_invitations=four)) == {
        HeldBack.YEARLY_LIMIT: ["v1"]
    }
    older = tuple(NOW - timedelta(days=d) for d in (40, 120, 200, 365))
    assert _one(Prospect("v1", approved=True, fit=Fit.ELIGIBLE, earlier_invitations=older)) == {
        "invite": ["v1"]
    }


def test_approved_for_two_studies_in_one_run_is_invited_once() -> None:
    prospect = Prospect("v1", approved=True, fit=Fit.ELIGIBLE)
    plans = plan_contact_run(
        [StudyProspects(s, True, 5, [prospect]) for s in ("b-study", "a-study")], POLICY, NOW
    )
    assert [(p.study_id, p.invite, dict(p.held_back)) for p in plans] == [
        ("a-study", ["v1"], {}),
        ("b-study", [], {HeldBack.INVITED_RECENTLY: ["v1"]}),
    ]


def test_an_approved_candidate_who_needs_screening_is_invited_unless_new_questions_arose() -> None:
    screened = Prospect("v1", approved=True, fit=Fit.NEEDS_SCREENING)
    assert _one(screened) == {"invite": ["v1"]}
    changed = Prospect(
        "v1", approved=True, fit=Fit.NEEDS_SCREENING, new_unknowns=frozenset({"pregnant"})
    )
    assert _one(changed) == {HeldBack.SCREEN_AGAIN: ["v1"]}


def test_the_first_rule_that_fails_is_the_one_reported() -> None:
    everything_wrong = Prospect(
        "v1", approved=False, fit=Fit.NOT_MET, consent=False, withdrawn=True, erased=True
    )
    assert _one(everything_wrong, recruiting=False) == {HeldBack.STUDY_NOT_RECRUITING: ["v1"]}
    assert _one(everything_wrong) == {HeldBack.NOT_APPROVED: ["v1"]}
    assert _one(Prospect("v1", approved=True, fit=Fit.NOT_MET, withdrawn=True)) == {
        HeldBack.WITHDRAWN: ["v1"]
    }
    assert _one(Prospect("v1", approved=True, fit=Fit.ELIGIBLE), budget_left=0) == {
        HeldBack.BUDGET_SPENT: ["v1"]
    }
