"""``PanelStore``: the store's handle, which opens connections to it.

It owns the store's resources and nothing else: the engine, the keyed e-mail hasher
(``hasher``), the key of invitations' answer links (``answer_links``), the raw archive
(``archive``) and the staging folder (``staging``). Every store operation is a function in the
store module that owns its tables, taking a connection the handle opens: ``reading()`` for a
connection, ``writing()`` for a transaction (see ``store/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine

from configuration.settings import StoreSettings
from store.answer_links import AnswerLinkKey
from store.archive import RawArchive
from store.database import create_panel_engine, migrate, writer_turn
from store.pseudonyms import EmailHasher


class PanelStore:
    #: The database: only the store's own modules and ``reading``/``writing`` use it.
    engine: Engine
    #: Keyed pseudonyms of e-mail addresses (``store.pseudonyms``): ingest hashes with it.
    hasher: EmailHasher
    #: Derives each invitation's answer-link token (``store.answer_links``): outreach uses it.
    answer_links: AnswerLinkKey
    #: The raw archive of every accepted export (``store.archive``): ingest keeps files in it.
    archive: RawArchive
    #: Where accepted files are staged while they are stored (``store.staging``).
    staging: Path

    def __init__(
        self,
        engine: Engine,
        hasher: EmailHasher,
        archive: RawArchive,
        staging: Path,
        answer_links: AnswerLinkKey,
    ) -> None:
        self.engine, self.hasher, self.archive, self.staging = engine, hasher, archive, staging
        self.answer_links = answer_links

    @classmethod
    def open(cls, settings: StoreSettings) -> PanelStore:
        """The store ``settings`` describe, migrated to the newest schema."""
        engine = create_panel_engine(settings.database_url)
        migrate(engine)
        key = settings.pseudonym_key_bytes()
        hasher = EmailHasher(key)  # checks the key
        archive = RawArchive(settings.archive_dir, engine, hasher)
        return cls(engine, hasher, archive, settings.staging_dir, AnswerLinkKey(key))

    def close(self) -> None:
        """Close the engine's pooled connections (a Dask task's store, when it is done)."""
        self.engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection, closed at the end of the block; what it does is not committed
        unless the caller commits it."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A transaction, committed at the end of the block (rolled back if it raises)."""
        with self.engine.begin() as connection:
            yield connection

    def writer_turn(self, *, after_others: bool = False) -> AbstractContextManager[None]:
        """On SQLite, this thread's turn among the writers (``store.database.writer_turn``)."""
        return writer_turn(self.engine, after_others=after_others)
