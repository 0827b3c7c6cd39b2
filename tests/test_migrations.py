"""The schema comes from Alembic migrations, and they describe exactly the tables in code."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from store.database import _alembic_config, create_panel_engine, is_up_to_date, migrate
from store.errors import StoreError
from store.tables import Base


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


def test_a_failing_migration_leaves_a_sqlite_store_as_it_was(tmp_path: Path) -> None:
    """All of an upgrade or none of it: SQLite's driver commits before each DDL statement
    unless told otherwise, which once left stores half-migrated."""
    engine = create_panel_engine(f"sqlite:///{tmp_path / 'panel.db'}")
    with engine.begin() as connection:  # takes the name migration 0008 gives an index
        connection.exec_driver_sql("CREATE TABLE ix_decision_volunteer_id (x INTEGER)")
    with pytest.raises(StoreError, match="ix_decision_volunteer_id"):
        migrate(engine)
    assert inspect(engine).get_table_names() == ["ix_decision_volunteer_id"]
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE ix_decision_volunteer_id")
    migrate(engine)
    assert is_up_to_date(engine)
    engine.dispose()
