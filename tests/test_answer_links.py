"""The personal answer link in every invitation (issue 22, step 1): each sent e-mail (text and
HTML) and SMS carries ``PANEL_PUBLIC_URL/svar/<token>``; the token leads to its invitation and
to no other, a resend carries the same one, the store keeps only its hash, and a token that is
another's, mangled, expired, erased or made up leads nowhere. On SQLite and PostgreSQL, with a
real SMTP server on loopback."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from alembic import command
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import insert, inspect, select, text, update

from configuration.settings import Settings, SettingsError, load_settings
from outreach.errors import MessageError
from outreach.messages import render_invitation
from store.answer_links import (
    KEY_LABEL,
    AnsweringInvitation,
    AnswerLinkKey,
    find_invitation,
    token_hash,
)
from store.database import _alembic_config, migrate
from store.panel_store import PanelStore
from store.tables import Invitation, InvitationRetry
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.helpers import NOW, RLS, ingest, match_and_record, rls_person, write_signups
from tests.outreach_fixtures import LEASE, kill, server, start_sender_process
from tests.outreach_fixtures import send as send_over_smtp
from tests.smtp_server import SmtpServer
from tests.test_contact_run import approve, panel_of, queue, send, volunteer
from tests.test_messages import CONTEXT, STUDY
from tests.test_outreach_erasure import erase
from tests.test_send_lease import _panel

__all__ = ["server"]  # fixtures

#: As an operator might write it: with a path, and a trailing slash that links do without.
PUBLIC_URL = "https://svar.sundhedspanelet.example/panel/"
LINK = re.compile(r"https://svar\.sundhedspanelet\.example/panel/svar/([A-Za-z0-9_-]{43})")
#: What a link could lead to: every letter of a token may be any of these.
TOKEN_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture
def linked(settings: Settings, server: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The test's settings with a public address, sending e-mail to ``server``."""
    monkeypatch.setenv("PANEL_PUBLIC_URL", PUBLIC_URL)
    monkeypatch.setenv("PANEL_SMTP_URL", f"{server.url}?timeout=180")
    monkeypatch.setenv("PANEL_SEND_LEASE_SECONDS", str(LEASE))
    return load_settings()


def three_approved(store: PanelStore, tmp_path: Path) -> dict[int, str]:
    """p1 and p2 by e-mail, p3 by SMS, approved for the RLS trial: their volunteer ids."""
    panel_of(store, tmp_path, [1, 2])
    ingest(store, write_signups(tmp_path / "t.csv", [rls_person(3, kontaktform="sms")]))
    match_and_record(store, RLS)
    approve(store, 1, 2, 3)
    return {n: volunteer(store, n) for n in (1, 2, 3)}


def links_in(message: EmailMessage) -> dict[str, list[str]]:
    """Each body of an e-mail (text, HTML) and the answer links' tokens in it."""
    found = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            found[part.get_content_subtype()] = LINK.findall(part.get_content())
    return found


def sms_sent(settings: Settings) -> dict[str, str]:
    """Each SMS in the folder, by Message-ID: its text."""
    records = [json.loads(path.read_text()) for path in settings.outreach.sms_dir.iterdir()]
    return {record["message_id"]: record["body"] for record in records}


@dataclasses.dataclass(frozen=True)
class Stored:
    invitation_id: int
    volunteer_id: str
    token_hash: str | None
    expires_at: datetime | None


def invitations(store: PanelStore) -> dict[str, Stored]:
    """Each invitation by Message-ID: what the store keeps of it and its answer link."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(
                Invitation.message_id,
                Invitation.invitation_id,
                Invitation.volunteer_id,
                Invitation.answer_token_hash,
                Invitation.answer_expires_at,
            )
        ).all()
    return {row[0]: Stored(*row[1:]) for row in rows}


def resolve(store: PanelStore, token: str, now: datetime = NOW) -> AnsweringInvitation | None:
    with store.engine.connect() as connection:
        return find_invitation(connection, token, now)


def tokens_sent(store: PanelStore, server: SmtpServer, settings: Settings) -> dict[str, str]:
    """The token each sent invitation carries, by Message-ID; every body carries the one."""
    tokens: dict[str, set[str]] = defaultdict(set)
    for received in server.received:
        bodies = links_in(received.message)
        assert set(bodies) == {"plain", "html"}
        for found in bodies.values():
            assert len(found) >= 1
            tokens[str(received.message["Message-ID"])].update(found)
    for message_id, body in sms_sent(settings).items():
        (token,) = LINK.findall(body)
        tokens[message_id].add(token)
    assert all(len(each) == 1 for each in tokens.values()), tokens
    return {message_id: each.pop() for message_id, each in tokens.items()}


def everything_stored(store: PanelStore) -> str:
    """Every value of every row of every table, as text."""
    dumped = []
    with store.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                dumped.append(" ".join(str(value) for value in row))
    return "\n".join(dumped)


# --- the link in every invitation ----------------------------------------------------------------


def test_every_sent_email_and_sms_carries_a_link_to_its_own_invitation(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    ids = three_approved(store, tmp_path)
    queue(store, linked)
    assert send_over_smtp(store, linked).sent == 3

    tokens = tokens_sent(store, server, linked)
    stored = invitations(store)
    assert sorted(tokens) == sorted(stored) and len(set(tokens.values())) == 3
    for message_id, token in tokens.items():
        row = stored[message_id]
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.expires_at == NOW + timedelta(days=60)
        assert resolve(store, token) == AnsweringInvitation(
            row.invitation_id, RLS, row.volunteer_id, "sent", NOW + timedelta(days=60)
        )
    # The SMS went to p3, the e-mails to p1 and p2, each with a link of its own.
    (sms_id,) = sms_sent(linked)
    assert stored[sms_id].volunteer_id == ids[3]
    emailed = {stored[str(r.message["Message-ID"])].volunteer_id for r in server.received}
    assert emailed == {ids[1], ids[2]}


def test_the_link_says_nothing_but_where_to_answer(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    three_approved(store, tmp_path)
    queue(store, linked)
    send_over_smtp(store, linked)
    received = server.received[0].message
    plain = received.get_body(("plain",))
    assert plain is not None
    (line,) = [line for line in plain.get_content().splitlines() if "/svar/" in line]
    assert re.fullmatch("Du kan svare ja eller nej her: " + LINK.pattern, line)
    sms = next(iter(sms_sent(linked).values()))
    assert "Svar her: https://svar.sundhedspanelet.example/panel/svar/" in sms
    html = received.get_body(("html",))
    assert html is not None
    assert re.search(r'<a href="' + LINK.pattern + '"', html.get_content())


def test_a_resend_after_a_crash_carries_the_same_link(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, [1, 2])
    approve(store, 1, 2)
    queue(store, linked)
    server.block_data(keep=True)  # the server takes the message; its sender never hears so
    sender = start_sender_process()
    assert server.data_started.wait(60)
    kill(sender)
    server.release()

    send_over_smtp(store, linked, timedelta(seconds=LEASE + 1))
    by_message: dict[str, list[list[str]]] = defaultdict(list)
    for received in server.received:
        by_message[str(received.message["Message-ID"])].append(links_in(received.message)["plain"])
    (resent,) = [copies for copies in by_message.values() if len(copies) == 2]
    assert resent[0] == resent[1] and len(resent[0]) == 1
    assert resolve(store, resent[0][0]) is not None
    assert len({links[0][0] for links in by_message.values()}) == 2


def test_the_store_keeps_only_a_hash_of_each_token(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    three_approved(store, tmp_path)
    queue(store, linked)
    send_over_smtp(store, linked)
    tokens = tokens_sent(store, server, linked)
    dumped = everything_stored(store)
    for token in tokens.values():
        assert token not in dumped and token_hash(token) in dumped
    database = store.engine.url.database or ""
    if store.engine.dialect.name == "sqlite":  # the file itself, free pages and log included
        for path in Path(database).parent.glob(Path(database).name + "*"):
            raw = path.read_bytes()
            assert not any(token.encode() in raw for token in tokens.values())


def test_without_a_public_address_no_invitation_carries_a_link(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    three_approved(store, tmp_path)
    queue(store, settings)
    assert settings.outreach.public_url is None and send(store, settings).sent == 3
    written = [path.read_text() for path in settings.outreach.outbox_dir.iterdir()]
    written += list(sms_sent(settings).values())
    assert len(written) == 3 and not any("/svar/" in each for each in written)
    assert all("skriv til" in each for each in written)  # they answer by e-mail, as before
    assert {row.token_hash for row in invitations(store).values()} == {None}


# --- what leads nowhere --------------------------------------------------------------------------


@pytest.fixture
def sent(store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path) -> dict[int, str]:
    """p1 to p3 invited by a sent message with a link, p4 queued only: each one's token."""
    ids = three_approved(store, tmp_path)
    queue(store, linked)
    send_over_smtp(store, linked)
    ingest(store, write_signups(tmp_path / "p4.csv", [rls_person(4)]))
    match_and_record(store, RLS)
    approve(store, 4)
    queue(store, linked)
    by_volunteer = {row.volunteer_id: m for m, row in invitations(store).items()}
    ids[4] = volunteer(store, 4)
    return {n: store.answer_links.token(by_volunteer[ids[n]]) for n in ids}


def test_a_token_leads_to_its_own_invitation_only(store: PanelStore, sent: dict[int, str]) -> None:
    found = {n: resolve(store, sent[n]) for n in (1, 2, 3)}
    assert len({answer.invitation_id for answer in found.values() if answer}) == 3
    assert {answer.volunteer_id for answer in found.values() if answer} == {
        volunteer(store, n) for n in (1, 2, 3)
    }
    # An invitation not sent yet carries no link: its token leads nowhere.
    assert resolve(store, sent[4]) is None


def mangled(token: str) -> list[str]:
    swapped = token[:10] + ("B" if token[10] == "A" else "A") + token[11:]
    return [
        swapped,
        token[:-1],
        token + "A",
        token + "=",
        token.swapcase(),
        f" {token}",
        f"{token}\n",
        token_hash(token),
        f"svar/{token}",
        "",
    ]


def test_a_mangled_token_leads_nowhere(store: PanelStore, sent: dict[int, str]) -> None:
    assert resolve(store, sent[1]) is not None
    for wrong in mangled(sent[1]):
        assert resolve(store, wrong) is None, wrong


def test_a_link_works_until_it_expires(store: PanelStore, sent: dict[int, str]) -> None:
    expires = NOW + timedelta(days=60)
    assert resolve(store, sent[1], expires - timedelta(seconds=1)) is not None
    assert resolve(store, sent[1], expires) is None
    assert resolve(store, sent[1], expires + timedelta(days=400)) is None
    # Expiry is what the store says, whenever it was set.
    with store.engine.begin() as connection:
        connection.execute(update(Invitation).values(answer_expires_at=NOW - timedelta(seconds=1)))
    assert resolve(store, sent[2]) is None


def test_the_link_follows_the_configured_days(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    three_approved(store, tmp_path)
    queue(store, linked)
    send_over_smtp(store, linked.model_copy(update={"answer_days": 7}))
    token = next(iter(tokens_sent(store, server, linked).values()))
    assert resolve(store, token, NOW + timedelta(days=7) - timedelta(seconds=1)) is not None
    assert resolve(store, token, NOW + timedelta(days=7)) is None


def test_after_an_erasure_the_link_leads_nowhere(
    store: PanelStore, sent: dict[int, str], tmp_path: Path
) -> None:
    p2 = volunteer(store, 2)
    erase(store, tmp_path, 2)
    assert resolve(store, sent[2]) is None
    assert resolve(store, sent[1]) is not None and resolve(store, sent[3]) is not None
    with store.engine.connect() as connection:
        kept = connection.execute(
            select(Invitation.answer_token_hash).where(Invitation.volunteer_id == p2)
        ).scalar_one()
    assert kept is None


def test_a_token_made_with_another_panels_key_leads_nowhere(
    store: PanelStore, sent: dict[int, str]
) -> None:
    with store.engine.connect() as connection:
        message_ids = connection.execute(select(Invitation.message_id)).scalars().all()
    other = AnswerLinkKey(bytes.fromhex("5a" * 32))
    for message_id in message_ids:
        assert resolve(store, other.token(message_id)) is None
    # Nor does the pseudonym key used as it is, without the answer link's own label.
    raw = bytes.fromhex(TEST_PSEUDONYM_KEY)
    for message_id in message_ids:
        mac = hmac.new(raw, message_id.encode(), hashlib.sha256).digest()
        assert resolve(store, base64.urlsafe_b64encode(mac).rstrip(b"=").decode()) is None


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    guess=st.text()
    | st.text(alphabet=TOKEN_CHARACTERS, min_size=43, max_size=43)
    | st.binary(min_size=32, max_size=32).map(
        lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    )
)
def test_no_made_up_token_leads_anywhere(
    store: PanelStore, sent: dict[int, str], guess: str
) -> None:
    if guess not in sent.values():  # 256 bits: never, in practice
        assert resolve(store, guess) is None


# --- the token -----------------------------------------------------------------------------------


def test_a_token_is_256_bits_derived_from_the_message_id_under_the_answer_link_key() -> None:
    pseudonym_key = bytes.fromhex(TEST_PSEUDONYM_KEY)
    key = hmac.new(pseudonym_key, KEY_LABEL, hashlib.sha256).digest()
    message_id = "<0123456789abcdef0123456789abcdef@sundhedspanelet.example>"
    expected = base64.urlsafe_b64encode(
        hmac.new(key, message_id.encode(), hashlib.sha256).digest()
    ).rstrip(b"=")
    token = AnswerLinkKey(pseudonym_key).token(message_id)
    assert token == expected.decode() and len(token) == 43
    assert AnswerLinkKey(pseudonym_key).token(message_id) == token  # the same every time
    assert AnswerLinkKey(pseudonym_key).token(message_id.replace("0", "1", 1)) != token
    assert AnswerLinkKey(bytes.fromhex("5a" * 32)).token(message_id) != token
    assert TEST_PSEUDONYM_KEY not in repr(AnswerLinkKey(pseudonym_key))


# --- templates -----------------------------------------------------------------------------------


def test_every_body_shows_the_link_when_there_is_one() -> None:
    link = "https://sundhedspanelet.example/svar/" + "x" * 43
    rendered = render_invitation(STUDY, dataclasses.replace(CONTEXT, answer_link=link))
    for body in (rendered.text, rendered.html, rendered.sms):
        assert link in body
    assert f'href="{link}"' in rendered.html
    assert f"Svar her: {link}" in rendered.sms and len(rendered.sms) <= 400
    plain = render_invitation(STUDY, CONTEXT)
    assert not any("/svar/" in body for body in (plain.text, plain.html, plain.sms))


def test_an_own_template_that_leaves_the_link_out_is_refused(tmp_path: Path) -> None:
    (tmp_path / "invitation.sms.j2").write_text("Hej {{ first_name }}. Skriv til {{ reply_to }}.")
    link = "https://sundhedspanelet.example/svar/" + "x" * 43
    render_invitation(STUDY, CONTEXT, tmp_path)  # no link to show: fine
    with pytest.raises(MessageError, match=r"invitation\.sms\.j2.*does not show answer_link"):
        render_invitation(STUDY, dataclasses.replace(CONTEXT, answer_link=link), tmp_path)


# --- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_url", "kept"),
    [
        ("https://svar.example.dk/", "https://svar.example.dk"),
        ("https://svar.example.dk/panel//", "https://svar.example.dk/panel"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("", None),
    ],
)
def test_a_public_address_is_kept_without_its_trailing_slash(
    monkeypatch: pytest.MonkeyPatch, given_url: str, kept: str | None
) -> None:
    monkeypatch.setenv("PANEL_PUBLIC_URL", given_url)
    assert Settings().outreach.public_url == kept
    assert Settings().outreach.answer_days == 60


@pytest.mark.parametrize(
    "bad",
    [
        "svar.example.dk",
        "ftp://svar.example.dk",
        "https://",
        "https://svar.example.dk/?from=mail",
        "https://svar.example.dk/#top",
        "https://anna:hemmelig@svar.example.dk",
        "https://svar.example.dk/a b",
        'https://svar.example.dk/"><script>',
        "https://svar.example.dk:port",
        "javascript:alert(1)",
    ],
)
def test_a_bad_public_address_is_refused_naming_the_setting_not_the_value(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("PANEL_PUBLIC_URL", bad)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    said = str(caught.value)
    assert said.startswith("PANEL_PUBLIC_URL: must be an http:// or https:// address"), said
    assert "\n" not in said and "hemmelig" not in said and "script" not in said


def test_answer_days_are_at_least_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PANEL_ANSWER_DAYS", "0")
    with pytest.raises(SettingsError, match=r"^PANEL_ANSWER_DAYS: Input should be greater than"):
        load_settings()
    monkeypatch.setenv("PANEL_ANSWER_DAYS", "14")
    assert Settings().outreach.answer_days == 14


def test_a_bad_public_address_stops_a_command_in_one_line(tmp_path: Path) -> None:
    run = _panel(tmp_path, "contact", "--dry-run", PANEL_PUBLIC_URL="https://u:hemmelig@x.dk")
    assert run.returncode == 1 and run.stdout == ""
    (line,) = run.stderr.splitlines()
    assert line.startswith("error: PANEL_PUBLIC_URL: must be an http:// or https:// address")
    assert "hemmelig" not in line
    assert not (tmp_path / "data").exists()  # refused before anything was opened


# --- the migration -------------------------------------------------------------------------------


def test_the_store_migrates_down_and_up_with_links_and_retries_kept(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    three_approved(store, tmp_path)
    queue(store, linked)
    send_over_smtp(store, linked)
    with store.engine.begin() as connection:  # a retry row points at an invitation
        first = connection.execute(select(Invitation.invitation_id)).scalars().first()
        connection.execute(
            insert(InvitationRetry).values(
                invitation_id=first, requested_by="t", requested_at=NOW, outcome="queued"
            )
        )
        before = connection.execute(
            select(Invitation.invitation_id, Invitation.message_id, Invitation.status)
        ).all()
    config = _alembic_config()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0013")
    migrate(store.engine)
    with store.engine.connect() as connection:
        after = connection.execute(
            select(Invitation.invitation_id, Invitation.message_id, Invitation.status)
        ).all()
        assert connection.scalar(select(InvitationRetry.invitation_id)) == first
    assert after == before
    # Down and up again, the hashes are gone: those links lead nowhere.
    assert {row.token_hash for row in invitations(store).values()} == {None}
