"""Which screening questions an invitation's yes is asked (``store.screening_answers``): the
criteria the engine finds to screen when it evaluates again what the invitation keeps (the
study version, the profile version and the day), the same criteria the candidate list named
when the volunteer was invited, also for criteria that look back over earlier profile
versions. SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from configuration.settings import Settings
from matching.candidates import candidate_records
from matching.engine import match_study
from matching.funnel import attrition_funnel
from outreach.contact_run import queue_invitations
from schemas.act import Act
from schemas.review import Action
from store import decisions
from store.match_runs import matching_panel
from store.panel_store import PanelStore
from store.screening_answers import invited_screening
from store.tables import Candidate, Invitation
from tests.helpers import (
    AS_OF,
    NOW,
    STUDIES,
    definition,
    ingest,
    publish,
    record_match,
    rls_person,
    write_signups,
)
from tests.test_contact_run import send, volunteer
from tests.test_respond_app import linked

__all__ = ["linked"]  # a fixture

PILOT = "nct04462796-magnesium-citrate"


def version(number: int, at: str, **cells: str) -> dict[str, str]:
    """A profile version of volunteer ``number`` submitted ``at``."""
    return rls_person(
        number,
        indsendelse_id=f"00000000-0000-4000-8001-{number:06d}{at[:2]}{at[3:5]}00",
        indsendt=at,
        **cells,
    )


def test_the_questions_are_what_the_list_named_to_screen_when_the_volunteer_was_invited(
    store: PanelStore, linked: Settings, tmp_path: Path
) -> None:
    # The pilot looks back: magnesium in the last 3 months, RLS medication in the last year,
    # kidney disease ever. Versions before the current one leave some of those unanswered.
    text = (STUDIES / f"{PILOT}.yaml").read_text().replace("status: draft", "status: recruiting")
    (tmp_path / "pilot.yaml").write_text(text)
    rows = [
        rls_person(1),
        rls_person(2, diagnoser="", medicin=""),
        version(3, "01-10-2026 09:00:00", medicin=""),  # in the 3 months: magnesium unknown
        version(3, "15-11-2026 09:00:00"),
        version(4, "01-02-2026 09:00:00", diagnoser=""),  # kidney disease ever: unknown
        version(4, "15-11-2026 09:00:00", rls_trang=""),
        version(5, "01-12-2025 09:00:00", medicin="N04BC05"),  # RLS medicine within 1 year
        version(5, "15-11-2026 09:00:00"),
    ]
    ingest(store, write_signups(tmp_path / "s.csv", rows))
    publish(store, tmp_path / "pilot.yaml")
    study = definition(store, PILOT)
    assert study is not None
    with store.reading() as connection:
        match = match_study(study, matching_panel(connection, AS_OF, [study]))
    record_match(store, attrition_funnel(match), candidate_records(match), AS_OF, "test", NOW)
    with store.writing() as connection:
        listed = connection.execute(
            select(Candidate.volunteer_id, Candidate.review_version, Candidate.unknown_criteria)
        ).all()
        for volunteer_id, seen, _ in listed:
            decisions.decide(
                connection, PILOT, volunteer_id, Action.APPROVE,
                act=Act("coordinator@example.dk", NOW), seen_version=seen, unscreened=True,
            )  # fmt: skip
    queue_invitations(store, linked.outreach, [PILOT], AS_OF, "test-run", NOW)
    assert send(store, linked).sent == len(listed) >= 4
    to_screen = {volunteer_id: unknown for volunteer_id, _, unknown in listed}
    assert sum(bool(unknown) for unknown in to_screen.values()) >= 3
    # Unknown only by an earlier version: p3's magnesium, p4's kidney disease.
    assert "magnesium-last-3-months" in to_screen[volunteer(store, 3)]
    assert "kidney-disease-ever" in to_screen[volunteer(store, 4)]
    with store.reading() as connection:
        invitations = connection.execute(select(Invitation.invitation_id, Invitation.volunteer_id))
        for invitation_id, volunteer_id in invitations.all():
            invited = invited_screening(connection, invitation_id)
            assert list(invited.to_screen) == to_screen[volunteer_id]
            asked = [each.criterion_id for each in invited.questions]
            # Every criterion of the pilot that can be unknown has its question.
            assert asked == to_screen[volunteer_id]
