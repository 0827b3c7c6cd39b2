"""Configuration, read from the environment (``PANEL_*``) or a ``.env`` file.

Every setting has an embedded default, so a fresh checkout runs with no configuration at all:
a SQLite file and the archive under ``./data``. ``Settings`` reads the variables (their names
are the operators' interface, so they stay flat: ``PANEL_DATABASE_URL``); each stage receives
only its own section (``settings.store``, ``.ingest``, ``.matching``, ``.outreach``,
``.cycle``), never the whole. The review app has no settings of its own: the ``panel review``
command's options are all it takes.

Nothing here imports the rest of panelmatch: configuration is the bottom layer.
"""

from __future__ import annotations

import email.utils
import getpass
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from configuration.errors import ConfigurationError
from configuration.smtp_url import DEFAULT_TIMEOUT, parse_smtp_url

#: The send lease is at least this many SMTP timeouts. The timeout bounds each step of a send,
#: not the send: connecting, the greeting, EHLO, STARTTLS and the TLS handshake, EHLO again,
#: AUTH, MAIL, RCPT, DATA, the message's answer and QUIT are a dozen waits of up to the
#: timeout each. A lease that runs out while a sender still waits lets another sender take
#: the invitation over and send it a second time.
LEASE_PER_SMTP_TIMEOUT = 20


@dataclass(frozen=True)
class ContactPolicy:
    """The panel's promise about how often anyone is contacted, across all studies."""

    min_days_between: int = 30
    max_per_window: int = 4
    window_days: int = 365


@dataclass(frozen=True)
class StoreSettings:
    """Where the panel store lives: its database, raw archive, staging folder and the key of
    its keyed e-mail hashes."""

    database_url: str
    data_dir: Path
    pseudonym_key: SecretStr | None = None

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

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


@dataclass(frozen=True)
class IngestSettings:
    quarantine_threshold: float
    validation_workers: int
    #: Great Expectations validation results and Data Docs, one folder per ingest.
    reports_dir: Path


@dataclass(frozen=True)
class MatchingSettings:
    partitions: int
    dask_address: str | None
    dask_workers: int


@dataclass(frozen=True)
class OutreachSettings:
    smtp_url: SecretStr | None
    outbox_dir: Path
    sms_dir: Path
    mail_from: str
    stop_contact: str
    unsubscribe: str | None
    template_dir: Path | None
    policy: ContactPolicy
    send_lease_seconds: float
    send_max_attempts: int
    send_backoff_seconds: float
    #: Where volunteers answer (``https://host[/path]``, no trailing slash); None: invitations
    #: carry no answer link.
    public_url: str | None = None
    #: An answer link works this many days after its invitation was sent.
    answer_days: int = 60
    #: One reminder goes this many days after an invitation left unanswered.
    reminder_days: int = 10

    @property
    def message_domain(self) -> str:
        address = email.utils.parseaddr(self.mail_from)[1]
        return address.rpartition("@")[2] or "panelmatch.invalid"


@dataclass(frozen=True)
class CycleSettings:
    inbox_dir: Path
    processed_dir: Path
    rejected_dir: Path
    notify_webhook: SecretStr | None
    cron: str
    timezone: str


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

    smtp_url: SecretStr | None = Field(
        None,
        description="Send e-mail over SMTP: smtp://, smtp+starttls:// or smtps://"
        "[user:password@]host[:port][?cafile=CA.pem&timeout=S] (timeout: each step of a send, "
        f"default {DEFAULT_TIMEOUT:g} s). Default: no mail server; each e-mail is written as an "
        ".eml file into OUTBOX_DIR.",
    )
    outbox_dir: Path | None = Field(
        None, description="Where e-mails go without SMTP_URL. Default: DATA_DIR/outbox."
    )
    sms_dir: Path | None = Field(
        None,
        description="Where SMS invitations are written (no SMS gateway is connected yet). "
        "Default: DATA_DIR/sms-outbox.",
    )
    mail_from: str = Field(
        "Sundhedspanelet <panel@sundhedspanelet.example>",
        description="The From of invitations; its domain ends every Message-ID.",
    )
    stop_contact: str = Field(
        "Du kan til enhver tid afmelde dig på sundhedspanelet.example/afmeld eller skrive "
        "til afmeld@sundhedspanelet.example. Så kontakter vi dig aldrig igen.",
        description="How volunteers stop all contact, as every invitation says it.",
    )
    unsubscribe: str | None = Field(
        "mailto:afmeld@sundhedspanelet.example?subject=afmeld",
        description="The List-Unsubscribe address of invitations (mailto: or https:).",
    )
    template_dir: Path | None = Field(
        None,
        description="Own invitation templates: a folder with invitation.{subject,txt,html,sms}"
        ".j2 and per study a sub-folder named by the study id (each file optional).",
    )
    contact_min_days: int = Field(30, ge=0, description="Days between two invitations, at least.")
    contact_max_per_window: int = Field(4, ge=1, description="Invitations per window, at most.")
    contact_window_days: int = Field(365, ge=1, description="The window of that limit, in days.")
    send_lease_seconds: float = Field(
        600,
        gt=0,
        description="An invitation a sender took this long ago and did not finish is taken "
        "over (its sender died) and sent again, with the same Message-ID. With SMTP_URL at "
        f"least {LEASE_PER_SMTP_TIMEOUT} x its timeout: one send waits up to the timeout at "
        "each of about a dozen steps.",
    )
    send_max_attempts: int = Field(6, ge=1, description="Delivery attempts before giving up.")
    send_backoff_seconds: float = Field(
        60, ge=0, description="Wait after the first transient failure; doubles each time."
    )
    public_url: str | None = Field(
        None,
        description="The panel's public address (http(s)://host[/path], no query or fragment): "
        "every invitation carries its volunteer's answer link, PUBLIC_URL/svar/<token>. "
        "Default: none, and invitations carry no link.",
    )
    answer_days: int = Field(
        60, ge=1, description="An answer link works this many days after its invitation is sent."
    )
    reminder_days: int = Field(
        10,
        ge=1,
        description="One reminder, carrying the same answer link, goes this many days after an "
        "invitation is sent if it has no answer (counted in the contact policy).",
    )

    inbox_dir: Path | None = Field(
        None,
        description="Where the scheduled cycle picks up new exports. Default: DATA_DIR/inbox.",
    )
    processed_dir: Path | None = Field(
        None, description="Where ingested exports move. Default: DATA_DIR/inbox-processed."
    )
    rejected_dir: Path | None = Field(
        None,
        description="Where refused exports move, each with NAME.reason.txt. "
        "Default: DATA_DIR/inbox-rejected.",
    )
    notify_webhook: SecretStr | None = Field(
        None,
        description="An http(s) URL the cycle POSTs JSON to when it fails or refuses a file "
        "(e.g. a chat webhook). Default: none (Prefect automations can notify too).",
    )
    cycle_cron: str = Field(
        "0 2 * * *", description="When `panel serve` runs the cycle (cron, CYCLE_TIMEZONE)."
    )
    match_partitions: int = Field(
        1,
        ge=1,
        description="Match the panel in this many partitions of volunteers, as parallel tasks "
        "(on Dask with DASK_ADDRESS). 1: the whole panel in one task.",
    )
    dask_address: str | None = Field(
        None,
        description="Run matching's partitions on this Dask scheduler (tcp://host:8786), or "
        "'local' for a temporary LocalCluster. The store must then be PostgreSQL.",
    )
    dask_workers: int = Field(2, ge=1, description="Workers of the 'local' Dask cluster.")
    cycle_timezone: str = Field("Europe/Copenhagen", description="The time zone of CYCLE_CRON.")

    @field_validator("public_url")
    @classmethod
    def _a_public_address(cls, value: str | None) -> str | None:
        return public_address(value)

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        url = self.smtp_url.get_secret_value().strip() if self.smtp_url else ""
        if not url:
            return self
        try:
            timeout = parse_smtp_url(url).timeout
        except ValueError:  # said where the URL is used (panel contact, panel config)
            return self
        least = LEASE_PER_SMTP_TIMEOUT * timeout
        if self.send_lease_seconds < least:
            # ValueError: pydantic makes a validation error only of ValueError/AssertionError
            # (``load_settings`` turns that into a SettingsError).
            raise ValueError(
                f"PANEL_SEND_LEASE_SECONDS is {self.send_lease_seconds:g} s; with an SMTP timeout "
                f"of {timeout:g} s it must be at least {least:g} s ({LEASE_PER_SMTP_TIMEOUT} x the "
                "timeout): one send waits up to the timeout at each of about a dozen steps, and a "
                "lease that runs out mid-send lets another sender send the message again. Raise "
                "PANEL_SEND_LEASE_SECONDS or lower the timeout= of PANEL_SMTP_URL"
            )
        return self

    @property
    def store(self) -> StoreSettings:
        url = self.database_url or f"sqlite:///{self.data_dir / 'panel.db'}"
        return StoreSettings(url, self.data_dir, self.pseudonym_key)

    @property
    def ingest(self) -> IngestSettings:
        return IngestSettings(
            self.quarantine_threshold,
            self.validation_workers,
            self.data_dir / "reports",
        )

    @property
    def matching(self) -> MatchingSettings:
        return MatchingSettings(self.match_partitions, self.dask_address, self.dask_workers)

    @property
    def outreach(self) -> OutreachSettings:
        return OutreachSettings(
            smtp_url=self.smtp_url,
            outbox_dir=self.outbox_dir or self.data_dir / "outbox",
            sms_dir=self.sms_dir or self.data_dir / "sms-outbox",
            mail_from=self.mail_from,
            stop_contact=self.stop_contact,
            unsubscribe=self.unsubscribe,
            template_dir=self.template_dir,
            policy=ContactPolicy(
                self.contact_min_days, self.contact_max_per_window, self.contact_window_days
            ),
            send_lease_seconds=self.send_lease_seconds,
            send_max_attempts=self.send_max_attempts,
            send_backoff_seconds=self.send_backoff_seconds,
            public_url=self.public_url,
            answer_days=self.answer_days,
            reminder_days=self.reminder_days,
        )

    @property
    def cycle(self) -> CycleSettings:
        return CycleSettings(
            inbox_dir=self.inbox_dir or self.data_dir / "inbox",
            processed_dir=self.processed_dir or self.data_dir / "inbox-processed",
            rejected_dir=self.rejected_dir or self.data_dir / "inbox-rejected",
            notify_webhook=self.notify_webhook,
            cron=self.cycle_cron,
            timezone=self.cycle_timezone,
        )


#: What a public address may hold: no spaces, quotes, angle brackets or ampersands, so the link
#: reads the same in a text message, an SMS and an HTML attribute.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9._~:/%+,;=@!$*()\[\]-]+")


def public_address(value: str | None) -> str | None:
    """``PANEL_PUBLIC_URL`` as links are built on it: an http(s) URL with a host, no user,
    query or fragment, without its trailing slash; None when unset or empty. Raises
    ``ValueError`` saying what is wrong, never the value."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    expected = "an http:// or https:// address with a host and no query or fragment"
    if "?" in value or "#" in value:
        raise ValueError(f"must be {expected}: links are made by adding /svar/<token> to it")
    if not _URL_CHARACTERS.fullmatch(value):
        raise ValueError(f"must be {expected}, without spaces, quotes, <, > or &")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port that is not a number)
    except ValueError:
        raise ValueError(f"must be {expected}") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be {expected}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"must be {expected}, without a user or password")
    return value.rstrip("/")


class SettingsError(ConfigurationError):
    """The configuration is unusable: one line saying what to change (never a value: it may be
    a secret), whichever command or step reads it first."""


def load_settings() -> Settings:
    """The settings in effect now, read afresh from the environment (and ``.env``) each call:
    nothing is cached, so a test or a long-running server sees what its environment says."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(_in_one_line(error)) from None


def _in_one_line(error: ValidationError) -> str:
    """Each problem with the variable it is about; never the value (it may be a secret)."""
    said = []
    for problem in error.errors(include_input=False, include_url=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        where = problem["loc"]
        said.append(f"PANEL_{str(where[0]).upper()}: {message}" if where else message)
    return "; ".join(said)
