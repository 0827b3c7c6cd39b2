"""The parts of the CLI that do not run a flow: fast, and clear about what they do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from panelmatch import cli
from panelmatch.cli import app
from store.panel_store import PanelStore
from tests.helpers import ingest, overview

SAMPLES = Path(__file__).parent.parent / "data_samples"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as on a wide terminal, so a row is one line."""
    monkeypatch.setattr(cli.out, "width", 250)


def test_commands_that_run_no_flow_do_not_load_prefect_or_great_expectations() -> None:
    probe = "import sys, panelmatch.cli; print(sorted(m for m in ('prefect', 'great_expectations') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


def test_help_explains_the_commands() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "demo", "status", "config"):
        assert command in result.stdout
    ingest_help = CliRunner().invoke(app, ["ingest", "--help"]).stdout
    assert "stored, quarantined" in ingest_help and "--json" in ingest_help


def test_config_shows_every_setting_without_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    from configuration.settings import load_settings

    monkeypatch.setenv("PANEL_PSEUDONYM_KEY", "ab" * 32)
    settings = load_settings()
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 0
    for name in (
        "PANEL_DATA_DIR",
        "PANEL_DATABASE_URL",
        "PANEL_QUARANTINE_THRESHOLD",
        "PANEL_PSEUDONYM_KEY",
    ):
        assert name in result.stdout
    assert settings.pseudonym_key is not None
    assert settings.pseudonym_key.get_secret_value() not in result.stdout


def test_status_shows_the_panel_and_the_audit_log(store: PanelStore) -> None:
    ingest(store, SAMPLES / "signups.csv", SAMPLES / "afmeldinger.csv")
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0
    assert f"{overview(store).volunteers:,} volunteers" in result.stdout
    assert "signups.csv" in result.stdout and "afmeldinger.csv" in result.stdout
    assert "test-steward" in result.stdout


def test_an_unreachable_store_is_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PANEL_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("PANEL_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 1
    said = result.stdout + result.stderr
    assert result.stderr.startswith("error: cannot open the panel store: the database driver:")
    assert "Connection refused" in result.stderr and len(said.splitlines()) == 1
    assert "Traceback" not in said and "Error" not in said
