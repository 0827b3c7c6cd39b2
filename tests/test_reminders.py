"""One reminder of an unanswered invitation, against a real store (SQLite and PostgreSQL) and a
real SMTP server on loopback: when it is due and when not, that it counts in the contact
policy, that it carries the invitation's own answer link, which works on the answer page, and
that it is delivered exactly once, also when its sender is killed."""

from __future__ import annotations

import json
import multiprocessing
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update

from configuration.settings import ContactPolicy, Settings, load_settings
from outreach.contact_rules import HeldBack
from outreach.contact_run import configured_channels, queue_invitations, send_reminders
from outreach.errors import MessageError
from outreach.messages import InvitationContext, render_invitation
from outreach.reminders import ReminderHeldBack, ReminderPlan, plan_reminders, queue_reminders
from outreach.sender import SendReport
from respond.app import create_app
from respond.limits import RateLimit
from schemas.referral import Screening
from store import answers, referrals, reminders
from store.answer_links import AnsweringInvitation
from store.answers import Answer
from store.invitations import contact_history
from store.panel_store import PanelStore
from store.reminders import Unanswered
from store.tables import Invitation, InvitationAnswer, InvitationReminder
from tests.conftest import TEST_PSEUDONYM_KEY
from tests.helpers import AS_OF, NOW, RLS, ingest, write_withdrawals
from tests.outreach_fixtures import LEASE, SPAWN, kill, send, server, smtp_settings
from tests.smtp_server import Received, SmtpServer
from tests.test_contact_run import LATER, approve, panel_of, rls_variant, volunteer
from tests.test_outreach_erasure import erase

__all__ = ["server", "smtp_settings"]  # fixtures

PUBLIC_URL = "https://svar.sundhedspanelet.example"
LINK = re.compile(re.escape(PUBLIC_URL) + r"/svar/([A-Za-z0-9_-]{43})")
DUE = timedelta(days=10)


@pytest.fixture
def linked(smtp_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Sending over SMTP to the test's server, with answer links."""
    monkeypatch.setenv("PANEL_PUBLIC_URL", PUBLIC_URL)
    return load_settings()


@pytest.fixture
def invited(store: PanelStore, linked: Settings, tmp_path: Path, server: SmtpServer) -> PanelStore:
    """p1 to p3 invited to the RLS trial at NOW, each by an e-mail with an answer link."""
    panel_of(store, tmp_path, [1, 2, 3])
    approve(store, 1, 2, 3)
    queue_invitations(store, linked.outreach, [RLS], AS_OF, "test-run", NOW)
    assert send(store, linked).sent == 3
    return store


def remind(
    store: PanelStore, settings: Settings, after: timedelta = DUE
) -> tuple[ReminderPlan, SendReport]:
    """A contact run's reminders at NOW + ``after``: queue them, then deliver them."""
    now = NOW + after
    plan = queue_reminders(store, settings.outreach, None, "test-run", now)
    channels = configured_channels(settings.outreach)
    return plan, send_reminders(store, settings.outreach, channels, clock=lambda: now)


def reminders_received(server: SmtpServer) -> list[Received]:
    return [item for item in server.received if item.message["In-Reply-To"] is not None]


def invitation_of(store: PanelStore, number: int) -> tuple[int, str]:
    """The invitation id and Message-ID of p``number``'s invitation."""
    with store.reading() as connection:
        row = connection.execute(
            select(Invitation.invitation_id, Invitation.message_id).where(
                Invitation.volunteer_id == volunteer(store, number)
            )
        ).one()
    return row.invitation_id, row.message_id


def answer(store: PanelStore, number: int, given: Answer, after: timedelta) -> None:
    """p``number`` answers their invitation as the answer page records it."""
    invitation_id, _ = invitation_of(store, number)
    answering = AnsweringInvitation(
        invitation_id, RLS, volunteer(store, number), "sent", NOW + timedelta(days=60)
    )
    with store.writing() as connection:
        answers.record_answer(connection, answering, given, NOW + after)
        if given is Answer.YES:
            referrals.refer(connection, answering, Screening.NOT_NEEDED, NOW + after)


def reminder_statuses(store: PanelStore) -> Counter[str]:
    with store.reading() as connection:
        return Counter(reminders.message_ids(connection).values())


def reminded(plan: ReminderPlan) -> list[str]:
    return sorted(invitation.volunteer_id for invitation in plan.remind)


def held(plan: ReminderPlan) -> dict[ReminderHeldBack, list[str]]:
    return {rule: sorted(ids) for rule, ids in plan.held_back.items()}


def everyone(store: PanelStore, *numbers: int) -> list[str]:
    return sorted(volunteer(store, n) for n in numbers)


# --- when --------------------------------------------------------------------------------------


def test_a_reminder_is_due_after_the_days_and_sent_once(
    invited: PanelStore, linked: Settings, server: SmtpServer
) -> None:
    plan, report = remind(invited, linked, DUE - timedelta(seconds=1))
    assert plan.remind == [] and report.sent == 0 and reminders_received(server) == []

    plan, report = remind(invited, linked, DUE)
    assert reminded(plan) == everyone(invited, 1, 2, 3) and report.sent == 3
    assert len(reminders_received(server)) == 3 and len(server.received) == 6

    # Running again, then later, sends nothing new: one reminder per invitation, ever.
    for later in (DUE, DUE + timedelta(days=20)):
        plan, report = remind(invited, linked, later)
        assert plan.remind == [] and plan.held_back == {} and report.sent == 0
    assert len(server.received) == 6 and reminder_statuses(invited) == {"sent": 3}


def test_the_days_come_from_the_settings(
    invited: PanelStore, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANEL_REMINDER_DAYS", "3")
    settings = load_settings()
    assert settings.outreach.reminder_days == 3
    assert remind(invited, settings, timedelta(days=3))[1].sent == 3


def test_no_reminder_after_an_answer_even_one_given_after_it_was_queued(
    invited: PanelStore, linked: Settings, server: SmtpServer
) -> None:
    answer(invited, 1, Answer.NO, timedelta(days=2))
    now = NOW + DUE
    plan = queue_reminders(invited, linked.outreach, None, "test-run", now)
    assert reminded(plan) == everyone(invited, 2, 3)

    answer(invited, 2, Answer.YES, DUE)  # between queueing and sending
    channels = configured_channels(linked.outreach)
    report = send_reminders(invited, linked.outreach, channels, clock=lambda: now)
    assert report.sent == 1 and report.cancelled == {"answered since it was queued": 1}
    (received,) = reminders_received(server)
    assert received.rcpt_tos == ["p3@example.dk"]


def test_no_reminder_once_the_answer_link_has_expired(
    invited: PanelStore, linked: Settings, server: SmtpServer
) -> None:
    plan, report = remind(invited, linked, timedelta(days=linked.outreach.answer_days))
    assert plan.remind == [] and report.sent == 0 and reminders_received(server) == []


def test_no_reminder_to_a_withdrawn_or_erased_volunteer(
    invited: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    ingest(invited, write_withdrawals(tmp_path / "w.csv", [("p1@example.dk", LATER, "afmeld")]))
    erase(invited, tmp_path, 2)
    plan, report = remind(invited, linked)
    # An erased volunteer's link leads nowhere any more: not even a candidate for a reminder.
    assert reminded(plan) == everyone(invited, 3)
    assert held(plan) == {ReminderHeldBack.WITHDRAWN: [volunteer(invited, 1)]}
    assert report.sent == 1
    assert [item.rcpt_tos for item in reminders_received(server)] == [["p3@example.dk"]]


def test_a_withdrawal_after_queueing_cancels_the_reminder(
    invited: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    now = NOW + DUE
    assert len(queue_reminders(invited, linked.outreach, None, "t", now).remind) == 3
    ingest(invited, write_withdrawals(tmp_path / "w.csv", [("p1@example.dk", LATER, "afmeld")]))
    erase(invited, tmp_path, 2)
    channels = configured_channels(linked.outreach)
    report = send_reminders(invited, linked.outreach, channels, clock=lambda: now)
    assert report.sent == 1
    assert report.cancelled == {"withdrawn since it was queued": 1, "erased since it was queued": 1}
    assert reminder_statuses(invited) == {"sent": 1, "cancelled": 2}


def test_no_reminder_once_the_study_has_its_recruitment_target(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    panel_of(store, tmp_path, [1, 2, 3])
    rls_variant(store, tmp_path, ("recruitment_target: 120", "recruitment_target: 1"))
    approve(store, 1, 2, 3)
    queue_invitations(store, linked.outreach, [RLS], AS_OF, "test-run", NOW)
    assert send(store, linked).sent == 3
    answer(store, 1, Answer.YES, timedelta(days=1))  # a referral: the target of 1 is reached

    plan, report = remind(store, linked)
    assert plan.remind == [] and report.sent == 0
    assert held(plan) == {ReminderHeldBack.STUDY_FULL: everyone(store, 2, 3)}


def test_a_study_no_longer_recruiting_sends_no_reminder(
    invited: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    rls_variant(invited, tmp_path, ("status: recruiting", "status: closed"))
    plan, report = remind(invited, linked)
    assert held(plan) == {ReminderHeldBack.STUDY_NOT_RECRUITING: everyone(invited, 1, 2, 3)}
    assert report.sent == 0


# --- the contact policy ------------------------------------------------------------------------


def test_a_reminder_needs_room_in_the_yearly_limit(
    invited: PanelStore, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PANEL_CONTACT_MAX_PER_WINDOW", "1")  # the invitation used it up
    plan, report = remind(invited, load_settings())
    assert held(plan) == {ReminderHeldBack.YEARLY_LIMIT: everyone(invited, 1, 2, 3)}
    assert report.sent == 0 and reminders_received(server) == []


def test_a_reminder_counts_as_contact_for_later_invitations(
    invited: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    assert remind(invited, linked)[1].sent == 3
    with invited.reading() as connection:
        history = contact_history(connection)
    assert history[volunteer(invited, 1)] == [NOW, NOW + DUE]

    # 30 days after the invitation, but 20 after the reminder: another study must wait.
    rls_variant(invited, tmp_path, (f"id: {RLS}", "id: rls-other"))
    approve(invited, 1, study_id="rls-other")
    (plan,) = queue_invitations(
        invited, linked.outreach, ["rls-other"], AS_OF + timedelta(days=30), "t",
        NOW + timedelta(days=30),
    )  # fmt: skip
    assert plan.invite == []
    assert plan.held_back[HeldBack.INVITED_RECENTLY] == [volunteer(invited, 1)]


def test_a_reminder_planned_counts_against_the_next_one_to_the_same_volunteer() -> None:
    """Two invitations 15 days apart, each alone due a reminder: the first reminder planned
    leaves the second too close to it."""
    policy = ContactPolicy(min_days_between=30, max_per_window=4, window_days=365)
    first, second = NOW - timedelta(days=50), NOW - timedelta(days=35)
    due = [
        Unanswered(2, RLS, "V1", "email", second, True, False, False, True, True),
        Unanswered(1, "rls-other", "V1", "email", first, True, False, False, True, True),
    ]
    plan = plan_reminders(due, {"V1": [first, second]}, policy, NOW)
    assert [invitation.invitation_id for invitation in plan.remind] == [1]
    assert plan.held_back == {ReminderHeldBack.CONTACTED_RECENTLY: ["V1"]}
    # Each alone is due: its own invitation is what it reminds of, and not "recent contact".
    for one in due:
        assert len(plan_reminders([one], {"V1": [first, second]}, policy, NOW).remind) == 1


_days_ago = st.integers(min_value=0, max_value=400).map(lambda days: NOW - timedelta(days=days))


@given(
    invitations=st.lists(
        st.tuples(st.sampled_from(["V1", "V2"]), st.integers(min_value=10, max_value=59)),
        max_size=6,
    ),
    earlier=st.lists(st.tuples(st.sampled_from(["V1", "V2"]), _days_ago), max_size=8),
    min_days=st.integers(min_value=0, max_value=60),
    max_per_window=st.integers(min_value=1, max_value=6),
)
def test_reminders_never_break_the_contact_policy(
    invitations: list[tuple[str, int]],
    earlier: list[tuple[str, datetime]],
    min_days: int,
    max_per_window: int,
) -> None:
    """Whatever came before: every reminder planned leaves each volunteer within the yearly
    limit, counting it, and no two of their contacts but a reminder and its own invitation
    closer than the days between."""
    policy = ContactPolicy(min_days, max_per_window, 365)
    due = [
        Unanswered(number, RLS, volunteer_id, "email", NOW - timedelta(days=days),
                   True, False, False, True, True)
        for number, (volunteer_id, days) in enumerate(invitations)
    ]  # fmt: skip
    history: dict[str, list[datetime]] = {}
    for volunteer_id, moment in [*earlier, *((u.volunteer_id, u.sent_at) for u in due)]:
        history.setdefault(volunteer_id, []).append(moment)
    plan = plan_reminders(due, history, policy, NOW)
    assert len(plan.remind) + sum(map(len, plan.held_back.values())) == len(due)
    for reminder in plan.remind:
        contacts = [*history[reminder.volunteer_id]]
        contacts.remove(reminder.sent_at)
        assert all(moment <= NOW - timedelta(days=min_days) for moment in contacts)
    for volunteer_id in {u.volunteer_id for u in plan.remind}:
        planned = [u for u in plan.remind if u.volunteer_id == volunteer_id]
        if min_days > 0:
            assert len(planned) == 1  # a second would come at the same moment
        in_window = [m for m in history[volunteer_id] if m > NOW - timedelta(days=365)]
        assert len(in_window) + len(planned) <= max_per_window


# --- what it says ------------------------------------------------------------------------------


def test_the_reminder_carries_the_invitations_answer_link_which_works_on_the_answer_page(
    invited: PanelStore, linked: Settings, server: SmtpServer
) -> None:
    remind(invited, linked)
    invitations = {str(item.message["Message-ID"]): item for item in server.received[:3]}
    for item in reminders_received(server):
        message = item.message
        invitation = invitations[str(message["In-Reply-To"])]
        assert message["Message-ID"] != invitation.message["Message-ID"]
        assert message["References"] == invitation.message["Message-ID"]
        assert str(message["Subject"]).startswith("Påmindelse")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        invited_text = invitation.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        (link,) = set(LINK.findall(text))
        assert set(LINK.findall(html)) == {link} and LINK.findall(invited_text) == [link]
        # Neutral: what the invitation said of the study, nothing of the researchers' title.
        assert "Et forsøg med et kosttilskud" in text
        assert "restless" not in text.lower() and "magnesium" not in text.lower()

    (first, *_) = reminders_received(server)
    text = first.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (token,) = set(LINK.findall(text))
    app = create_app(
        invited,
        pseudonym_key=bytes.fromhex(TEST_PSEUDONYM_KEY),
        rate_limit=RateLimit(burst=1000, per_minute=1000),
    )
    client = TestClient(app, raise_server_exceptions=False)
    page = client.get(f"/svar/{token}")
    assert page.status_code == 200
    (form_token,) = re.findall(r'name="form_token" value="([^"]+)"', page.text)
    answered = client.post(f"/svar/{token}", data={"answer": "no", "form_token": form_token})
    assert answered.status_code < 400
    with invited.reading() as connection:
        assert connection.execute(select(InvitationAnswer.answer)).scalars().all() == ["no"]


def test_a_reminder_by_sms_and_its_copy_are_erased_with_the_person(
    store: PanelStore, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a mail server: the reminders' copies go to the local folders, and an erasure
    deletes them (and what a server said about the person)."""
    from tests.test_outreach_erasure import three_sent_to_folders

    monkeypatch.setenv("PANEL_PUBLIC_URL", PUBLIC_URL)
    settings = load_settings()
    three_sent_to_folders(store, settings, tmp_path)
    assert remind(store, settings)[1].sent == 3
    with store.reading() as connection:
        rows = connection.execute(
            select(InvitationReminder.channel, InvitationReminder.copy_path)
        ).all()
    assert sorted(channel for channel, _ in rows) == ["email", "email", "sms"]
    paths = [Path(path) for _, path in rows if path is not None]
    assert len(paths) == 3 and all(path.exists() for path in paths)
    sms = next(path for path in paths if path.parent == settings.outreach.sms_dir.resolve())
    (link,) = LINK.findall(sms.read_text())
    assert link

    erase(store, tmp_path, 1, 2, 3)
    assert not any(path.exists() for path in paths)
    with store.reading() as connection:
        assert connection.execute(select(InvitationReminder.copy_path)).scalars().all() == [
            None, None, None,
        ]  # fmt: skip


def test_the_reminder_templates_show_the_link_in_every_body_and_own_ones_must_too(
    tmp_path: Path,
) -> None:
    link = f"{PUBLIC_URL}/svar/{'a' * 43}"
    context = InvitationContext(
        first_name="Åse", organiser="Søvnklinikken", invitation_title="Hverdagsliv og trivsel",
        involves="Fire besøg.", reply_to="hvt@example.dk", stop_contact="Svar STOP.",
        answer_link=link,
    )  # fmt: skip
    rendered = render_invitation(RLS, context, kind="reminder")
    assert rendered.subject.startswith("Påmindelse fra Sundhedspanelet")
    assert all(link in body for body in (rendered.text, rendered.html, rendered.sms))
    assert rendered.text != render_invitation(RLS, context).text

    (tmp_path / RLS).mkdir()
    (tmp_path / RLS / "reminder.sms.j2").write_text("Hej {{ first_name }}, husk os.\n")
    with pytest.raises(MessageError, match=r"reminder\.sms\.j2"):
        render_invitation(RLS, context, tmp_path, kind="reminder")
    with pytest.raises(MessageError, match="not a kind of message"):
        render_invitation(RLS, context, kind="nudge")


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.xdist_group("prefect")
def test_panel_contact_sends_the_due_reminders_and_says_so(
    store: PanelStore, linked: Settings, server: SmtpServer, tmp_path: Path
) -> None:
    from tests.test_match_flow import panel

    panel_of(store, tmp_path, [1, 2])
    approve(store, 1, 2)
    assert panel("contact")[0] == 0 and len(server.received) == 2
    assert panel("contact", "--json")[0] == 0  # sent today: nothing due
    with store.writing() as connection:  # as if sent eleven days ago
        sent = connection.execute(select(Invitation.invitation_id, Invitation.sent_at)).all()
        for invitation_id, sent_at in sent:
            connection.execute(
                update(Invitation)
                .where(Invitation.invitation_id == invitation_id)
                .values(sent_at=sent_at - timedelta(days=11))
            )

    code, out, err = panel("contact")
    assert code == 0, err
    assert "reminders of unanswered invitations: 2" in out and "reminders sent 2" in out
    assert len(reminders_received(server)) == 2
    code, out, _ = panel("contact", "--json")
    assert json.loads(out)["reminders"] == {
        "remind": [], "held_back": {},
        "delivery": {"sent": 0, "retrying": 0, "failed": [], "cancelled": {}, "taken_over": []},
    }  # fmt: skip


# --- exactly once, with faults ----------------------------------------------------------------


def _reminder_run() -> None:
    """A contact run's reminders in a process of its own (the test's settings inherited)."""
    settings = Settings()
    store = PanelStore.open(settings.store)
    now = NOW + DUE
    queue_reminders(store, settings.outreach, None, "killed run", now)
    send_reminders(store, settings.outreach, configured_channels(settings.outreach), lambda: now)


def _start() -> multiprocessing.process.BaseProcess:
    process = SPAWN.Process(target=_reminder_run)
    process.start()
    return process


def test_a_run_killed_mid_send_is_taken_over_after_its_lease_and_sent_once(
    invited: PanelStore, linked: Settings, server: SmtpServer
) -> None:
    server.block_data(keep=False)  # the kill comes before the server accepts the reminder
    process = _start()
    assert server.data_started.wait(60)
    kill(process)
    server.release()
    assert reminder_statuses(invited) == {"sending": 1, "queued": 2}

    # Its claim is respected until the lease runs out: that sender might still be at work.
    assert remind(invited, linked)[1].sent == 2
    assert remind(invited, linked, DUE + timedelta(seconds=LEASE + 1))[1].sent == 1
    with invited.reading() as connection:
        stored = sorted(reminders.message_ids(connection))
    assert sorted(str(item.message["Message-ID"]) for item in reminders_received(server)) == stored


def test_the_one_window_a_kill_after_the_server_accepted_resends_with_the_same_message_id(
    invited: PanelStore, linked: Settings, server: SmtpServer
) -> None:
    server.block_data(keep=True)  # the server has the reminder; the sender never hears so
    process = _start()
    assert server.data_started.wait(60)
    kill(process)
    server.release()

    remind(invited, linked, DUE + timedelta(seconds=LEASE + 1))
    delivered = Counter(str(item.message["Message-ID"]) for item in reminders_received(server))
    assert sorted(delivered.values()) == [1, 1, 2]  # the duplicate carries the same Message-ID
    assert reminder_statuses(invited) == {"sent": 3}
