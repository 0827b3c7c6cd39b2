"""Reminders: one, after ``PANEL_REMINDER_DAYS`` (10) days, to a volunteer who has not answered
an invitation, carrying the invitation's own answer link.

    plan (the rules below, pure) -> queue (one transaction) -> send (one by one, exactly once)

An invitation may be reminded of once it was sent that many days ago with an answer link that
still works, has no answer and no reminder yet, and its volunteer is not erased. Then, in this
order, the first rule that fails holds it back: the study is recruiting; it has not reached its
recruitment target; the volunteer has not withdrawn and still consents to contact; there is an
address for the invitation's channel; and the contact policy allows one more message. A
reminder counts as contact (``store.invitations.contact_history``): against the yearly limit,
its own invitation included, and no other invitation or reminder may have reached the volunteer
within the days the policy sets between two. One held back is looked at again by later runs
while its link works.

The reminder goes on the invitation's channel, from the ``reminder.*`` templates (the same
context as an invitation's: nothing about health), with a Message-ID of its own that refers to
the invitation's, and the same answer link: its token derives from the invitation's
Message-ID (``store.answer_links``). Delivery is the invitation's: claim, check again, record
where a local copy goes, deliver, mark sent (``store.reminders``, ``store.delivery_claims``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from enum import StrEnum

from sqlalchemy import Connection

from configuration.settings import ContactPolicy, OutreachSettings
from outreach.channels import Channels, DeliveryError, SmsMessage
from outreach.local_copies import record_copy_of
from outreach.sender import Addressed, SendReport, compose, deliver, record_failure
from store import invitations, outbox, reminders, studies
from store.answer_links import answer_link, token_hash
from store.panel_store import PanelStore
from store.reminders import ClaimedReminder, Unanswered


class ReminderHeldBack(StrEnum):
    """Why an unanswered invitation gets no reminder now, in the order the rules are checked."""

    STUDY_NOT_RECRUITING = "study not recruiting"
    STUDY_FULL = "study has its recruitment target"
    WITHDRAWN = "withdrawn"
    NO_CONSENT = "no consent to contact"
    NO_ADDRESS = "no address for their channel"
    CONTACTED_RECENTLY = "contacted recently"
    YEARLY_LIMIT = "yearly limit reached"


@dataclass
class ReminderPlan:
    #: The invitations to remind of now, by invitation id.
    remind: list[Unanswered] = field(default_factory=list)
    #: Pseudonymous volunteer ids held back, by rule.
    held_back: dict[ReminderHeldBack, list[str]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {"remind": len(self.remind)} | {
            rule.value: len(ids) for rule, ids in self.held_back.items()
        }


def plan_reminders(
    due: Iterable[Unanswered],
    history: dict[str, list[datetime]],
    policy: ContactPolicy,
    now: datetime,
) -> ReminderPlan:
    """Which unanswered invitations are reminded of now, and why the others are not. A
    reminder planned counts against the policy for the ones after it, as a sent one would."""
    plan = ReminderPlan()
    planned: dict[str, list[datetime]] = {}
    for invitation in sorted(due, key=lambda u: u.invitation_id):
        contacts = [
            *history.get(invitation.volunteer_id, ()),
            *planned.get(invitation.volunteer_id, ()),
        ]
        rule = _held_back(invitation, contacts, policy, now)
        if rule is not None:
            plan.held_back.setdefault(rule, []).append(invitation.volunteer_id)
            continue
        plan.remind.append(invitation)
        planned.setdefault(invitation.volunteer_id, []).append(now)
    return plan


def _held_back(
    invitation: Unanswered, contacts: list[datetime], policy: ContactPolicy, now: datetime
) -> ReminderHeldBack | None:
    if not invitation.recruiting:
        return ReminderHeldBack.STUDY_NOT_RECRUITING
    if invitation.full:
        return ReminderHeldBack.STUDY_FULL
    if invitation.withdrawn:
        return ReminderHeldBack.WITHDRAWN
    if not invitation.consent:
        return ReminderHeldBack.NO_CONSENT
    if not invitation.has_address:
        return ReminderHeldBack.NO_ADDRESS
    others = list(contacts)
    if invitation.sent_at in others:  # its own invitation is what it reminds of
        others.remove(invitation.sent_at)
    recent = now - timedelta(days=policy.min_days_between)
    if any(moment > recent for moment in others):
        return ReminderHeldBack.CONTACTED_RECENTLY
    window = now - timedelta(days=policy.window_days)
    if sum(moment > window for moment in contacts) >= policy.max_per_window:
        return ReminderHeldBack.YEARLY_LIMIT
    return None


def queue_reminders(
    store: PanelStore,
    settings: OutreachSettings,
    study_ids: list[str] | None,
    actor: str,
    now: datetime,
    dry_run: bool = False,
) -> ReminderPlan:
    """The reminders due now (of the studies ``study_ids``, or all), planned and (unless
    ``dry_run``) queued in one transaction under the store's queueing lock, so two runs never
    remind twice or past the contact policy. Without ``PANEL_PUBLIC_URL`` there is no answer
    link to remind of: nothing is due."""
    if settings.public_url is None:
        return ReminderPlan()
    with store.reading() as connection:
        if not dry_run:
            invitations.lock_for_queueing(connection)
        due = reminders.unanswered(connection, now, settings.reminder_days, study_ids)
        plan = plan_reminders(due, invitations.contact_history(connection), settings.policy, now)
        if dry_run:
            connection.rollback()
            return plan
        reminders.queue(connection, plan.remind, actor, now, settings.message_domain)
        connection.commit()
    return plan


def send_due_reminders(
    store: PanelStore,
    channels: Channels,
    settings: OutreachSettings,
    clock: Callable[[], datetime],
    limit: int | None = None,
) -> SendReport:
    """Deliver every reminder due now (at most ``limit``), exactly once as invitations are."""
    report = SendReport()
    tried: set[int] = set()
    while limit is None or len(tried) < limit:
        with store.writing() as connection:
            claimed = reminders.claim_next(connection, clock(), settings.send_lease_seconds, tried)
            if claimed is None:
                break
            tried.add(claimed.invitation_id)
            reason = reminders.reason_to_stop(connection, claimed, clock())
            link = None
            if reason is None:
                link, reason = _answer_link(connection, store, claimed, settings)
            if reason is not None:
                if reminders.cancel(connection, claimed, reason):
                    report.cancelled[reason.split(" (")[0]] += 1
                else:
                    report.taken_over.append(claimed.message_id)
                continue
            message = _message(connection, claimed, settings, clock(), link)
        try:
            if not record_copy_of(store, channels, claimed, reminders.record_copy):
                report.taken_over.append(claimed.message_id)
                continue
            deliver(channels, message)
        except DeliveryError as error:
            record_failure(store, claimed, error, settings, clock(), report, reminders, "reminder ")
            continue
        with store.writing() as connection:
            held = reminders.mark_sent(connection, claimed, clock())
        if held:
            report.sent += 1
        else:
            report.taken_over.append(claimed.message_id)
    return report


def _answer_link(
    connection: Connection, store: PanelStore, claimed: ClaimedReminder, settings: OutreachSettings
) -> tuple[str | None, str | None]:
    """The invitation's answer link, derived again from its Message-ID, and None; or None and
    why it cannot be sent: no public address now, or a link that would lead nowhere (the
    pseudonym key changed since the invitation was sent)."""
    if settings.public_url is None:
        return None, "no public address for the answer link (PANEL_PUBLIC_URL)"
    token = store.answer_links.token(claimed.invitation_message_id)
    if token_hash(token) != reminders.answer_token_hash(connection, claimed.invitation_id):
        return None, "answer link no longer works (the pseudonym key changed)"
    return answer_link(settings.public_url, token), None


def _message(
    connection: Connection,
    claimed: ClaimedReminder,
    settings: OutreachSettings,
    now: datetime,
    link: str | None,
) -> EmailMessage | SmsMessage:
    person = outbox.recipient(connection, claimed.volunteer_id)
    definition = studies.definition_at(connection, claimed.study_id, claimed.study_version)
    if person is None or definition is None:  # erasure is checked first; defensive only
        raise LookupError(f"reminder of invitation {claimed.invitation_id}: no recipient or study")
    addressed = Addressed(claimed.study_id, claimed.channel, claimed.message_id, now, "reminder")
    message = compose(addressed, person, definition.contact, settings, link)
    if isinstance(message, EmailMessage):  # mail clients show it with the invitation
        message["In-Reply-To"] = claimed.invitation_message_id
        message["References"] = claimed.invitation_message_id
    return message
