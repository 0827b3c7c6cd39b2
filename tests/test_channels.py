"""Delivery channels against a real SMTP server on loopback, and the folder channels on disk."""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import smtplib
import socket
import ssl
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from outreach.channels import (
    DeliveryError,
    OutboxFolder,
    PermanentDeliveryError,
    SmsFolder,
    SmsMessage,
    SmtpChannel,
    TransientDeliveryError,
    mail_channel,
)
from tests.smtp_server import SmtpServer, start_smtp_server

# aiosmtpd 1.4.6 itself sets the deprecated Session.login_data after every successful AUTH.
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")

PASSWORD = "hemmeligt ord/42"


def invitation(
    number: int = 1, to: str = "Søren Ærø <soren@example.dk>"
) -> email.message.EmailMessage:
    message = email.message.EmailMessage()
    message["From"] = "Panelet <panel@example.dk>"
    message["To"] = to
    message["Subject"] = f"Invitation til studie {number}: søvn og æbler"
    message["Message-ID"] = f"<inv-{number}.study-7@panel.example.dk>"
    message.set_content(f"Kære Søren,\n\ndu passer til studie {number}.\n")
    message.add_alternative(f"<p>Kære Søren, du passer til studie {number}.</p>", subtype="html")
    return message


def parts(message: email.message.EmailMessage) -> dict[str, str]:
    """The message's text and html bodies, by subtype."""
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            assert isinstance(part, email.message.EmailMessage)
            found[part.get_content_subtype()] = part.get_content().replace("\r\n", "\n")
    return found


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with start_smtp_server() as server:
        yield server


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    with start_smtp_server(tls_dir=tmp_path / "tls", users={"anna": PASSWORD}) as server:
        yield server


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def assert_no_password(channel: SmtpChannel, error: BaseException | None = None) -> None:
    quoted = PASSWORD.replace(" ", "%20").replace("/", "%2F")
    assert PASSWORD not in channel.describe() and quoted not in channel.describe()
    assert PASSWORD not in repr(channel)
    while error is not None:
        assert PASSWORD not in str(error) and quoted not in str(error)
        error = error.__cause__ or error.__context__


# --- SMTP ------------------------------------------------------------------------------------


def test_plain_smtp_delivers_the_message_to_exactly_its_recipient(smtp_server: SmtpServer) -> None:
    sent = invitation()
    SmtpChannel(smtp_server.url).send(sent)

    [received] = smtp_server.received
    assert received.mail_from == "panel@example.dk"
    assert received.rcpt_tos == ["soren@example.dk"]
    assert received.message["Message-ID"] == sent["Message-ID"]
    assert received.message["Subject"] == sent["Subject"]
    assert received.message["To"] == sent["To"]
    assert parts(received.message) == parts(sent)
    assert smtp_server.message_ids() == ["<inv-1.study-7@panel.example.dk>"]


def test_starttls_with_login_against_a_self_signed_certificate(tls_server: SmtpServer) -> None:
    assert tls_server.url.startswith("smtp+starttls://anna:")
    channel = SmtpChannel(tls_server.url)
    channel.send(invitation())
    assert tls_server.message_ids() == [invitation()["Message-ID"]]
    assert channel.describe().startswith("smtp+starttls://anna:***@localhost:")
    assert_no_password(channel)


def test_a_wrong_password_is_permanent_and_not_shown(tls_server: SmtpServer) -> None:
    channel = SmtpChannel(tls_server.url.replace("anna:", "anna:x"))
    with pytest.raises(PermanentDeliveryError, match="authentication failed") as caught:
        channel.send(invitation())
    assert not caught.value.transient
    assert_no_password(channel, caught.value)
    assert tls_server.received == []


def test_an_untrusted_certificate_is_permanent(tls_server: SmtpServer) -> None:
    channel = SmtpChannel(tls_server.url.split("?")[0])  # without cafile: system CAs only
    with pytest.raises(PermanentDeliveryError, match="certificate"):
        channel.send(invitation())
    assert tls_server.received == []


def test_a_non_ascii_password_is_permanent_and_not_shown(tmp_path: Path) -> None:
    # smtplib encodes AUTH as ASCII; its UnicodeEncodeError would quote the password.
    with start_smtp_server(tls_dir=tmp_path, users={"anna": "blåbær"}) as server:
        channel = SmtpChannel(server.url)
        with pytest.raises(PermanentDeliveryError, match="not ASCII") as caught:
            channel.send(invitation())
    error: BaseException | None = caught.value
    while error is not None:
        assert "blåbær" not in str(error) and "bl%C3%A5b%C3%A6r" not in str(error)
        error = error.__cause__ or error.__context__
    assert "blåbær" not in channel.describe()


def test_implicit_tls(tmp_path: Path) -> None:
    with start_smtp_server(tls_dir=tmp_path, implicit_tls=True) as server:
        assert server.url.startswith("smtps://localhost:")
        SmtpChannel(server.url).send(invitation())
        assert server.message_ids() == [invitation()["Message-ID"]]


def test_starttls_asked_but_not_offered_is_permanent(smtp_server: SmtpServer) -> None:
    channel = SmtpChannel(smtp_server.url.replace("smtp://", "smtp+starttls://"))
    with pytest.raises(PermanentDeliveryError, match="does not offer STARTTLS"):
        channel.send(invitation())
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("code", "text", "kind"),
    [
        (451, "4.3.0 try again later", TransientDeliveryError),
        (421, "4.7.0 too busy", TransientDeliveryError),
        (550, "5.7.1 message refused", PermanentDeliveryError),
        (554, "5.6.0 bad content", PermanentDeliveryError),
    ],
)
def test_refusals_are_classified_by_reply_code(
    smtp_server: SmtpServer, code: int, text: str, kind: type[DeliveryError]
) -> None:
    channel = SmtpChannel(smtp_server.url)
    smtp_server.refuse_next(1, code, text)
    with pytest.raises(kind) as caught:
        channel.send(invitation(1))
    assert str(caught.value) == f"smtp {code} {text}"
    assert caught.value.transient == (kind is TransientDeliveryError)
    channel.send(invitation(2))  # the refusal was for one message only
    assert smtp_server.message_ids() == [invitation(2)["Message-ID"]]


def test_a_dropped_connection_is_transient(smtp_server: SmtpServer) -> None:
    smtp_server.drop_next(1)
    with pytest.raises(TransientDeliveryError, match="disconnected"):
        SmtpChannel(smtp_server.url).send(invitation())
    assert smtp_server.received == []


def test_nothing_listening_is_transient() -> None:
    channel = SmtpChannel(f"smtp://anna:{PASSWORD.replace('/', '%2F')}@127.0.0.1:{closed_port()}")
    with pytest.raises(TransientDeliveryError, match="connection failed") as caught:
        channel.send(invitation())
    assert_no_password(channel, caught.value)


def test_a_held_reply_times_out_as_transient_and_the_message_may_have_arrived(
    smtp_server: SmtpServer,
) -> None:
    smtp_server.block_data()
    channel = SmtpChannel(f"{smtp_server.url}?timeout=0.3")
    with pytest.raises(TransientDeliveryError, match="timed out"):
        channel.send(invitation())
    assert smtp_server.data_started.is_set()
    # The server has the message though the client never heard so: resends must be expected.
    assert smtp_server.message_ids() == [invitation()["Message-ID"]]


def test_a_held_reply_completes_on_release(smtp_server: SmtpServer) -> None:
    smtp_server.block_data()
    errors: list[BaseException] = []

    def send() -> None:
        try:
            SmtpChannel(smtp_server.url, timeout=5).send(invitation())
        except BaseException as error:
            errors.append(error)

    sender = threading.Thread(target=send)
    sender.start()
    assert smtp_server.data_started.wait(2)
    assert sender.is_alive()
    smtp_server.release()
    sender.join(2)
    assert not sender.is_alive() and errors == []
    assert smtp_server.message_ids() == [invitation()["Message-ID"]]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (smtplib.SMTPRecipientsRefused({"a@x.dk": (450, b"4.2.1 busy")}), TransientDeliveryError),
        (
            smtplib.SMTPRecipientsRefused(
                {"a@x.dk": (450, b"4.2.1 busy"), "b@x.dk": (550, b"5.1.1 unknown")}
            ),
            PermanentDeliveryError,
        ),
        (smtplib.SMTPSenderRefused(451, b"4.1.8 later", "p@x.dk"), TransientDeliveryError),
        (smtplib.SMTPSenderRefused(553, b"5.1.8 bad sender", "p@x.dk"), PermanentDeliveryError),
        (smtplib.SMTPDataError(452, b"4.3.1 disk full"), TransientDeliveryError),
        (smtplib.SMTPDataError(554, b"5.6.0 no"), PermanentDeliveryError),
        (smtplib.SMTPAuthenticationError(535, b"5.7.8 no"), PermanentDeliveryError),
        (smtplib.SMTPServerDisconnected("gone"), TransientDeliveryError),
        (ConnectionResetError(104, "Connection reset by peer"), TransientDeliveryError),
        (TimeoutError("timed out"), TransientDeliveryError),
        (ConnectionRefusedError(111, "Connection refused"), TransientDeliveryError),
        (ssl.SSLCertVerificationError("certificate verify failed"), PermanentDeliveryError),
    ],
)
def test_classification(error: Exception, kind: type[DeliveryError]) -> None:
    classified = SmtpChannel("smtp://mail.example.dk")._classify(error)
    assert type(classified) is kind
    assert "\n" not in str(classified) and str(classified)


def test_describe_masks_the_password() -> None:
    channel = SmtpChannel(
        f"smtps://anna%40panel:{PASSWORD.replace('/', '%2F')}@mail.example.dk?timeout=5"
    )
    assert channel.user == "anna@panel"
    assert channel.describe() == "smtps://anna%40panel:***@mail.example.dk:465?timeout=5"
    assert_no_password(channel)
    assert SmtpChannel("smtp://mail.example.dk").describe() == "smtp://mail.example.dk:25"
    assert SmtpChannel("smtp+starttls://[::1]").describe() == "smtp+starttls://[::1]:587"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://anna:s3cret@mail.example.dk", "unknown scheme 'http'"),
        ("mail.example.dk", "unknown scheme"),
        ("smtp://anna:s3cret@", "no host"),
        ("smtp://anna:s3cret@mail.example.dk:port", "port"),
        ("smtp://anna:s3cret@mail.example.dk:99999", "port"),
        ("smtp://anna:s3cret@mail.example.dk/inbox", "path"),
        ("smtp://anna@mail.example.dk", "without a password"),
        ("smtp://:s3cret@mail.example.dk", "without a user"),
        ("smtp://anna:s3cret@mail.example.dk?verify=no", "unknown parameter"),
        ("smtp://anna:s3cret@mail.example.dk?timeout=soon", "timeout"),
        ("smtp://anna:s3cret@mail.example.dk?timeout=0", "timeout"),
        ("smtp://anna:s3cret@mail.example.dk?cafile=/ca.pem", "cafile needs"),
        ("smtps://anna:s3cret@mail.example.dk?cafile=/nowhere/ca.pem", "cafile"),
    ],
)
def test_malformed_urls_name_the_problem_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        SmtpChannel(url)
    assert "s3cret" not in str(caught.value)


def test_mail_channel_picks_the_channel(tmp_path: Path) -> None:
    assert isinstance(mail_channel("smtp://mail.example.dk", tmp_path), SmtpChannel)
    for unset in (None, "", "  "):
        channel = mail_channel(unset, tmp_path / "outbox")
        assert isinstance(channel, OutboxFolder)
        assert channel.describe() == f"outbox folder {tmp_path / 'outbox'}"


# --- Folders ---------------------------------------------------------------------------------


def test_outbox_folder_writes_a_standard_eml_file(tmp_path: Path) -> None:
    outbox = OutboxFolder(tmp_path / "outbox")
    sent = invitation()
    outbox.send(sent)

    assert stat.S_IMODE((tmp_path / "outbox").stat().st_mode) == 0o700
    [path] = (tmp_path / "outbox").iterdir()
    assert path.name == "inv-1.study-7@panel.example.dk.eml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = path.read_bytes()
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    read = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(read, email.message.EmailMessage)
    for header in ("Message-ID", "To", "From", "Subject"):
        assert read[header] == sent[header]
    assert parts(read) == parts(sent)


def test_outbox_folder_is_idempotent_per_message_id(tmp_path: Path) -> None:
    outbox = OutboxFolder(tmp_path)
    message = invitation()
    outbox.send(message)
    first = outbox.path_for(message["Message-ID"]).read_bytes()
    outbox.send(message)
    outbox.send(invitation(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "inv-1.study-7@panel.example.dk.eml",
        "inv-2.study-7@panel.example.dk.eml",
    ]
    assert outbox.path_for(message["Message-ID"]).read_bytes() == first


def test_outbox_folder_file_names_are_safe(tmp_path: Path) -> None:
    outbox = OutboxFolder(tmp_path)
    message = invitation()
    message.replace_header("Message-ID", "<../a b/c%d@x>")
    outbox.send(message)
    assert [p.name for p in tmp_path.iterdir()] == [".._a_b_c_d@x.eml"]
    long = invitation()
    long.replace_header("Message-ID", f"<{'x' * 400}@panel>")
    outbox.send(long)
    assert len(outbox.path_for(long["Message-ID"]).name) < 255
    assert outbox.path_for(long["Message-ID"]).exists()


def test_outbox_folder_refuses_a_message_it_cannot_write(tmp_path: Path) -> None:
    message = invitation()
    message.replace_header("Message-ID", "<sø@x>")
    with pytest.raises(PermanentDeliveryError, match="ASCII"):
        OutboxFolder(tmp_path).send(message)
    assert list(tmp_path.iterdir()) == []


def test_outbox_folder_needs_a_message_id(tmp_path: Path) -> None:
    message = invitation()
    del message["Message-ID"]
    with pytest.raises(ValueError, match="Message-ID"):
        OutboxFolder(tmp_path).send(message)
    assert list(tmp_path.iterdir()) == []


def test_outbox_folder_write_failure_is_transient(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file, not a folder")
    with pytest.raises(TransientDeliveryError, match="outbox folder"):
        OutboxFolder(tmp_path / "outbox").send(invitation())


def test_sms_folder_writes_one_json_file_per_message(tmp_path: Path) -> None:
    folder = SmsFolder(tmp_path / "sms")
    sms = SmsMessage("<inv-1.study-7@panel.example.dk>", "+4512345678", "Hej Søren, se din mail.")
    folder.send(sms)
    folder.send(sms)
    folder.send(SmsMessage("<inv-2.study-7@panel.example.dk>", "+4587654321", "Hej."))

    assert stat.S_IMODE((tmp_path / "sms").stat().st_mode) == 0o700
    names = sorted(p.name for p in (tmp_path / "sms").iterdir())
    assert names == [
        "inv-1.study-7@panel.example.dk.sms.json",
        "inv-2.study-7@panel.example.dk.sms.json",
    ]
    path = folder.path_for(sms.message_id)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = json.loads(path.read_text(encoding="utf-8"))
    assert set(record) == {"message_id", "to", "body", "written_at"}
    assert (record["message_id"], record["to"], record["body"]) == (
        sms.message_id,
        sms.to,
        sms.body,
    )
    assert "nothing is sent" in folder.describe()
