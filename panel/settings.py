"""Configuration, read once from the environment (``PANEL_*``) or a ``.env`` file.

Every setting has an embedded default, so a fresh checkout runs with no configuration at all:
a SQLite file and the archive under ``./data``.
"""

from __future__ import annotations

import getpass
import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PANEL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        Path("data"),
        description="Folder for the embedded defaults: SQLite store, raw archive, GX reports.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the panel store, e.g. "
        "postgresql+psycopg://user@host/db. Default: SQLite file DATA_DIR/panel.db.",
    )
    quarantine_threshold: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A file is refused when this share of its rows or more is quarantined.",
    )
    pseudonym_key: SecretStr | None = Field(
        None,
        description="Secret key (hex) for the keyed e-mail hashes. Default: generated once into "
        "DATA_DIR/pseudonym.key. Losing it makes erasure tombstones unmatchable: back it up.",
    )
    actor: str = Field(
        default_factory=getpass.getuser,
        description="Who runs the ingest, for the audit log. Default: the OS user.",
    )
    validation_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Processes validating rows of big files. Default: one per core.",
    )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'panel.db'}"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def reports_dir(self) -> Path:
        """Great Expectations validation results and Data Docs, one folder per ingest."""
        return self.data_dir / "reports"

    def pseudonym_key_bytes(self) -> bytes:
        """The key for keyed e-mail hashes, created on first use when none is configured."""
        if self.pseudonym_key is not None:
            return bytes.fromhex(self.pseudonym_key.get_secret_value())
        path = self.data_dir / "pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                pass
            else:
                with os.fdopen(descriptor, "w") as key_file:
                    key_file.write(secrets.token_hex(32))
        return bytes.fromhex(path.read_text().strip())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
