"""The recruitment funnel (issue 22, step 5): what happened to a study's candidates, counted
from the store as kept, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from configuration.settings import Settings
from flows.recruitment_artifact import KEY
from panelmatch.cli import app
from store.panel_store import PanelStore
from store.recruitment_funnel import (
    AnswerTimes,
    RecruitmentFunnel,
    duration_words,
    recruitment_funnels,
)
from tests.helpers import (
    AS_OF,
    RLS,
    STUDIES,
    ingest,
    match_and_record,
    publish,
    write_withdrawals,
)
from tests.recruitment_history import DAY, HOUR, make_history
from tests.test_outreach_erasure import erase

#: The history's funnel (tests/recruitment_history.py says who did what).
EXPECTED = RecruitmentFunnel(
    RLS,
    matched=12,
    approved=10,
    invited=10,
    opened=9,
    yes=5,
    no=2,
    stop=1,
    passed=3,
    ruled_out=1,
    answering=1,
    enrolled=1,
    not_eligible=1,
    declined=0,
    # First answers: 2 h, 5 h, 6 h, 1 d, 1 d (p6's yes, not its later no), 3 d, 4 d, 10 d.
    times=AnswerTimes(8, median=DAY, p90=10 * DAY),
)
#: After p3 was referred (three days after the invitations, sent on 28-11-2026).
AFTER_REFERRAL = "05-12-2026 10:00:00"


def funnels(store: PanelStore, study_id: str | None = None) -> dict[str, RecruitmentFunnel]:
    with store.reading() as connection:
        return recruitment_funnels(connection, study_id)


def test_each_step_counts_what_the_volunteers_did(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    make_history(store, settings, tmp_path)
    found = funnels(store)
    assert found == {RLS: EXPECTED}
    funnel = found[RLS]
    assert (funnel.answered, funnel.no_answer, funnel.with_study_team) == (8, 2, 1)
    assert funnel.answer_rate == 0.8


def test_studies_are_counted_apart_and_one_study_alone_is_the_same(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    make_history(store, settings, tmp_path)
    publish(store, STUDIES / "sleep-healthy.yaml")
    match_and_record(store, "sleep-healthy")
    every = funnels(store)
    assert every[RLS] == EXPECTED
    assert funnels(store, RLS) == {RLS: EXPECTED}
    if "sleep-healthy" in every:  # a study with candidates and nobody invited yet
        other = every["sleep-healthy"]
        assert other.invited == other.answered == 0 and other.answer_rate is None
        assert other.times is None
    assert funnels(store, "no-such-study") == {}


def test_an_erasure_takes_the_person_off_the_list_and_keeps_what_followed_the_invitation(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    """p1 (enrolled), p3 (with the study team) and p4 (said no) are erased: their answers go
    with them. p1's and p3's referrals stay and stand for their yes; p3 has left the study
    team's list; p4's no can no longer be told from no answer."""
    make_history(store, settings, tmp_path)
    erase(store, tmp_path, 1, 3, 4)
    (funnel,) = funnels(store).values()
    assert (funnel.matched, funnel.approved, funnel.invited) == (9, 7, 10)
    assert (funnel.yes, funnel.no, funnel.stop, funnel.no_answer) == (5, 1, 1, 3)
    assert (funnel.passed, funnel.enrolled, funnel.left, funnel.with_study_team) == (3, 1, 1, 0)
    assert funnel.opened == 9  # p4's page was opened, and that time is kept
    # Left: 6 h, 1 d, 1 d (p6), 4 d, 10 d.
    assert funnel.times == AnswerTimes(5, median=DAY, p90=10 * DAY)


def test_a_referred_volunteer_who_withdraws_leaves_the_study_teams_list_and_stays_counted(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    make_history(store, settings, tmp_path)
    ingest(
        store, write_withdrawals(tmp_path / "w.csv", [("p3@example.dk", AFTER_REFERRAL, "afmeld")])
    )
    (funnel,) = funnels(store).values()
    assert funnel == replace(EXPECTED, left=1)
    assert funnel.with_study_team == 0


def test_nobody_on_any_list_gives_no_funnel(store: PanelStore) -> None:
    assert funnels(store) == {}
    assert "recruitment" not in CliRunner().invoke(app, ["status"]).stdout


def test_the_times_are_the_median_and_the_nearest_rank_90th_percentile() -> None:
    assert AnswerTimes.of([]) is None
    assert AnswerTimes.of([HOUR]) == AnswerTimes(1, HOUR, HOUR)
    waits = [timedelta(hours=n) for n in range(1, 11)]  # 1 to 10 hours
    assert AnswerTimes.of(waits) == AnswerTimes(10, timedelta(hours=5.5), timedelta(hours=9))
    assert AnswerTimes.of([*waits, timedelta(hours=11)]) == AnswerTimes(
        11, timedelta(hours=6), timedelta(hours=10)
    )


def test_waits_read_as_minutes_hours_or_days() -> None:
    assert duration_words(timedelta(minutes=40)) == "40 minutes"
    assert duration_words(timedelta(hours=5, minutes=30)) == "5.5 hours"
    assert duration_words(timedelta(hours=47)) == "47.0 hours"
    assert duration_words(timedelta(days=3, hours=4, minutes=48)) == "3.2 days"


def test_panel_status_shows_each_studys_funnel_with_counts_only(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    make_history(store, settings, tmp_path)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("recruitment by study (docs/recruitment.md):")
    assert lines[start + 1 : start + 6] == [
        f"  {RLS}: 12 matched → 10 approved → 10 invited → 9 opened the answer page",
        "    answered 8 of 10 invited (80 %): 5 yes, 2 no, 1 stop; 2 no answer",
        "    of the 5 yes: 3 passed the screening questions, 1 ruled out by them, 1 still"
        " answering",
        "    of the 3 passed: 1 enrolled, 1 not eligible at screening, 0 declined, 0 withdrawn"
        " or erased since, 1 with the study team",
        "    time to a first answer: median 24.0 hours, 90 % within 10.0 days (8 answers)",
    ]
    assert "example.dk" not in result.stdout and "ringer igen" not in result.stdout


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.xdist_group("prefect")
def test_each_cycle_publishes_the_funnels_as_a_table_of_counts(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    make_history(store, settings, tmp_path)
    settings.cycle.inbox_dir.mkdir(parents=True)
    result = CliRunner().invoke(app, ["cycle", "--as-of", AS_OF.strftime("%d-%m-%Y")])
    assert result.exit_code == 0, result.stderr
    with get_client(sync_client=True) as client:
        (artifact,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[KEY])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    table = artifact.data if isinstance(artifact.data, list) else json.loads(str(artifact.data))
    (row,) = [row for row in table if row["study"] == RLS]
    assert row == {
        "study": RLS,
        "matched": 12,
        "approved": 10,
        "invited": 10,
        "opened the page": 9,
        "yes": 5,
        "no": 2,
        "stop": 1,
        "no answer": 2,
        "answered of invited": "8 of 10 (80 %)",
        "passed the questions": 3,
        "ruled out by them": 1,
        "still answering": 1,
        "enrolled": 1,
        "not eligible at screening": 1,
        "declined": 0,
        "withdrawn or erased since": 0,
        "with the study team": 1,
        "answers timed": 8,
        "median time to answer": "24.0 hours",
        "90 % answered within": "10.0 days",
    }
    assert "@" not in str(artifact.data) and "ringer" not in str(artifact.data)
