"""One contact run: decide and queue who is invited now, then deliver what is due.

    plan (re-evaluate, apply the rules) -> queue (one transaction) -> send (one by one)

The reminders of unanswered invitations go the same way (``outreach.reminders``).

A retry is the same with the study's failed invitations in place of its candidates.

The two halves are separate on purpose: whatever happens to the sender, the queued
invitations stay in the store and the next run delivers them (see ``store.outbox``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from configuration.settings import OutreachSettings
from outreach.channels import Channels, OutboxFolder, SmsFolder, mail_channel
from outreach.contact_rules import ContactPlan
from outreach.queueing import plan_invitations, plan_retry
from outreach.reminders import send_due_reminders
from outreach.sender import SendReport, send_due
from store.panel_store import PanelStore


def queue_invitations(
    store: PanelStore,
    settings: OutreachSettings,
    study_ids: list[str] | None,
    as_of: date,
    actor: str,
    now: datetime,
    dry_run: bool = False,
) -> list[ContactPlan]:
    """Every study's plan; unless ``dry_run``, its invitations queued (one transaction)."""
    with store.reading() as connection:
        plans = plan_invitations(
            connection,
            study_ids,
            settings.policy,
            as_of,
            now,
            actor=actor,
            message_domain=settings.message_domain,
            dry_run=dry_run,
        )
        if dry_run:
            connection.rollback()
        else:
            connection.commit()
    return plans


def retry_failed(
    store: PanelStore,
    settings: OutreachSettings,
    study_id: str,
    volunteer_ids: list[str] | None,
    as_of: date,
    actor: str,
    now: datetime,
) -> ContactPlan:
    """Queue the study's failed invitations again (those of ``volunteer_ids``, or all), where
    every rule holds now, in one transaction (see ``plan_retry``)."""
    with store.reading() as connection:
        plan = plan_retry(
            connection,
            study_id,
            volunteer_ids,
            settings.policy,
            as_of,
            now,
            actor=actor,
            message_domain=settings.message_domain,
        )
        connection.commit()
    return plan


def configured_channels(settings: OutreachSettings) -> Channels:
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return Channels(
        mail=mail_channel(smtp_url, settings.outbox_dir),
        sms=SmsFolder(settings.sms_dir),
        outbox_folder=OutboxFolder(settings.outbox_dir),
    )


def send_reminders(
    store: PanelStore,
    settings: OutreachSettings,
    channels: Channels | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SendReport:
    """Deliver the reminders due (``outreach.reminders``), on the same channels."""
    return send_due_reminders(store, channels or configured_channels(settings), settings, clock)


def send_invitations(
    store: PanelStore,
    settings: OutreachSettings,
    today: date,
    channels: Channels | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SendReport:
    return send_due(store, channels or configured_channels(settings), settings, today, clock)
