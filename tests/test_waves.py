"""Waves and quotas, pure (``outreach.waves``): properties over random recruitments, and the
named cases of where an invitation stands."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from outreach.waves import (
    ANSWER_WINDOW,
    PRIOR_WEIGHT,
    PRIOR_YES_RATE,
    Group,
    Recruitment,
    Standing,
    WaveHold,
    choose_wave,
    expected_yes_rate,
    invitations_for,
    plan_wave,
    standing,
)
from schemas.study_fields import FIELDS
from schemas.study_quotas import GroupBounds, QuotaBy, QuotaGroup
from store.wave_facts import GroupFacts, InvitationFacts

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

traits = st.builds(
    GroupFacts,
    sex=st.sampled_from([*FIELDS["sex"].choices, None]),
    age=st.one_of(st.none(), st.integers(18, 110)),
    region=st.sampled_from([*FIELDS["region"].choices, None]),
)
GROUPS = [
    *(QuotaGroup(QuotaBy.SEX, v) for v in FIELDS["sex"].choices),
    *(QuotaGroup(QuotaBy.REGION, v) for v in FIELDS["region"].choices),
    *(QuotaGroup(QuotaBy.AGE, band) for band in ("18-39", "40-64", "65+", "50-70")),
]
invitations = st.lists(st.tuples(st.sampled_from(Standing), traits), max_size=60)


@st.composite
def recruitments(draw: st.DrawFn, quotas: bool = True) -> Recruitment:
    target = draw(st.integers(1, 60))
    bounds = []
    if quotas:
        for group in draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=4)):
            least = draw(st.one_of(st.none(), st.integers(1, target)))
            most = draw(st.one_of(st.none(), st.integers(1, target)))
            if least is not None or most is not None:
                bounds.append(GroupBounds(group, least, most))
    return Recruitment(
        target=target,
        counting=draw(st.lists(traits, max_size=target + 5)),
        invitations=draw(invitations),
        quotas=bounds,
    )


candidates = st.lists(traits, max_size=80).map(
    lambda found: [(f"v{n:03d}", facts) for n, facts in enumerate(found)]
)
budgets = st.integers(-3, 400)


# --- the size of a wave ------------------------------------------------------------------


@given(recruitments(), budgets)
def test_a_wave_never_exceeds_the_budget_left(recruitment: Recruitment, budget: int) -> None:
    assert 0 <= plan_wave(recruitment, budget).size <= max(0, budget)


@given(recruitments(), budgets, candidates)
def test_a_full_study_invites_nobody(
    recruitment: Recruitment, budget: int, found: list[tuple[str, GroupFacts]]
) -> None:
    full = Recruitment(
        recruitment.target,
        [GroupFacts()] * recruitment.target,
        recruitment.invitations,
        recruitment.quotas,
    )
    wave = plan_wave(full, budget)
    assert wave.size == 0 and wave.full
    chosen = choose_wave(wave, found)
    assert chosen.invite == []
    assert chosen.held_back == ({WaveHold.STUDY_FULL: [v for v, _ in found]} if found else {})


@given(recruitments(quotas=False), budgets, st.integers(1, 50))
def test_more_needed_never_gives_a_smaller_wave(
    recruitment: Recruitment, budget: int, more: int
) -> None:
    bigger = Recruitment(recruitment.target + more, recruitment.counting, recruitment.invitations)
    assert plan_wave(bigger, budget).size >= plan_wave(recruitment, budget).size


@given(recruitments(quotas=False), budgets, st.data())
def test_a_higher_observed_rate_never_gives_a_larger_wave(
    recruitment: Recruitment, budget: int, data: st.DataObject
) -> None:
    """One settled invitation turned into a yes: the same chances, more yeses."""
    settled = [i for i, (s, _) in enumerate(recruitment.invitations) if s is Standing.SETTLED]
    if not settled:
        return
    turned = data.draw(st.sampled_from(settled))
    answers = list(recruitment.invitations)
    answers[turned] = (Standing.REFERRED, answers[turned][1])
    better = Recruitment(recruitment.target, recruitment.counting, answers)
    assert plan_wave(better, budget).size <= plan_wave(recruitment, budget).size


@given(st.integers(0, 5000), st.integers(0, 5000), st.integers(0, 5000))
def test_the_rate_rises_with_yeses_and_falls_with_other_answers(
    referred: int, settled: int, more: int
) -> None:
    rate = expected_yes_rate(referred, settled)
    assert 0 < rate < 1
    assert expected_yes_rate(referred + more, settled) >= rate
    assert expected_yes_rate(referred, settled + more) <= rate


@given(st.integers(-5, 300), st.integers(0, 300), budgets)
def test_with_no_answers_the_wave_is_the_priors_formula(
    needed: int, awaiting: int, budget: int
) -> None:
    target = max(needed, 0) + 7
    recruitment = Recruitment(
        target,
        [GroupFacts()] * (target - needed),
        [(Standing.AWAITING, GroupFacts())] * awaiting,
    )
    # ceil(needed / 0.15): 15 % of an invitation brings a yes, so 20/3 invitations do.
    by_prior = max(0, -(-needed * 20 // 3) - awaiting) if needed > 0 else 0
    assert Fraction(3, 20) == PRIOR_YES_RATE
    assert plan_wave(recruitment, budget).size == min(max(0, budget), by_prior)


def test_the_prior_is_outweighed_by_the_studys_own_answers() -> None:
    assert expected_yes_rate(0, 0) == PRIOR_YES_RATE
    # 40 answers, 2 yes (5 %): twice the prior's weight, so the estimate is nearer 5 % than 15 %.
    rate = expected_yes_rate(2, 38)
    assert rate == Fraction(3 + 2, PRIOR_WEIGHT + 40)
    assert abs(rate - Fraction(5, 100)) < abs(rate - PRIOR_YES_RATE)


def test_invitations_still_awaiting_an_answer_are_part_of_the_wave() -> None:
    assert invitations_for(3, Fraction(1, 4), 0) == 12
    assert invitations_for(3, Fraction(1, 4), 5) == 7
    assert invitations_for(3, Fraction(1, 4), 40) == 0  # never negative
    assert invitations_for(0, Fraction(1, 4), 0) == 0


# --- quotas ----------------------------------------------------------------------------------


@given(recruitments(), budgets, candidates)
def test_the_wave_never_exceeds_its_size_and_says_why_of_everyone_else(
    recruitment: Recruitment, budget: int, found: list[tuple[str, GroupFacts]]
) -> None:
    wave = plan_wave(recruitment, budget)
    chosen = choose_wave(wave, found)
    assert len(chosen.invite) <= wave.size
    held = [v for ids in chosen.held_back.values() for v in ids]
    assert sorted([*chosen.invite, *held]) == sorted(v for v, _ in found)
    order = [v for v, _ in found]
    assert chosen.invite == sorted(chosen.invite, key=order.index)


@given(recruitments(), budgets, candidates)
def test_a_full_at_most_group_never_gets_an_invitation(
    recruitment: Recruitment, budget: int, found: list[tuple[str, GroupFacts]]
) -> None:
    wave = plan_wave(recruitment, budget)
    chosen = choose_wave(wave, found)
    facts = dict(found)
    for bounds in recruitment.quotas:
        group = Group(bounds.group)
        invited = [v for v in chosen.invite if group.of(facts[v])]
        if bounds.at_most is not None and recruitment.counted(group) >= bounds.at_most:
            assert invited == []
        if bounds.at_most is not None:
            assert len(invited) <= wave.caps[group]


@given(st.sampled_from(GROUPS), recruitments(quotas=False), budgets, candidates, st.data())
def test_a_short_at_least_group_gets_at_least_its_share_when_it_has_the_members(
    group: QuotaGroup,
    recruitment: Recruitment,
    budget: int,
    found: list[tuple[str, GroupFacts]],
    data: st.DataObject,
) -> None:
    least = data.draw(st.integers(1, recruitment.target))
    quota = GroupBounds(group, least, None)
    with_quota = Recruitment(
        recruitment.target, recruitment.counting, recruitment.invitations, [quota]
    )
    wave = plan_wave(with_quota, budget)
    chosen = choose_wave(wave, found)
    inside = Group(group)
    share = wave.reserves.get(inside, 0)
    members = [v for v, facts in found if inside.of(facts)]
    if len(members) >= share:
        assert sum(inside.of(dict(found)[v]) for v in chosen.invite) >= share
    short = least - with_quota.counted(inside)
    awaiting = with_quota.tally(Standing.AWAITING, inside)
    if short > 0 and not wave.full:
        expected = min(wave.size, max(0, math.ceil(short / wave.rate) - awaiting))
        assert share == expected


def test_others_cannot_take_the_places_an_at_least_group_needs() -> None:
    """At least 40 % women of 10: at most 6 men and others, so with 6 men counting, no more
    men are invited, and the women still short come first."""
    women = QuotaGroup(QuotaBy.SEX, "female")
    man, woman = GroupFacts(sex="male"), GroupFacts(sex="female")
    recruitment = Recruitment(10, [man] * 6, [], [GroupBounds(women, 4, None)])
    wave = plan_wave(recruitment, 100)
    chosen = choose_wave(wave, [("m1", man), ("w1", woman), ("m2", man), ("w2", woman)])
    assert chosen.invite == ["w1", "w2"]
    assert chosen.held_back == {WaveHold.QUOTA_FULL: ["m1", "m2"]}


def test_the_wave_is_held_for_a_short_group_and_the_rest_goes_in_the_studys_order() -> None:
    older = QuotaGroup(QuotaBy.AGE, "65+")
    young, old = GroupFacts(age=30), GroupFacts(age=70)
    recruitment = Recruitment(
        3, [], [(Standing.SETTLED, young)] * 30 + [(Standing.REFERRED, young)] * 10,
        [GroupBounds(older, 1, None)],
    )  # fmt: skip
    wave = plan_wave(recruitment, 100)  # rate (3 + 10) / 60: 3 needed -> 14 invitations
    assert (wave.size, wave.reserves) == (14, {Group(older): 5})
    found = [(f"y{n:02d}", young) for n in range(20)] + [(f"o{n}", old) for n in range(6)]
    chosen = choose_wave(wave, found)
    assert [v for v in chosen.invite if v.startswith("o")] == ["o0", "o1", "o2", "o3", "o4"]
    assert len(chosen.invite) == 14
    assert chosen.held_back[WaveHold.WAVE_FULL][0] == "y09"


def test_a_wave_cut_by_the_budget_says_so() -> None:
    recruitment = Recruitment(10, [], [])
    chosen = choose_wave(plan_wave(recruitment, 2), [(v, GroupFacts()) for v in "abcd"])
    assert chosen.invite == ["a", "b"]
    assert chosen.held_back == {WaveHold.BUDGET_SPENT: ["c", "d"]}


# --- where an invitation stands --------------------------------------------------------------


def invitation(status: str = "sent", **facts: object) -> InvitationFacts:
    values: dict[str, object] = {
        "volunteer_id": "v1",
        "status": status,
        "referred": False,
        "answered": False,
        "answering_questions": False,
        "link_expires_at": NOW + timedelta(days=30),
        "link_alive": True,
        "sent_at": NOW - timedelta(days=1),
    } | facts
    return InvitationFacts(**values)  # type: ignore[arg-type]


def test_where_an_invitation_stands() -> None:
    expired = NOW - timedelta(seconds=1)
    cases = {
        "queued": (invitation("queued", link_expires_at=None), Standing.AWAITING),
        "sending": (invitation("sending", link_expires_at=None), Standing.AWAITING),
        "sent, link works": (invitation(), Standing.AWAITING),
        "unanswered, nearly three weeks": (
            invitation(sent_at=NOW - ANSWER_WINDOW + timedelta(seconds=1)),
            Standing.AWAITING,
        ),
        "unanswered for three weeks": (
            invitation(sent_at=NOW - ANSWER_WINDOW),
            Standing.SETTLED,
        ),
        "yes, questions open for long": (
            invitation(answered=True, answering_questions=True, sent_at=NOW - timedelta(days=50)),
            Standing.AWAITING,
        ),
        "expired unanswered": (invitation(link_expires_at=expired), Standing.SETTLED),
        "erased (link gone)": (invitation(link_alive=False), Standing.SETTLED),
        "answered no": (invitation(answered=True), Standing.SETTLED),
        "yes, referred": (invitation(answered=True, referred=True), Standing.REFERRED),
        "referred, then erased": (invitation(referred=True, link_alive=False), Standing.REFERRED),
        "yes, questions open": (
            invitation(answered=True, answering_questions=True),
            Standing.AWAITING,
        ),
        "yes, questions open, expired": (
            invitation(answered=True, answering_questions=True, link_expires_at=expired),
            Standing.SETTLED,
        ),
        "sent without a link": (invitation(link_expires_at=None), Standing.SILENT),
        "failed": (invitation("failed"), None),
        "cancelled": (invitation("cancelled", link_expires_at=None), None),
    }
    assert {name: standing(facts, NOW) for name, (facts, _) in cases.items()} == {
        name: expected for name, (_, expected) in cases.items()
    }
