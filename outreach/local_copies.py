"""The copies local folder channels keep (``.eml`` in the outbox folder, ``.sms.json`` in the
SMS folder): each is recorded before it is written, so an erasure finds every one of them.

They hold names, addresses and phone numbers, so erasing a volunteer deletes them: right after
the erasure commits (``store.ingest_runs.accept``) and again at the start of every
send run, which also looks, by Message-ID, in the folders as configured now for the copies of
invitations written before paths were recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from sqlalchemy import Connection

from outreach.channels import Channels, TransientDeliveryError
from store import outbox
from store.outbox import Claimed
from store.outreach_erasure import CopiesForgotten, delete_copy, forget_recorded_copies
from store.panel_store import PanelStore


class _Copied(Protocol):
    """A claimed message of an outbox table: an invitation or a reminder."""

    @property
    def channel(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def copy_path(self) -> str | None: ...


_C = TypeVar("_C", bound=_Copied)


def record_copy(store: PanelStore, channels: Channels, claimed: Claimed) -> bool:
    """Record where the invitation's local copy is about to be written (nothing to record for a
    mail server); False if another sender has taken the invitation over meanwhile.

    One copy per message: a copy written elsewhere before (by a sender that died before
    marking it sent, with the folder moved since) is deleted first."""
    return record_copy_of(store, channels, claimed, outbox.record_copy)


def record_copy_of(
    store: PanelStore,
    channels: Channels,
    claimed: _C,
    record: Callable[[Connection, _C, str], bool],
) -> bool:
    """``record_copy`` for any claimed message, recorded by ``record`` (its table's)."""
    folder = channels.folder(claimed.channel)
    if folder is None:
        return True
    path = folder.path_for(claimed.message_id).resolve()
    if claimed.copy_path == str(path):
        return True
    if claimed.copy_path is not None and delete_copy(Path(claimed.copy_path)) is None:
        raise TransientDeliveryError(
            f"cannot delete the copy written before to another folder ({claimed.copy_path})"
        )
    with store.writing() as connection:
        return record(connection, claimed, str(path))


def forget_erased(store: PanelStore, channels: Channels) -> CopiesForgotten:
    """Delete the local copies of messages to volunteers erased since: every recorded one, and
    for invitations that recorded none, the copy named by their Message-ID in the folders as
    configured now (whichever channel is in use)."""
    forgotten = forget_recorded_copies(store)
    folders = channels.configured_folders()
    with store.reading() as connection:
        unrecorded = outbox.unrecorded_copies_of_erased(connection)
    for message_id, channel in unrecorded:
        folder = folders.get(channel)
        if folder is not None:
            outcome = delete_copy(folder.path_for(message_id))
            forgotten += CopiesForgotten(deleted=outcome is True, kept=outcome is None)
    return forgotten
