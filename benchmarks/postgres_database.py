"""A benchmark's own PostgreSQL database, kept between runs."""

from __future__ import annotations


def own_database(url: str, name: str, drop_first: bool = False) -> str:
    """The URL of database ``name`` on the server ``url`` names, created if it is not there
    (dropped first with ``drop_first``)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if drop_first:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        exists = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
        ).first()
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)
