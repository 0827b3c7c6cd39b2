"""What an erasure does to outreach's records.

The invitation and decision rows stay, as the audit trail of who decided, who was contacted
and why: study, pseudonymous volunteer id, status, dates, Message-ID, channel, study version,
who approved and who queued. What could identify the person goes: the submission (the form's
id of their profile), and any text a mail server answered or a sender wrote about them (a
server's answer often quotes the recipient's address). The hash of each invitation's answer
link goes too, so the link leads nowhere after the erasure (``store.answer_links``), and
the answers given by it (``store.answers``) and to the screening questions. Their referrals
stay, as the decisions do, as pseudonymous steps without the study team's notes; the study
team's list shows nobody erased.

The copies local folder channels wrote (``.eml``, ``.sms.json``) are deleted by the path each
invitation, and each reminder (``store.reminders``), recorded before its copy was written,
wherever the folders are configured by then; a reminder's server answers go as an
invitation's do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, bindparam, case, delete, select, update
from sqlalchemy.orm import InstrumentedAttribute

from store.panel_store import PanelStore
from store.tables import (
    Decision,
    Invitation,
    InvitationAnswer,
    InvitationReminder,
    ReferralOutcome,
    ScreeningAnswer,
    Volunteer,
)

#: What is left of a server's answer or a cancellation's reason after an erasure.
REMOVED_AT_ERASURE = "(removed at erasure)"


def scrub_audit_trail(connection: Connection, volunteer_id: str) -> None:
    """Clear what identifies an erased volunteer in the rows kept as the audit trail, their
    decisions and invitations (in the erasure's own transaction)."""
    connection.execute(
        update(Invitation)
        .where(Invitation.volunteer_id == volunteer_id)
        .values(
            submission_id=None,
            last_error=_removed(Invitation.last_error),
            cancel_reason=_removed(Invitation.cancel_reason),
            answer_token_hash=None,
        )
    )
    theirs = select(Invitation.invitation_id).where(Invitation.volunteer_id == volunteer_id)
    connection.execute(
        update(InvitationReminder)
        .where(InvitationReminder.invitation_id.in_(theirs))
        .values(
            last_error=_removed(InvitationReminder.last_error),
            cancel_reason=_removed(InvitationReminder.cancel_reason),
        )
    )
    # Their answers on the answer page (yes, no, stop, and to the screening questions) go
    # with them; their referrals stay as pseudonymous steps, without the study team's notes.
    for answers in (InvitationAnswer, ScreeningAnswer):
        connection.execute(delete(answers).where(answers.invitation_id.in_(theirs)))
    connection.execute(
        update(ReferralOutcome).where(ReferralOutcome.invitation_id.in_(theirs)).values(note=None)
    )
    # Coordinators' notes may repeat what they learned; the decisions themselves stay.
    connection.execute(
        update(Decision)
        .where(Decision.volunteer_id == volunteer_id)
        .values(submission_id=None, note=None)
    )


def _removed(column: InstrumentedAttribute[str | None]) -> ColumnElement[str | None]:
    return case((column.is_(None), None), else_=REMOVED_AT_ERASURE)


@dataclass(frozen=True)
class CopiesForgotten:
    deleted: int = 0
    #: Copies that could not be deleted (permissions, a read-only disk): tried again next time.
    kept: int = 0

    def __add__(self, other: CopiesForgotten) -> CopiesForgotten:
        return CopiesForgotten(self.deleted + other.deleted, self.kept + other.kept)


def forget_recorded_copies(store: PanelStore) -> CopiesForgotten:
    """Delete every local copy recorded for a volunteer erased since, and forget its path:
    of their invitations and of their reminders. Safe to repeat: a copy already gone is fine;
    one that cannot be deleted keeps its path and is tried again at the next erasure or
    contact run."""
    return _forget_copies(store, Invitation) + _forget_copies(store, InvitationReminder)


def _forget_copies(
    store: PanelStore, table: type[Invitation] | type[InvitationReminder]
) -> CopiesForgotten:
    statement = select(table.invitation_id, table.copy_path)
    if table is not Invitation:
        statement = statement.join(Invitation, Invitation.invitation_id == table.invitation_id)
    with store.reading() as connection:
        rows = connection.execute(
            statement.join(Volunteer, Volunteer.volunteer_id == Invitation.volunteer_id).where(
                Volunteer.erased_at.is_not(None), table.copy_path.is_not(None)
            )
        ).all()
    recorded = [(invitation_id, path) for invitation_id, path in rows if path is not None]
    deleted, kept, done = 0, 0, []
    for invitation_id, path in recorded:
        outcome = delete_copy(Path(path))
        if outcome is None:
            kept += 1
            continue
        deleted += outcome
        done.append({"b_id": invitation_id, "b_path": path})
    if done:
        with store.writing() as connection:
            connection.execute(
                update(table)
                .where(
                    table.invitation_id == bindparam("b_id"),
                    table.copy_path == bindparam("b_path"),  # unless written again since
                )
                .values(copy_path=None),
                done,
            )
    return CopiesForgotten(deleted, kept)


def delete_copy(path: Path) -> bool | None:
    """True if the copy was deleted, False if it was gone already, None if it could not be."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return True
