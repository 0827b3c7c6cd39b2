"""Migration 0010 on a store that has invitations and decisions: nothing is lost either way,
and claims go on from the attempts made."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import select

from panel.settings import Settings
from store.database import _alembic_config, is_up_to_date, migrate
from store.panel_store import PanelStore
from store.tables import Decision, Invitation
from tests.test_contact_run import approve, panel_of, queue, send


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
