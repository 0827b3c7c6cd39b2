"""Delivery channels: where an invitation goes once it is decided and written.

E-mail goes through a ``MailChannel``:

* ``SmtpChannel`` talks to a mail server named by ``PANEL_SMTP_URL``
  (``smtp://``, ``smtp+starttls://`` or ``smtps://``, see ``SmtpChannel``);
* ``OutboxFolder`` is the embedded default when no server is configured: each message becomes
  one standard ``.eml`` file that any mail program opens, or that an operator hands on.

SMS has no provider yet. ``SmsGateway`` is the interface a provider will implement;
``SmsFolder``, the only implementation, does NOT send anything: it writes each text message to
a JSON file in a folder, for someone to send by hand or for a later provider to pick up.

Every channel raises only ``DeliveryError`` subclasses from ``send``: a
``TransientDeliveryError`` (retry later, with backoff) or a ``PermanentDeliveryError`` (do not
retry this message). Both folder channels write atomically and are idempotent per message id:
sending the same message again replaces its file, so a resend after a crash leaves one file.
"""

from __future__ import annotations

import contextlib
import email.message
import email.policy
import hashlib
import json
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar, Protocol
from urllib.parse import quote

from configuration.errors import SmtpUrlError
from configuration.smtp_url import DEFAULT_TIMEOUT, parse_smtp_url
from outreach.errors import (
    DeliveryError,
    MessageError,
    PermanentDeliveryError,
    TransientDeliveryError,
)


class MailChannel(Protocol):
    def send(self, message: email.message.EmailMessage) -> None:
        """Deliver ``message``; raises ``DeliveryError`` subclasses only."""
        ...

    def describe(self) -> str:
        """The channel for logs, without secrets."""
        ...


class SmtpChannel:
    """A ``MailChannel`` over SMTP, one connection per message.

    ``url`` is ``PANEL_SMTP_URL`` (``configuration.smtp_url``): ``smtp://``, ``smtp+starttls://`` or
    ``smtps://``, ``[user:password@]host[:port][?cafile=/path/ca.pem&timeout=SECONDS]``. User
    and password are used to log in only when given. The server's certificate and host name
    are always verified, against ``cafile`` when given, else against the system's trusted
    authorities. A ``timeout`` in the URL takes precedence over the ``timeout`` argument; it
    bounds each step of a send (connecting, each command's answer), not the whole send.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        address = parse_smtp_url(url, timeout)
        self.scheme = address.scheme
        self.host = address.host
        self.port = address.port
        self.user = address.user
        self._password = address.password
        self.timeout = address.timeout
        self._timeout_in_url = address.timeout_in_url
        self.cafile = address.cafile
        self._tls: ssl.SSLContext | None = None
        if self.scheme != "smtp":
            try:
                self._tls = ssl.create_default_context(cafile=self.cafile)
            except (OSError, ssl.SSLError) as error:
                raise SmtpUrlError(f"SMTP URL: cafile {self.cafile!r} unusable: {error}") from None

    def describe(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        auth = f"{quote(self.user, safe='')}:***@" if self.user else ""
        params = [f"cafile={quote(self.cafile)}"] if self.cafile else []
        if self._timeout_in_url:
            params.append(f"timeout={self.timeout:g}")
        query = f"?{'&'.join(params)}" if params else ""
        return f"{self.scheme}://{auth}{host}:{self.port}{query}"

    def __repr__(self) -> str:
        return f"SmtpChannel({self.describe()!r})"

    def send(self, message: email.message.EmailMessage) -> None:
        if not message["From"] or not message["To"]:
            raise PermanentDeliveryError("message has no From or no To header")
        client: smtplib.SMTP | None = None
        in_step = True  # whether the connection can still take a QUIT
        try:
            # Connecting in the constructor lets smtplib check the certificate's host name.
            if self._tls is not None and self.scheme == "smtps":
                client = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self._tls is not None and self.scheme == "smtp+starttls":
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise PermanentDeliveryError(
                        f"smtp server {self.host}:{self.port} does not offer STARTTLS"
                    )
                client.starttls(context=self._tls)
                client.ehlo()
            if self.user is not None and self._password is not None:
                client.login(self.user, self._password)
            refused = client.send_message(message)
            if refused:
                # Some recipients took it: sending again would duplicate it for them.
                codes = ", ".join(f"{code} {_text(text)}" for code, text in refused.values())
                raise PermanentDeliveryError(f"smtp refused some recipients: {codes}")
        except DeliveryError:
            raise
        except Exception as error:
            in_step = isinstance(error, smtplib.SMTPResponseException)
            # A UnicodeError's text quotes the string it failed on, which may be the password.
            raise self._classify(error) from (None if isinstance(error, UnicodeError) else error)
        finally:
            if client is not None:
                if in_step:  # not after a timeout or a broken connection: QUIT would wait
                    with contextlib.suppress(Exception):
                        client.quit()
                client.close()

    def _classify(self, error: Exception) -> DeliveryError:
        where = f"{self.host}:{self.port}"
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return PermanentDeliveryError(
                f"smtp authentication failed for user {self.user!r}: "
                f"{error.smtp_code} {_text(error.smtp_error)}"
            )
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in error.recipients.values()]
            replies = "; ".join(f"{c} {_text(t)}" for c, t in error.recipients.values())
            kind = _kind(all(400 <= code < 500 for code in codes))
            return kind(f"smtp recipient refused: {replies}")
        if isinstance(error, smtplib.SMTPResponseException):
            reply = f"smtp {error.smtp_code} {_text(error.smtp_error)}"
            return _kind(400 <= error.smtp_code < 500)(reply)
        if isinstance(error, smtplib.SMTPServerDisconnected):
            return TransientDeliveryError(f"smtp server {where} disconnected: {error}")
        if isinstance(error, smtplib.SMTPException):
            return PermanentDeliveryError(f"smtp {where}: {error}")
        if isinstance(error, ssl.SSLCertVerificationError):
            return PermanentDeliveryError(
                f"smtp {where}: TLS certificate not trusted: "
                f"{getattr(error, 'verify_message', None) or error}"
            )
        if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return TransientDeliveryError(f"smtp {where}: TLS connection closed: {error}")
        if isinstance(error, ssl.SSLError):
            return PermanentDeliveryError(f"smtp {where}: TLS failed: {error.reason or error}")
        if isinstance(error, TimeoutError):
            return TransientDeliveryError(f"smtp {where}: timed out after {self.timeout:g} s")
        if isinstance(error, OSError):
            reason = error.strerror or str(error) or type(error).__name__
            return TransientDeliveryError(f"smtp {where}: connection failed: {reason}")
        if isinstance(error, UnicodeError):
            return PermanentDeliveryError(
                f"smtp {where}: a user name, password or address is not ASCII and cannot be sent"
            )
        return PermanentDeliveryError(f"smtp {where}: {type(error).__name__}: {error}")


def _kind(transient: bool) -> type[DeliveryError]:
    return TransientDeliveryError if transient else PermanentDeliveryError


def _text(text: bytes | str) -> str:
    """A server reply on one line."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return " ".join(text.split())


_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")
_MAX_NAME = 200


def file_name(message_id: str) -> str:
    """A file name (without suffix) for a message id: ``<a/b@x>`` → ``a_b@x``."""
    name = _UNSAFE.sub("_", message_id.strip().removeprefix("<").removesuffix(">"))
    if not name.strip("._"):
        raise MessageError(f"message id {message_id!r} gives no usable file name")
    if len(name) > _MAX_NAME:  # file systems allow 255 bytes; keep it unique with a hash
        digest = hashlib.sha256(message_id.encode()).hexdigest()[:16]
        name = f"{name[: _MAX_NAME - 17]}_{digest}"
    return name


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    """Write ``directory/name`` so that it holds all of ``data`` or is as it was before.

    The directory is created (mode 0o700) if missing; the file gets mode 0o600. A temporary
    file in the same directory is written, flushed and synced, renamed over ``name``, and the
    directory is synced so that the rename survives a crash.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = directory / name
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    directory_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(directory_fd)
    finally:
        os.close(directory_fd)
    return target


class MessageFolder:
    """A folder on this machine holding one file per message, named by its message id."""

    suffix: ClassVar[str]
    #: What the folder is, in messages.
    kind: ClassVar[str]

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_for(self, message_id: str) -> Path:
        return self.directory / f"{file_name(message_id)}{self.suffix}"

    def keep(self, message_id: str, data: bytes) -> None:
        """Write the message's file whole or not at all; a full or missing disk is a passing
        trouble (the send is tried again later)."""
        try:
            write_atomically(self.directory, self.path_for(message_id).name, data)
        except OSError as error:
            raise TransientDeliveryError(f"{self.kind} {self.directory}: {error}") from None


class OutboxFolder(MessageFolder):
    """A ``MailChannel`` writing each message to ``<directory>/<message id>.eml`` (RFC 5322)."""

    suffix = ".eml"
    kind = "outbox folder"

    def describe(self) -> str:
        return f"{self.kind} {self.directory}"

    def send(self, message: email.message.EmailMessage) -> None:
        message_id = message["Message-ID"]
        if not message_id:
            raise MessageError("a message for the outbox folder needs a Message-ID")
        try:
            data = message.as_bytes(policy=email.policy.SMTP)
        except UnicodeError:
            raise PermanentDeliveryError(
                f"message {message_id} has a header that cannot be written as ASCII"
            ) from None
        self.keep(str(message_id), data)


@dataclass(frozen=True)
class SmsMessage:
    message_id: str  # stable, the same as the e-mail Message-ID would be
    to: str  # phone number as stored, e.g. "+4512345678"
    body: str


class SmsGateway(Protocol):
    def send(self, sms: SmsMessage) -> None:
        """Deliver ``sms``; raises ``DeliveryError`` subclasses only."""
        ...

    def describe(self) -> str:
        """The gateway for logs, without secrets."""
        ...


class SmsFolder(MessageFolder):
    """An ``SmsGateway`` that sends nothing: one ``<message id>.sms.json`` file per message.

    The file holds ``{"message_id", "to", "body", "written_at"}`` (UTC, ISO 8601).
    """

    suffix = ".sms.json"
    kind = "sms folder"

    def describe(self) -> str:
        return f"{self.kind} {self.directory} (nothing is sent)"

    def send(self, sms: SmsMessage) -> None:
        record = {
            "message_id": sms.message_id,
            "to": sms.to,
            "body": sms.body,
            "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.keep(
            sms.message_id, (json.dumps(record, ensure_ascii=False, indent=2) + "\n").encode()
        )


@dataclass(frozen=True)
class Channels:
    """Where invitations go now: e-mail and SMS."""

    mail: MailChannel
    sms: SmsGateway
    #: The outbox folder as configured now, also when e-mail goes over SMTP: copies written
    #: there before invitations recorded their copy's path are looked for there at erasure.
    outbox_folder: OutboxFolder | None = None

    def folder(self, channel: str) -> MessageFolder | None:
        """The local folder ``channel`` (email, sms) writes its copies to now, if any."""
        found = self.mail if channel == "email" else self.sms
        return found if isinstance(found, MessageFolder) else None

    def configured_folders(self) -> dict[str, MessageFolder]:
        """Each channel's folder as configured now, whether or not it is in use."""
        folders = {name: f for name in ("email", "sms") if (f := self.folder(name)) is not None}
        if self.outbox_folder is not None:
            folders.setdefault("email", self.outbox_folder)
        return folders


def mail_channel(smtp_url: str | None, outbox_dir: Path) -> MailChannel:
    """An ``SmtpChannel`` for ``smtp_url`` if set (not blank), else an ``OutboxFolder``."""
    if smtp_url and smtp_url.strip():
        return SmtpChannel(smtp_url)
    return OutboxFolder(outbox_dir)
