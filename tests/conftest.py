"""Shared fixtures: a panel store on SQLite and on PostgreSQL, configured settings, Prefect.

Store tests take the ``database_url`` fixture and so run once per database: SQLite always,
PostgreSQL when ``PANEL_TEST_POSTGRES_URL`` names a server (``.ci/run`` sets it). Each test run
gets its own PostgreSQL database, dropped at the end; each test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from configuration.library_defaults import apply_offline_defaults

apply_offline_defaults()

from configuration.settings import Settings, load_settings  # noqa: E402
from store.database import create_panel_engine, migrate  # noqa: E402
from store.panel_store import PanelStore  # noqa: E402
from store.tables import Base  # noqa: E402
from tests.helpers import RLS, SAMPLES, STUDIES, ingest, match_and_record, publish  # noqa: E402

#: The browser tests' fixtures (server, browser, page, any_page, problems) and the review app's
#: (reviewed, client).
pytest_plugins = ["tests.browser", "tests.review_fixtures"]

POSTGRES_URL = os.environ.get("PANEL_TEST_POSTGRES_URL")
#: A fixed key, so tests can compute the hashes the store keeps.
TEST_PSEUDONYM_KEY = "7e" * 32


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite store that tests copy (migrating each time costs more)."""
    path = tmp_path_factory.mktemp("template") / "panel.db"
    engine = create_panel_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run (and xdist worker), dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip("PANEL_TEST_POSTGRES_URL is not set")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"panel_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    engine = create_panel_engine(url)
    migrate(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "panel.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings pointing at this test's store and data folder (``PANEL_*`` as a user sets them)."""
    monkeypatch.setenv("PANEL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PANEL_DATABASE_URL", database_url)
    monkeypatch.setenv("PANEL_PSEUDONYM_KEY", TEST_PSEUDONYM_KEY)
    monkeypatch.setenv("PANEL_ACTOR", "test-steward")
    monkeypatch.setenv("PANEL_VALIDATION_WORKERS", "1")
    yield load_settings()


@pytest.fixture
def store(settings: Settings) -> Iterator[PanelStore]:
    panel = PanelStore.open(load_settings().store)
    yield panel
    panel.engine.dispose()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect server for the whole run (starting one costs about 10 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness: None) -> str:
    """The harness's Prefect server, for ``panel`` commands run as processes of their own."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url
    return str(url)


@pytest.fixture
def matched(store: PanelStore) -> PanelStore:
    """The sample panel, with the RLS trial published and matched."""
    ingest(store, SAMPLES / "signups.csv")
    publish(store, STUDIES / f"{RLS}.yaml")
    match_and_record(store, RLS)
    return store
