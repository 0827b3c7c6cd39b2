"""The schema comes from Alembic migrations, and they describe exactly the tables in code."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from schemas.review import Action
from store import decisions
from store.database import _alembic_config, create_panel_engine, is_up_to_date, migrate
from store.panel_store import PanelStore
from store.tables import Base
from tests.helpers import NOW, RLS, everyone


def test_migrations_build_exactly_the_tables_in_code(database_url: str) -> None:
    engine = create_panel_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    engine.dispose()


def test_downgrade_and_upgrade_round_trip(database_url: str) -> None:
    engine = create_panel_engine(database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not is_up_to_date(engine)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate(engine)
    assert is_up_to_date(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_review_states_move_between_tables_with_the_data(matched: PanelStore) -> None:
    """0004 moves coordinators' review state off the candidate rows: decided candidates keep
    their state and version both ways, on a store with data (SQLite rebuilds tables)."""
    first, second = (row.volunteer_id for row in everyone(matched)[:2])
    with matched.engine.begin() as connection:
        for _ in range(2):
            decisions.decide(
                connection, RLS, first, Action.DEFER, actor="a", now=NOW, seen_version=None
            )
        decisions.decide(
            connection, RLS, first, Action.APPROVE, actor="a", now=NOW, seen_version=None
        )
    config = _alembic_config()
    with matched.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    with matched.engine.connect() as connection:
        before = dict(
            connection.execute(
                text("SELECT volunteer_id, review_state || ' ' || review_version FROM candidate")
            ).all()
        )
    assert before[first] == "approved 3" and before[second] == "undecided 0"
    migrate(matched.engine)
    states = {r.volunteer_id: (r.review_state, r.review_version) for r in everyone(matched)}
    assert states[first] == ("approved", 3) and states[second] == ("undecided", 0)
    assert len(states) == len(before)
