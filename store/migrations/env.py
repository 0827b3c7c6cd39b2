"""Alembic environment: runs on the connection ``store.database.migrate`` hands it, or, from
the ``alembic`` command line, on the database ``PANEL_DATABASE_URL`` names."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from store.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from configuration.settings import load_settings
    from store.database import create_panel_engine

    with create_panel_engine(load_settings().store.database_url).connect() as fresh:
        _run(fresh)
        fresh.commit()
