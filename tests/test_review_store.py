"""Candidate review in the store: pages and filters, decisions with optimistic locking, stale
profiles, bulk decisions, users, lockout and sessions; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from schemas.act import Act
from schemas.review import PAGE_SIZE, Action, CandidateQuery, Role
from store import bulk, candidate_list, decisions, review_users
from store.decisions import DecisionConflict, DecisionRefused
from store.invitations import hold_candidates
from store.panel_store import PanelStore
from store.studies import summary
from store.tables import Candidate
from tests.helpers import (
    NOW,
    RLS,
    SAMPLES,
    STUDIES,
    everyone,
    ingest,
    match_and_record,
    publish,
    rls_person,
    write_signups,
    write_withdrawals,
)


def test_filters_select_exactly_the_matching_candidates(matched: PanelStore) -> None:
    all_rows = everyone(matched)
    assert len(all_rows) > 10 and len({r.volunteer_id for r in all_rows}) == len(all_rows)
    screen = next(r.unknown_criteria[0] for r in all_rows if r.unknown_criteria)
    cases = {
        "status": ({"status": "eligible"}, lambda r: r.status == "eligible"),
        "region": ({"region": "midtjylland"}, lambda r: r.region == "midtjylland"),
        "sex": ({"sex": "female"}, lambda r: r.sex == "female"),
        "age": ({"age_min": 40, "age_max": 59}, lambda r: r.age is not None and 40 <= r.age <= 59),
        "screen": ({"screen": screen}, lambda r: screen in r.unknown_criteria),
    }
    for name, (filters, wanted) in cases.items():
        found = {r.volunteer_id for r in everyone(matched, **filters)}
        assert found == {r.volunteer_id for r in all_rows if wanted(r)}, name
        assert found, name


def test_pages_are_sorted_and_complete(matched: PanelStore) -> None:
    by_age = everyone(matched, sort="age", descending="true")
    ages = [r.age for r in by_age if r.age is not None]
    assert ages == sorted(ages, reverse=True)
    with matched.engine.connect() as connection:
        first = candidate_list.candidate_page(connection, RLS, CandidateQuery())
    assert len(first.rows) == min(PAGE_SIZE, first.total) and first.total == len(by_age)


def test_a_kept_count_follows_every_change_to_the_list(store: PanelStore, tmp_path: Path) -> None:
    """The app's counts are kept per list revision: each change but a decision must raise it."""

    def counted(**filters: object) -> int:  # as the app does it: the revision read with the study
        with store.engine.connect() as connection:
            study = summary(connection, RLS)
            assert study is not None
            query = CandidateQuery.model_validate(filters)
            return candidate_list.candidate_page(connection, RLS, query, study.list_revision).total

    def listed(**filters: object) -> int:
        return len(everyone(store, **filters))

    ingest(store, write_signups(tmp_path / "a.csv", [rls_person(n) for n in range(1, 5)]))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    assert counted() == counted() == listed() == 4 and counted(state="undecided") == 4
    ingest(store, write_signups(tmp_path / "b.csv", [rls_person(5)]))
    match_and_record(store, RLS)
    assert counted() == listed() == 5
    erasure = ("p5@example.dk", "01-04-2026 10:00:00", "slet")
    ingest(store, write_withdrawals(tmp_path / "w.csv", [erasure]))
    assert counted() == listed() == 4
    first, second, *_ = everyone(store)
    with store.engine.begin() as connection:
        hold_candidates(connection, RLS, {first.volunteer_id: "no longer fits"}, {first.volunteer_id}, NOW)  # fmt: skip
    assert counted() == listed() == 3
    with store.engine.begin() as connection:  # decisions change only the decision states
        decisions.decide(
            connection, RLS, second.volunteer_id, Action.DEFER, act=Act("a", NOW),
            seen_version=None,
        )  # fmt: skip
    assert counted(state="undecided") == listed(state="undecided") == 2
    assert counted(state="deferred") == 1 and counted() == 3


def test_next_and_previous_walk_the_pages_that_page_numbers_show(
    matched: PanelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keyset paging, in every order and both directions, across NULL ages and regions
    (which each database sorts to its own end) and across ties."""
    monkeypatch.setattr(candidate_list, "PAGE_SIZE", 4)
    listed = everyone(matched)
    with matched.engine.begin() as connection:  # no birth date or postcode: NULLs to cross
        unknown = [row.volunteer_id for row in listed[::3]]
        connection.execute(
            update(Candidate)
            .where(Candidate.volunteer_id.in_(unknown))
            .values(age=None, region=None)
        )
        decisions.decide(
            connection, RLS, listed[1].volunteer_id, Action.DEFER, act=Act("a", NOW),
            seen_version=None,
        )  # fmt: skip

    def page(**query: object) -> list[str]:
        with matched.engine.connect() as connection:
            found = candidate_list.candidate_page(
                connection, RLS, CandidateQuery.model_validate(query)
            )
        return [row.volunteer_id for row in found.rows]

    for view in ({}, {"status": "eligible"}):
        for sort in ("volunteer_id", "age", "region", "status", "state"):
            for descending in (False, True):
                where = {**view, "sort": sort, "descending": descending}
                numbered = [row.volunteer_id for row in everyone(matched, **where)]
                assert len(numbered) > 4, where  # two pages at least
                forward = page(**where)
                while len(forward) % 4 == 0 and (more := page(**where, after=forward[-1])):
                    forward += more
                assert forward == numbered, where
                last = -(-len(numbered) // 4)
                backward = page(**where, page=last)
                while backward[0] != numbered[0]:
                    backward = page(**where, before=backward[0]) + backward
                assert backward == numbered, where


def test_work_on_many_candidates_is_done_in_chunks_the_database_takes(
    store: PanelStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bulk decisions and dropped candidates go in chunks (SQLite takes 32,766 parameters at
    most); chunks of two here, so that every path crosses several."""
    monkeypatch.setattr(bulk, "IN_CHUNK", 2)
    ingest(store, SAMPLES / "signups.csv")
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    eligible = everyone(store, status="eligible")
    with store.engine.begin() as connection:
        result = decisions.decide_all(
            connection, RLS, CandidateQuery(status="eligible"), Action.APPROVE, act=Act("b", NOW)
        )
    assert result.decided == len(eligible) > 4
    assert {r.review_state for r in everyone(store, status="eligible")} == {"approved"}
    younger = tmp_path / f"{RLS}.yaml"
    younger.write_text((STUDIES / f"{RLS}.yaml").read_text().replace("at_most: 75", "at_most: 45"))
    before = everyone(store)
    publish(store, younger)
    match_and_record(store, RLS)
    kept = {r.volunteer_id for r in everyone(store)}
    assert kept == {r.volunteer_id for r in before if r.age is not None and r.age <= 45}
    assert len(before) - len(kept) > 4


def test_a_decision_is_kept_with_who_when_and_the_versions(matched: PanelStore) -> None:
    (one, *_) = everyone(matched, status="eligible")
    with matched.engine.begin() as connection:
        after = decisions.decide(
            connection, RLS, one.volunteer_id, Action.APPROVE, act=Act("anna@example.dk", NOW),
            seen_version=one.review_version,
        )  # fmt: skip
        decisions.decide(
            connection, RLS, one.volunteer_id, Action.NOTE, act=Act("bo@example.dk", NOW + timedelta(minutes=1)),
            seen_version=None, note="called, keen",
        )  # fmt: skip
        history = decisions.history(connection, RLS, one.volunteer_id)
    assert after.review_state == "approved" and after.review_version == one.review_version + 1
    assert [(d.action, d.decided_by, d.note) for d in history] == [
        ("note", "bo@example.dk", "called, keen"),
        ("approve", "anna@example.dk", None),
    ]
    assert history[1].study_version == one.study_version
    assert history[1].submission_id == one.submission_id


def test_the_second_of_two_concurrent_decisions_is_told_not_lost(matched: PanelStore) -> None:
    (one, *_) = everyone(matched, status="eligible")
    seen = one.review_version
    with matched.engine.begin() as connection:
        decisions.decide(
            connection, RLS, one.volunteer_id, Action.APPROVE, act=Act("a", NOW),
            seen_version=seen,
        )  # fmt: skip
    with matched.engine.begin() as connection, pytest.raises(DecisionConflict) as conflict:
        decisions.decide(
            connection, RLS, one.volunteer_id, Action.REJECT, act=Act("b", NOW),
            seen_version=seen, reason="declined",
        )  # fmt: skip
    assert conflict.value.current.review_state == "approved"
    with matched.engine.connect() as connection:
        assert len(decisions.history(connection, RLS, one.volunteer_id)) == 1


def test_rejections_need_a_reason_and_other_needs_a_note(matched: PanelStore) -> None:
    (one, *_) = everyone(matched)
    with matched.engine.begin() as connection:
        for reason, note in ((None, None), ("because", None), ("other", " ")):
            with pytest.raises(DecisionRefused):
                decisions.decide(
                    connection, RLS, one.volunteer_id, Action.REJECT, act=Act("a", NOW),
                    seen_version=None, reason=reason, note=note,
                )  # fmt: skip
        with pytest.raises(DecisionRefused, match="not on the candidate list"):
            decisions.decide(
                connection, RLS, "VNOTACANDIDAT", Action.DEFER, act=Act("a", NOW),
                seen_version=None,
            )  # fmt: skip


def test_a_changed_profile_cannot_be_approved_until_matched_again(
    store: PanelStore, tmp_path: Path
) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [rls_person(1), rls_person(2)]))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    newer = rls_person(3, email="p2@example.dk", indsendt="01-06-2026 10:00:00", postnummer="2100")
    ingest(store, write_signups(tmp_path / "b.csv", [newer]))
    stale = [r for r in everyone(store) if r.stale]
    assert len(stale) == 1 and not stale[0].approvable
    with store.engine.begin() as connection, pytest.raises(DecisionRefused, match="changed"):
        decisions.decide(
            connection, RLS, stale[0].volunteer_id, Action.APPROVE, act=Act("a", NOW),
            seen_version=None,
        )  # fmt: skip
    with store.engine.begin() as connection:  # deferring is fine
        decisions.decide(
            connection, RLS, stale[0].volunteer_id, Action.DEFER, act=Act("a", NOW),
            seen_version=None,
        )  # fmt: skip
    match_and_record(store, RLS)
    (fresh,) = [r for r in everyone(store) if r.volunteer_id == stale[0].volunteer_id]
    assert fresh.approvable and fresh.region == "hovedstaden"


def test_bulk_approval_takes_the_open_ones_of_the_filter(matched: PanelStore) -> None:
    eligible = everyone(matched, status="eligible")
    first = eligible[0]
    with matched.engine.begin() as connection:
        decisions.decide(
            connection, RLS, first.volunteer_id, Action.REJECT, act=Act("a", NOW),
            seen_version=None, reason="declined",
        )  # fmt: skip
        result = decisions.decide_all(
            connection, RLS, CandidateQuery(status="eligible"), Action.APPROVE,
            act=Act("b", NOW),
        )  # fmt: skip
    assert result.decided == len(eligible) - 1 and result.skipped == {"already rejected": 1}
    states = {r.volunteer_id: r.review_state for r in everyone(matched, status="eligible")}
    assert states.pop(first.volunteer_id) == "rejected"
    assert set(states.values()) == {"approved"}
    assert all(r.review_state == "undecided" for r in everyone(matched, status="needs_screening"))


def test_erasure_keeps_decisions_but_not_their_notes(store: PanelStore, tmp_path: Path) -> None:
    ingest(store, write_signups(tmp_path / "a.csv", [rls_person(1)]))
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    (one,) = everyone(store)
    with store.engine.begin() as connection:
        decisions.decide(
            connection, RLS, one.volunteer_id, Action.NOTE, act=Act("a", NOW),
            seen_version=None, note="mentioned a kidney problem",
        )  # fmt: skip
    ingest(store, write_withdrawals(tmp_path / "w.csv", [("p1@example.dk", "01-04-2026 10:00:00", "slet")]))  # fmt: skip
    with store.engine.connect() as connection:
        (kept,) = decisions.history(connection, RLS, one.volunteer_id)
    assert kept.action == "note" and kept.note is None


def test_users_grants_and_sessions(matched: PanelStore) -> None:
    with matched.engine.begin() as connection:
        user_id = review_users.add_user(
            connection, " Anna@Example.DK ", Role.COORDINATOR, "hash", Act("admin", NOW)
        )
        with pytest.raises(review_users.UserExists):
            review_users.add_user(connection, "anna@example.dk", Role.ADMIN, "h", Act("admin", NOW))
        with pytest.raises(review_users.UnknownStudy):
            review_users.grant(connection, user_id, ["nope"], Act("admin", NOW))
        review_users.grant(connection, user_id, [RLS], Act("admin", NOW))
        found = review_users.user_by_email(connection, "ANNA@example.dk")
        assert found is not None
        user, password_hash = found
        assert user.may_review(RLS) and not user.may_see("other") and password_hash == "hash"
        token = review_users.start_session(connection, user_id, NOW)
        found = review_users.find_session(connection, token)
        assert found is not None and found.session.user.email == "anna@example.dk"
        assert found.session.user.studies == {RLS}
        assert not found.expired(NOW + timedelta(minutes=30))
        assert found.due_keep_alive(NOW + timedelta(minutes=30))
        assert found.expired(NOW + timedelta(hours=2))
        review_users.keep_alive(connection, token, NOW + timedelta(minutes=50))
        kept = review_users.find_session(connection, token)
        assert kept is not None and not kept.expired(NOW + timedelta(hours=1, minutes=30))
        assert review_users.find_session(connection, "forged") is None
        review_users.end_session(connection, token)
        assert review_users.find_session(connection, token) is None


def test_a_researcher_never_reviews(matched: PanelStore) -> None:
    with matched.engine.begin() as connection:
        user_id = review_users.add_user(
            connection, "r@example.dk", Role.RESEARCHER, "h", Act("a", NOW)
        )
        review_users.grant(connection, user_id, [RLS], Act("admin", NOW))
        user = review_users.user_by_id(connection, user_id)
    assert user is not None and user.may_see(RLS) and not user.may_review(RLS)


def test_a_bulk_rejection_needs_a_reason_even_when_nobody_is_open(matched: PanelStore) -> None:
    with matched.engine.begin() as connection, pytest.raises(DecisionRefused, match="reason"):
        decisions.decide_all(
            connection, RLS, CandidateQuery(state="approved"), Action.REJECT, act=Act("a", NOW)
        )


def test_only_view_records_skip_waiting_for_the_disk(matched: PanelStore) -> None:
    """On PostgreSQL a page view's record commits without waiting for the WAL flush; the
    transaction after it, a decision, waits again (its durability is never traded)."""
    if matched.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one synchronous setting for every commit")
    (one, *_) = everyone(matched, status="eligible")
    setting = "SELECT current_setting('synchronous_commit')"
    with matched.engine.connect() as connection:
        decisions.log_access(connection, Act("anna@example.dk", NOW), RLS, "candidate list")
        assert connection.exec_driver_sql(setting).scalar_one() == "off"
        connection.commit()
        decisions.decide(
            connection, RLS, one.volunteer_id, Action.DEFER, act=Act("anna@example.dk", NOW),
            seen_version=one.review_version,
        )  # fmt: skip
        assert connection.exec_driver_sql(setting).scalar_one() == "on"
        connection.commit()
