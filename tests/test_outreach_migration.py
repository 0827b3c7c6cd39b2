"""Migration 0010 on a store that has invitations and decisions: nothing is lost either way,
and claims go on from the attempts made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import select

from configuration.settings import Settings
from store.database import _alembic_config, is_up_to_date, migrate
from store.panel_store import PanelStore
from store.tables import Candidate, Decision, Invitation
from tests.test_contact_run import approve, panel_of, queue, rls_variant, send


def test_an_outreach_store_migrates_down_and_up_keeping_every_invitation(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 4))
    approve(store, 1, 2)
    queue(store, settings)
    send(store, settings)
    columns = (
        Invitation.invitation_id,
        Invitation.message_id,
        Invitation.status,
        Invitation.submission_id,
        Invitation.decision_id,
        Invitation.attempts,
    )
    with store.engine.connect() as connection:
        before = connection.execute(select(*columns)).all()
        decisions = connection.execute(select(Decision.decision_id, Decision.submission_id)).all()

    config = _alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0009")
    assert not is_up_to_date(store.engine)
    migrate(store.engine)

    with store.engine.connect() as connection:
        assert connection.execute(select(*columns)).all() == before
        assert connection.execute(select(Decision.decision_id, Decision.submission_id)).all() == (
            decisions
        )
        claims = connection.execute(select(Invitation.attempts, Invitation.claims)).all()
    assert len(before) == 2 and all(attempts == claimed == 1 for attempts, claimed in claims)


def test_automatic_approvals_made_before_0013_become_decisions(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, range(1, 5))
    rls_variant(
        store,
        tmp_path,
        ("invitation_budget: 3", "invitation_budget: 3\n  auto_approve_eligible: true"),
    )
    queue(store, settings)
    send(store, settings)

    def state() -> tuple[list[tuple[object, ...]], ...]:
        with store.engine.connect() as connection:
            return (
                connection.execute(
                    select(Invitation.volunteer_id, Invitation.approved_by, Invitation.status)
                    .where(Invitation.decision_id.is_not(None))
                    .order_by(Invitation.volunteer_id)
                ).all(),
                connection.execute(
                    select(Decision.volunteer_id, Decision.action, Decision.decided_by).order_by(
                        Decision.volunteer_id
                    )
                ).all(),
                connection.execute(
                    select(Candidate.volunteer_id, Candidate.review_state).order_by(
                        Candidate.volunteer_id
                    )
                ).all(),
            )

    now = state()
    assert now[0] and {who for _, _, who in now[1]} == {"automatic approval (study setting)"}
    config = _alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0012")
    before = state()  # as a store written before 0013 holds it
    assert before[0] == [] and before[1] == []
    assert {review for _, review in before[2]} == {"undecided"}
    migrate(store.engine)
    assert state() == now
