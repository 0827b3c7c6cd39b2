"""Erasure reaches what outreach kept: every local copy of a message (wherever the folders are
configured by then, and with a mail server configured now), and the invitation and decision
rows (no submission, no server text), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from configuration.settings import Settings, load_settings
from outreach.contact_run import configured_channels, queue_invitations, send_invitations
from store.outreach_erasure import REMOVED_AT_ERASURE, forget_recorded_copies
from store.panel_store import PanelStore
from store.tables import Decision, Invitation, InvitationRetry
from tests.helpers import (
    AS_OF,
    NOW,
    RLS,
    ingest,
    match_and_record,
    rls_person,
    submission_id,
    write_signups,
    write_withdrawals,
)
from tests.outreach_fixtures import LEASE, server, statuses
from tests.smtp_server import SmtpServer
from tests.test_contact_run import LATER, approve, panel_of, queue, send, volunteer

__all__ = ["server"]  # fixtures


def three_sent_to_folders(store: PanelStore, settings: Settings, tmp_path: Path) -> None:
    """p1 and p2 by e-mail, p3 by SMS, all written to the local folders."""
    panel_of(store, tmp_path, [1, 2])
    ingest(store, write_signups(tmp_path / "t.csv", [rls_person(3, kontaktform="sms")]))
    match_and_record(store, RLS)
    approve(store, 1, 2, 3)
    queue(store, settings)
    assert send(store, settings).sent == 3


def copies(settings: Settings) -> list[Path]:
    folders = (settings.outreach.outbox_dir, settings.outreach.sms_dir)
    return sorted(path for folder in folders if folder.exists() for path in folder.iterdir())


def reconfigure(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return load_settings()


def erase(store: PanelStore, tmp_path: Path, *numbers: int) -> None:
    rows = [(f"p{n}@example.dk", LATER, "slet") for n in numbers]
    ingest(store, write_withdrawals(tmp_path / f"erase-{numbers}.csv", rows))


def test_an_erasure_deletes_the_copies_wherever_they_were_written_with_smtp_configured_now(
    store: PanelStore,
    settings: Settings,
    server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    three_sent_to_folders(store, settings, tmp_path)
    p1, p2, p3 = (volunteer(store, n) for n in (1, 2, 3))
    written = copies(settings)
    with store.engine.connect() as connection:
        recorded = sorted(connection.execute(select(Invitation.copy_path)).scalars())
    assert recorded == [str(path.resolve()) for path in written] and len(written) == 3

    # Mail goes over SMTP now, and the folders are elsewhere.
    now = reconfigure(
        monkeypatch,
        PANEL_SMTP_URL=server.url,
        PANEL_OUTBOX_DIR=str(tmp_path / "outbox-now"),
        PANEL_SMS_DIR=str(tmp_path / "sms-now"),
    )
    erase(store, tmp_path, 2, 3)

    (left,) = [path for path in written if path.exists()]
    assert "p1@example.dk" in left.read_text()
    report = send_invitations(
        store, now.outreach, AS_OF, configured_channels(now.outreach), lambda: NOW
    )
    assert (report.forgotten, report.not_forgotten) == (0, 0)
    with store.engine.connect() as connection:
        paths = connection.execute(select(Invitation.volunteer_id, Invitation.copy_path)).all()
    assert dict(paths) == {p1: str(left.resolve()), p2: None, p3: None}


def test_copies_written_before_paths_were_recorded_go_from_both_configured_folders(
    store: PanelStore,
    settings: Settings,
    server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    three_sent_to_folders(store, settings, tmp_path)
    with store.engine.begin() as connection:  # as invitations sent before migration 0010
        connection.execute(update(Invitation).values(copy_path=None))
    written = copies(settings)
    now = reconfigure(monkeypatch, PANEL_SMTP_URL=server.url)
    erase(store, tmp_path, 2, 3)
    assert copies(now) == written  # nothing recorded to find them by

    report = send_invitations(
        store, now.outreach, AS_OF, configured_channels(now.outreach), lambda: NOW
    )
    assert (report.forgotten, report.not_forgotten) == (2, 0)
    (left,) = copies(now)
    assert "p1@example.dk" in left.read_text()


def test_a_resend_to_a_moved_folder_leaves_one_copy_where_it_is_recorded(
    store: PanelStore, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender that died after writing a copy and before marking it sent, with the folder
    moved before the next run took the invitation over."""
    panel_of(store, tmp_path, [1])
    approve(store, 1)
    queue(store, settings)
    send(store, settings)
    (first,) = copies(settings)
    with store.engine.begin() as connection:
        connection.execute(update(Invitation).values(status="sending", claimed_at=NOW))
    moved = reconfigure(monkeypatch, PANEL_OUTBOX_DIR=str(tmp_path / "moved"))

    report = send(store, moved, timedelta(seconds=LEASE + 1))
    assert report.sent == 1 and not first.exists()
    (again,) = copies(moved)
    with store.engine.connect() as connection:
        assert connection.execute(select(Invitation.copy_path)).scalar_one() == str(again)
    assert again.name == first.name


def test_deleting_copies_is_safe_to_repeat_and_retries_what_it_could_not_delete(
    store: PanelStore, settings: Settings, tmp_path: Path
) -> None:
    three_sent_to_folders(store, settings, tmp_path)
    p1, p2, p3 = (volunteer(store, n) for n in (1, 2, 3))
    with store.engine.connect() as connection:
        path = dict(connection.execute(select(Invitation.volunteer_id, Invitation.copy_path)).all())
    Path(path[p2]).unlink()  # already handed on and deleted by hand
    Path(path[p3]).unlink()
    Path(path[p3]).mkdir()  # something in its place that cannot be unlinked
    erase(store, tmp_path, 2, 3)

    assert forget_recorded_copies(store).kept == 1
    shutil.rmtree(path[p3])
    again = forget_recorded_copies(store)
    assert (again.deleted, again.kept) == (0, 0)
    assert forget_recorded_copies(store) == again
    with store.engine.connect() as connection:
        left = dict(connection.execute(select(Invitation.volunteer_id, Invitation.copy_path)).all())
    assert left == {p1: path[p1], p2: None, p3: None}


def test_an_erasure_leaves_no_submission_or_server_text_in_invitations_and_decisions(
    store: PanelStore,
    settings: Settings,
    server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    smtp = reconfigure(monkeypatch, PANEL_SMTP_URL=server.url)
    panel_of(store, tmp_path, [1, 2, 3])
    approve(store, 1, 2, 3)
    queue_invitations(store, smtp.outreach, [RLS], AS_OF, "operator@example.dk", NOW)
    ingest(store, write_withdrawals(tmp_path / "w.csv", [("p3@example.dk", LATER, "afmeld")]))
    # Servers quote the recipient: the address is never kept, the rest until the erasure.
    server.refuse_next(1, 550, "5.1.1 <p1@example.dk> Søren Ærbø: no such mailbox")
    report = send_invitations(
        store, smtp.outreach, AS_OF, configured_channels(smtp.outreach), lambda: NOW
    )
    assert report.sent == 1 and len(report.failed) == 1 and sum(report.cancelled.values()) == 1
    assert "example.dk" not in report.failed[0] and "[address]" in report.failed[0]
    assert statuses(store) == {"sent": 1, "failed": 1, "cancelled": 1}
    with store.engine.connect() as connection:
        audit_before = connection.execute(_audit_columns()).all()

    erase(store, tmp_path, 1, 2, 3)

    with store.engine.connect() as connection:
        invitations = connection.execute(select(Invitation.__table__)).all()
        decisions = connection.execute(select(Decision.__table__)).all()
        audit_after = connection.execute(_audit_columns()).all()
        cells = [
            str(value)
            for table in (Invitation, Decision, InvitationRetry)
            for row in connection.execute(select(table.__table__))
            for value in row
        ]
    assert audit_after == audit_before  # who approved, who queued, when, what came of it
    assert {i.submission_id for i in invitations} == {None}
    assert {i.last_error for i in invitations} == {None, REMOVED_AT_ERASURE}
    assert {i.cancel_reason for i in invitations} == {None, REMOVED_AT_ERASURE}
    assert len(decisions) == 3 and {(d.submission_id, d.note) for d in decisions} == {(None, None)}
    for said in ("p1@example.dk", "Søren", "Ærbø", "mailbox", *map(submission_id, (1, 2, 3))):
        assert not [cell for cell in cells if said in cell], said


def _audit_columns() -> object:
    return select(
        Invitation.volunteer_id,
        Invitation.study_id,
        Invitation.message_id,
        Invitation.status,
        Invitation.channel,
        Invitation.study_version,
        Invitation.as_of,
        Invitation.decision_id,
        Invitation.approved_by,
        Invitation.queued_by,
        Invitation.queued_at,
        Invitation.sent_at,
    ).order_by(Invitation.volunteer_id)
