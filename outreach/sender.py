"""The sender: delivers queued invitations one by one, exactly once (see ``store.outbox``).

For each invitation: claim it (commit), check that every rule still holds (else cancel it
with the reason), write the message from the study's templates, deliver it on the
volunteer's channel, and mark it sent (commit). A transient failure (the server says "try
later", the connection drops) puts it back in the queue with a growing wait; a permanent one,
or too many attempts, marks it failed with the server's answer (without the addresses it may
quote). An outcome counts only where this sender still held its claim: one whose lease ran
out, taken over by another sender meanwhile, is reported apart.

With ``PANEL_PUBLIC_URL`` set, each message carries the volunteer's answer link, its token
derived from the Message-ID (so a resend carries the same link), and marking it sent records
the token's hash and the link's expiry in the same commit (``store.answer_links``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from configuration.settings import OutreachSettings
from outreach.channels import Channels, DeliveryError, SmsMessage
from outreach.local_copies import forget_erased, record_copy
from outreach.messages import InvitationContext, build_email, render_invitation
from schemas.study import ContactSettings
from store import outbox, studies
from store.answer_links import SentLink, answer_link
from store.outbox import Claimed, Recipient
from store.panel_store import PanelStore

C = TypeVar("C", bound="DeliveryClaim")
C_contra = TypeVar("C_contra", contravariant=True)

#: What invitations say when a study has not written its own wording.
DEFAULT_TITLE = "et forskningsprojekt"
DEFAULT_INVOLVES = (
    "Hvad deltagelsen indebærer, fortæller forskerne dig, når du svarer. Du forpligter dig "
    "ikke til noget ved at svare."
)


@dataclass
class SendReport:
    sent: int = 0
    #: Transient failures put back in the queue.
    retrying: int = 0
    #: Invitations given up on: "study volunteer Message-ID: attempt N: the server's answer".
    failed: list[str] = field(default_factory=list)
    #: Invitations stopped at the last moment, by reason.
    cancelled: Counter[str] = field(default_factory=Counter)
    #: Message-IDs another sender took over while this one was still at them (its claim
    #: outlived the lease): what this one did is not recorded, and a message it delivered may
    #: arrive twice, with the same Message-ID.
    taken_over: list[str] = field(default_factory=list)
    #: Copies of messages to volunteers erased since, deleted from the local folders, and
    #: those that could not be (tried again at the next run).
    forgotten: int = 0
    not_forgotten: int = 0


def send_due(
    store: PanelStore,
    channels: Channels,
    settings: OutreachSettings,
    today: date,
    clock: Callable[[], datetime],
    limit: int | None = None,
) -> SendReport:
    """Deliver every invitation due now (at most ``limit``); first, the local folders forget
    what they hold of volunteers erased since (a mail server's copies are out of reach)."""
    copies = forget_erased(store, channels)
    report = SendReport(forgotten=copies.deleted, not_forgotten=copies.kept)
    tried: set[int] = set()
    while limit is None or len(tried) < limit:
        with store.writing() as connection:
            claimed = outbox.claim_next(connection, clock(), settings.send_lease_seconds, tried)
            if claimed is None:
                break
            tried.add(claimed.invitation_id)
            reason = outbox.reason_to_stop(connection, claimed, today)
            if reason is not None:
                if outbox.cancel(connection, claimed, reason):
                    report.cancelled[reason.split(" (")[0]] += 1
                else:
                    report.taken_over.append(claimed.message_id)
                continue
            token, link = None, None
            if settings.public_url is not None:
                token = store.answer_links.token(claimed.message_id)
                link = answer_link(settings.public_url, token)
            message = _message(connection, claimed, settings, clock(), link)
        try:
            if not record_copy(store, channels, claimed):
                report.taken_over.append(claimed.message_id)
                continue
            deliver(channels, message)
        except DeliveryError as error:
            record_failure(store, claimed, error, settings, clock(), report, outbox)
            continue
        with store.writing() as connection:
            now = clock()
            sent = None if token is None else SentLink.of(token, now, settings.answer_days)
            held = outbox.mark_sent(connection, claimed, now, sent)
        if held:
            report.sent += 1
        else:
            report.taken_over.append(claimed.message_id)
    return report


def _message(
    connection: Connection,
    claimed: Claimed,
    settings: OutreachSettings,
    now: datetime,
    link: str | None,
) -> EmailMessage | SmsMessage:
    person = outbox.recipient(connection, claimed.volunteer_id)
    definition = studies.definition_at(connection, claimed.study_id, claimed.study_version)
    if person is None or definition is None:  # erasure is checked first; defensive only
        raise LookupError(f"invitation {claimed.invitation_id}: no recipient or study")
    addressed = Addressed(claimed.study_id, claimed.channel, claimed.message_id, now)
    return compose(addressed, person, definition.contact, settings, link)


@dataclass(frozen=True)
class Addressed:
    """Where a message goes and what identifies it."""

    study_id: str
    channel: str
    message_id: str
    date: datetime
    #: The templates: ``invitation`` or ``reminder`` (``outreach.messages``).
    kind: str = "invitation"


def compose(
    addressed: Addressed,
    person: Recipient,
    contact: ContactSettings,
    settings: OutreachSettings,
    link: str | None,
) -> EmailMessage | SmsMessage:
    """The message to ``person`` from the study's templates of its kind, on its channel."""
    context = InvitationContext(
        first_name=person.first_name,
        organiser=contact.organiser,
        invitation_title=contact.invitation_title or DEFAULT_TITLE,
        involves=contact.involves or DEFAULT_INVOLVES,
        reply_to=contact.reply_to,
        stop_contact=settings.stop_contact,
        answer_link=link,
    )
    rendered = render_invitation(addressed.study_id, context, settings.template_dir, addressed.kind)
    if addressed.channel == "sms":
        return SmsMessage(message_id=addressed.message_id, to=person.phone or "", body=rendered.sms)
    return build_email(
        rendered,
        to=person.email,
        sender=settings.mail_from,
        reply_to=contact.reply_to,
        message_id=addressed.message_id,
        date=addressed.date,
        unsubscribe=settings.unsubscribe,
    )


def deliver(channels: Channels, message: EmailMessage | SmsMessage) -> None:
    if isinstance(message, SmsMessage):
        channels.sms.send(message)
    else:
        channels.mail.send(message)


def retry_at(
    error: DeliveryError, attempts: int, settings: OutreachSettings, now: datetime
) -> datetime | None:
    """When to try a failed delivery again (a wait doubling each attempt); None to give up:
    a permanent failure, or the last attempt."""
    if not error.transient or attempts >= settings.send_max_attempts:
        return None
    return now + timedelta(seconds=settings.send_backoff_seconds * 2 ** (attempts - 1))


class DeliveryClaim(Protocol):
    """What a claimed delivery (an invitation's, a reminder's) says of itself in a report."""

    @property
    def attempts(self) -> int: ...
    @property
    def study_id(self) -> str: ...
    @property
    def volunteer_id(self) -> str: ...
    @property
    def message_id(self) -> str: ...


class DeliveryRecords(Protocol[C_contra]):
    """How the store records a failed delivery of one kind (``store.outbox``,
    ``store.reminders``): try again later, or give up; False when the claim was lost."""

    def retry_later(
        self, connection: Connection, claimed: C_contra, error: str, at: datetime
    ) -> bool: ...
    def give_up(self, connection: Connection, claimed: C_contra, error: str) -> bool: ...


def record_failure(
    store: PanelStore,
    claimed: C,
    error: DeliveryError,
    settings: OutreachSettings,
    now: datetime,
    report: SendReport,
    records: DeliveryRecords[C],
    kind: str = "",
) -> None:
    """Record a failed delivery: queued again after a wait, or failed for good (reported
    with ``kind`` before it, e.g. "reminder "); a lost claim is reported as taken over."""
    said = f"attempt {claimed.attempts}: {error}"  # a DeliveryError holds no contact details
    with store.writing() as connection:
        again = retry_at(error, claimed.attempts, settings, now)
        if again is not None:
            held = records.retry_later(connection, claimed, said, again)
            if held:
                report.retrying += 1
        else:
            held = records.give_up(connection, claimed, said)
            if held:
                who = f"{claimed.study_id} {claimed.volunteer_id} {claimed.message_id}"
                report.failed.append(f"{kind}{who}: {said}")
    if not held:
        report.taken_over.append(claimed.message_id)
