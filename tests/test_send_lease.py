"""The send lease outlasts a send: the settings refuse a lease that the SMTP timeout could run
out, and every `panel` command says so in one line, with exit code 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from configuration.settings import Settings


@pytest.fixture(autouse=True)
def _no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PANEL_SMTP_URL", "PANEL_SEND_LEASE_SECONDS"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("url", "refused", "accepted"),
    [
        ("smtp://mail.example.dk?timeout=30", 599, 600),
        ("smtp://mail.example.dk", 599, 600),  # the channel's default timeout, 30 s
        ("smtps://anna:hemmelig@mail.example.dk:465?timeout=2", 39, 40),
    ],
)
def test_a_lease_shorter_than_twenty_smtp_timeouts_is_refused(
    monkeypatch: pytest.MonkeyPatch, url: str, refused: float, accepted: float
) -> None:
    monkeypatch.setenv("PANEL_SMTP_URL", url)
    monkeypatch.setenv("PANEL_SEND_LEASE_SECONDS", str(refused))
    with pytest.raises(ValidationError, match="PANEL_SEND_LEASE_SECONDS") as caught:
        Settings()
    assert f"at least {accepted:g} s" in str(caught.value) and "hemmelig" not in str(caught.value)
    monkeypatch.setenv("PANEL_SEND_LEASE_SECONDS", str(accepted))
    assert Settings().send_lease_seconds == accepted


def test_the_defaults_and_a_folder_outbox_need_nothing_more(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().send_lease_seconds == 600
    monkeypatch.setenv("PANEL_SEND_LEASE_SECONDS", "1")  # no mail server, no timeout to outlast
    assert Settings().send_lease_seconds == 1


def _panel(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point, in a folder without a .env file."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PANEL_")}
    environment |= {"PANEL_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, "-c", "from panelmatch.cli import main; main()", *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [("status",), ("config",), ("contact", "--dry-run"), ("contact", "retry", "rls-magnesium")],
)
def test_every_command_refuses_a_short_lease_in_one_line(
    tmp_path: Path, command: tuple[str]
) -> None:
    run = _panel(
        tmp_path,
        *command,
        PANEL_SMTP_URL="smtp://anna:hemmelig@mail.example.dk?timeout=30",
        PANEL_SEND_LEASE_SECONDS="60",
    )
    assert run.returncode == 1 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: PANEL_SEND_LEASE_SECONDS is 60 s;"), line
    assert "at least 600 s" in line and "hemmelig" not in line
    assert not (tmp_path / "data").exists()  # refused before anything was opened


def test_any_bad_setting_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    run = _panel(tmp_path, "status", PANEL_QUARANTINE_THRESHOLD="2", PANEL_PSEUDONYM_KEY="zz")
    assert run.returncode == 1 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line == "error: PANEL_QUARANTINE_THRESHOLD: Input should be less than or equal to 1"
