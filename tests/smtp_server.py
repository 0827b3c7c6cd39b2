"""A real SMTP server on loopback (aiosmtpd in a thread) that tests can make misbehave.

    with start_smtp_server() as server:
        SmtpChannel(server.url).send(message)
        assert server.message_ids() == [message["Message-ID"]]

Faults, each for the next messages: ``refuse_next`` answers DATA with an error code,
``drop_next`` closes the connection at DATA without a reply (the message is lost), and
``block_data`` holds every DATA reply until ``release`` (``data_started`` is set when a held
message has arrived, ``holding`` counts the DATA commands held now), so a test can kill a
client mid-send, or let a second client arrive meanwhile; ``release`` may answer with an
error instead of 250. A held message is already in
``received`` when ``data_started`` is set, as with a real server that has queued a message
but not yet answered: the client cannot know whether it was delivered.

With ``tls_dir`` the server has a self-signed certificate for localhost, requires STARTTLS and,
with ``users``, AUTH (offered only after STARTTLS); ``url`` then carries ``cafile`` and the
first user's credentials. ``implicit_tls=True`` speaks TLS from the first byte (``smtps://``).
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.message
import email.policy
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.EmailMessage  # parsed with email.policy.default


class SmtpServer:
    """A running server; see the module docstring. Use as a context manager or call ``stop``."""

    def __init__(self, url: str, port: int) -> None:
        self.url = url
        self.port = port
        self.data_started = threading.Event()
        self._controller: Controller | None = None
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._refusals: list[str] = []
        self._drops = 0
        self._hold = False
        self._keep_held = True
        self._released = threading.Event()
        self._held_reply = "250 2.0.0 OK"
        self._holding = 0

    @property
    def received(self) -> list[Received]:
        """The messages accepted so far, in order (a copy)."""
        with self._lock:
            return list(self._received)

    def message_ids(self) -> list[str]:
        return [str(item.message["Message-ID"]) for item in self.received]

    def refuse_next(self, count: int, code: int = 451, text: str = "4.3.0 try again later") -> None:
        """Answer the next ``count`` DATA commands with ``code text`` (the message is not kept)."""
        with self._lock:
            self._refusals.extend([f"{code} {text}"] * count)

    def drop_next(self, count: int) -> None:
        """Close the connection at the next ``count`` DATA commands, without a reply."""
        with self._lock:
            self._drops += count

    def block_data(self, keep: bool = True) -> None:
        """From now on, hold the reply to each DATA until ``release``. With ``keep`` the
        message is kept at once (the server has it, the client does not know yet); without,
        only if the client is still there when released (it was never accepted)."""
        with self._lock:
            self._hold = True
            self._keep_held = keep
            self._released.clear()
            self.data_started.clear()

    @property
    def holding(self) -> int:
        """DATA commands held now, waiting for ``release``."""
        with self._lock:
            return self._holding

    def release(self, reply: str = "250 2.0.0 OK") -> None:
        """Answer held DATA commands with ``reply`` and stop holding. A message held with
        ``keep=False`` is kept only if ``reply`` accepts it (2xx)."""
        with self._lock:
            self._hold = False
            self._held_reply = reply
            self._released.set()

    def stop(self) -> None:
        self.release()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # The aiosmtpd handler hook, run in the server's event loop thread.
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            refusal = self._refusals.pop(0) if self._refusals else None
            drop = self._drops > 0 and refusal is None
            if drop:
                self._drops -= 1
            hold, keep = self._hold, self._keep_held
        if refusal is not None:
            return refusal
        if drop:
            assert isinstance(server.transport, asyncio.WriteTransport)
            server.transport.abort()
            # aiosmtpd cancels this handler when it notices the lost connection.
            await asyncio.get_running_loop().create_future()
        if hold and keep:
            self._keep(envelope)
        reply = "250 2.0.0 OK"
        if hold:
            with self._lock:
                self._holding += 1
            self.data_started.set()
            while not self._released.is_set():
                await asyncio.sleep(0.01)
            with self._lock:
                self._holding -= 1
                reply = self._held_reply
            if not keep and (server.transport is None or server.transport.is_closing()):
                return "451 4.4.2 client went away"  # never written: nobody is listening
        if not (hold and keep) and reply.startswith("2"):
            self._keep(envelope)
        return reply

    def _keep(self, envelope: Envelope) -> None:
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        with self._lock:
            self._received.append(
                Received(str(envelope.mail_from), list(envelope.rcpt_tos), message)
            )


def _free_port() -> int:
    # aiosmtpd 1.4.6's Controller cannot start on port 0 (it connects to its own port).
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (certificate, key) PEM files."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "localhost.pem", directory / "localhost.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def start_smtp_server(
    *,
    tls_dir: Path | None = None,
    users: dict[str, str] | None = None,
    implicit_tls: bool = False,
) -> SmtpServer:
    """Start a server on 127.0.0.1 and a free port; see the module docstring."""
    if (users or implicit_tls) and tls_dir is None:
        raise ValueError("users and implicit_tls need tls_dir (AUTH is offered only over TLS)")
    port = _free_port()
    kwargs: dict[str, Any] = {}
    query = credentials = ""
    scheme = "smtp"
    if tls_dir is not None:
        cert_path, key_path = make_certificate(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_path, key_path)
        if implicit_tls:
            kwargs["ssl_context"] = context
            scheme = "smtps"
        else:
            kwargs.update(tls_context=context, require_starttls=True)
            scheme = "smtp+starttls"
        query = f"?cafile={quote(str(cert_path))}"
    if users:
        accounts = dict(users)

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
        ) -> AuthResult:
            ok = isinstance(auth_data, LoginPassword) and accounts.get(
                auth_data.login.decode()
            ) == auth_data.password.decode("utf-8", errors="replace")
            return AuthResult(success=ok, handled=False)

        kwargs.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
        user, password = next(iter(accounts.items()))
        credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    host = "localhost" if tls_dir is not None else HOST
    server = SmtpServer(f"{scheme}://{credentials}{host}:{port}{query}", port)
    controller = Controller(server, hostname=HOST, port=port, server_hostname="localhost", **kwargs)
    controller.start()
    server._controller = controller
    return server


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A plain SMTP server for one test."""
    with start_smtp_server() as server:
        yield server
