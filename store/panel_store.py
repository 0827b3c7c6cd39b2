"""``PanelStore``: the one door to the panel store that ingest (and later steps) go through.

It owns the engine, the keyed e-mail hasher and the raw archive, and turns each step of an
ingest into one transaction: a refused file changes nothing but the audit log; an accepted one
is stored, quarantined and audited all at once, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, func, select, update

from configuration.errors import as_panel_error
from configuration.settings import StoreSettings
from matching.funnel import Funnel
from schemas.review import CandidateQuery
from schemas.study import StudyDefinition
from store import audit, candidate_list, invitations, match_runs, staging, storing, studies
from store.archive import RawArchive
from store.bulk import fetch_column
from store.candidate_changes import ListChanges
from store.database import create_panel_engine, forget_old_page_versions, migrate
from store.delivery_status import StudyOutbox, delivery_status
from store.ingest_lock import ingest_lock
from store.outreach_erasure import forget_recorded_copies
from store.partitions import Part, partitions
from store.pseudonyms import EmailHasher
from store.staging import AcceptedFile
from store.submissions import SignupsStored
from store.tables import Erasure, IngestRun, Profile, QuarantinedRecord, Volunteer
from store.withdrawals import WithdrawalsStored


@dataclass(frozen=True)
class PanelOverview:
    volunteers: int
    contactable: int
    withdrawn: int
    erased: int
    profiles: int
    quarantined_open: int


@dataclass(frozen=True)
class IngestRecord:
    ingest_id: int
    file_name: str
    kind: str | None
    actor: str
    started_at: datetime
    status: str
    rows: int | None
    stored: int | None
    quarantined: int | None
    known: int | None
    #: Why a refused file was refused.
    message: str | None


class PanelStore:
    def __init__(
        self, engine: Engine, hasher: EmailHasher, archive: RawArchive, staging: Path
    ) -> None:
        self.engine, self.hasher, self.archive = engine, hasher, archive
        #: Where accepted files are staged while they are stored (``store.staging``).
        self.staging = staging

    @classmethod
    def open(cls, settings: StoreSettings) -> PanelStore:
        """The store ``settings`` describe, migrated to the newest schema."""
        engine = create_panel_engine(settings.database_url)
        migrate(engine)
        hasher = EmailHasher(settings.pseudonym_key_bytes())
        archive = RawArchive(settings.archive_dir, engine, hasher)
        return cls(engine, hasher, archive, settings.staging_dir)

    # --- ingest -------------------------------------------------------------------------

    def ingest_lock(
        self, *, wait: bool, on_wait: Callable[[str], None]
    ) -> AbstractContextManager[None]:
        """One ingest at a time (``store.ingest_lock``); taking it finishes the audit records
        of runs that died as ``interrupted``."""
        return _holding(self, wait, on_wait)

    def start_ingest(self, file_name: str, sha256: str, actor: str, now: datetime) -> int:
        return audit.start_ingest(self.engine, file_name, sha256, actor, now)

    def fail(self, ingest_id: int, reason: str, now: datetime) -> str:
        """Finish an ingest that went wrong through no fault of its file; the audit's message:
        ``reason`` and what of the file was stored. That is nothing, unless it broke while
        storing, between two parts: the parts before stay (each person whole), and ingesting
        the file again stores the rest. Its staged plan goes."""
        staging.discard(self.staging / f"ingest-{ingest_id}")
        with self.engine.begin() as connection:
            return audit.fail(connection, ingest_id, reason, now)

    def refuse(self, ingest_id: int, reason: str, now: datetime, **details: object) -> None:
        with self.engine.begin() as connection:
            audit.finish_ingest(
                connection,
                ingest_id,
                status="refused",
                finished_at=now,
                message=reason,
                **details,  # type: ignore[arg-type]
            )

    def already_stored(self, submission_ids: pa.Array) -> np.ndarray:
        """Which of these (raw) submission ids are stored already, as a boolean mask."""
        normalised = pc.utf8_lower(pc.utf8_trim_whitespace(submission_ids))
        with self.engine.connect() as connection:
            stored = fetch_column(connection, "SELECT submission_id FROM profile")
        if not stored:
            return np.zeros(len(submission_ids), dtype=bool)
        mask = pc.is_in(normalised, value_set=pa.array(stored, pa.string()))
        return mask.fill_null(False).to_numpy(zero_copy_only=False)

    def accept(
        self,
        file: AcceptedFile,
        now: datetime,
        on_part: Callable[[int, int], None] = lambda done, total: None,
    ) -> SignupsStored | WithdrawalsStored:
        """Store an accepted file's valid rows and quarantine, a part at a time, each part its
        own short transaction (``store.storing``), and finish its audit record; then follow
        up: cut people erased since out of the file's archived copy, or, for withdrawals, do
        what the erasures left to do beyond the tables."""
        folder = self.staging / f"ingest-{file.ingest_id}"
        return self._followed_up(file, storing.store(self.engine, folder, file, on_part), now)

    def finish_storing(self, now: datetime) -> list[int]:
        """Store the rest of every file whose run died while storing it; their ingest ids."""
        finished = []
        for ingest_id, folder in staging.staged(self.staging):
            try:
                done = storing.finish(self.engine, folder)
            except Exception as error:
                problem = as_panel_error(error)
                if problem.transient:
                    raise  # the next run tries again
                # Not again and again: the file is failed, and every later run goes on.
                self.fail(
                    ingest_id,
                    f"panelmatch could not finish storing this file ({problem.message})",
                    now,
                )
                continue
            if done is not None:
                file, outcome = done
                self._followed_up(file, outcome, now)
                finished.append(ingest_id)
        return finished

    def _followed_up(
        self, file: AcceptedFile, outcome: SignupsStored | WithdrawalsStored, now: datetime
    ) -> SignupsStored | WithdrawalsStored:
        if isinstance(outcome, SignupsStored):
            return replace(
                outcome, archive_records_removed=self.redact_erased(file.file_sha256, now)
            )
        self.finish_erasures(now)
        return outcome

    # --- erasure beyond the store's tables ----------------------------------------------

    def erasures(self, pending_only: bool = False) -> list[tuple[str, datetime]]:
        statement = select(Erasure.email_hash, Erasure.erased_at)
        if pending_only:
            statement = statement.where(Erasure.archive_purged_at.is_(None))
        with self.engine.connect() as connection:
            return [(row.email_hash, row.erased_at) for row in connection.execute(statement)]

    def finish_erasures(self, now: datetime) -> int:
        """What an erasure does after its transaction: delete the outbox copies of messages to
        the erased people, remove them from every archived file and its copies, and from the
        pages SQLite's write-ahead log still keeps. Every ingest calls it until it has
        succeeded once (a crash, or a reader holding the log, leaves it pending); archived
        records removed."""
        pending = self.erasures(pending_only=True)
        if not pending:
            return 0
        # Outbox copies that cannot be deleted now are tried again by every contact run.
        forget_recorded_copies(self.engine)
        removed = self.archive.purge(pending, now)
        if not forget_old_page_versions(self.engine):
            return removed
        with self.engine.begin() as connection:
            connection.execute(
                update(Erasure)
                .where(Erasure.email_hash.in_([email_hash for email_hash, _ in pending]))
                .values(archive_purged_at=now)
            )
        return removed

    def redact_erased(self, sha256: str, now: datetime) -> int:
        """Remove from a newly archived file every erased person it brought back."""
        return self.archive.redact(sha256, self.erasures(), now)

    # --- studies and matching -----------------------------------------------------------

    def publish_study(
        self, study: StudyDefinition, source: str, actor: str, now: datetime
    ) -> studies.Published:
        with self.engine.begin() as connection:
            return studies.publish(connection, study, source, actor, now)

    def studies(self) -> list[studies.StudySummary]:
        with self.engine.connect() as connection:
            return studies.summaries(connection)

    def study_definition(self, study_id: str) -> StudyDefinition | None:
        with self.engine.connect() as connection:
            return studies.current_definition(connection, study_id)

    def recruiting_studies(self) -> list[str]:
        with self.engine.connect() as connection:
            return studies.recruiting(connection)

    def contactable_profiles(self) -> tuple[pd.DataFrame, int]:
        """The current profiles of everyone who may be contacted, and the panel's size."""
        with self.engine.connect() as connection:
            return match_runs.contactable_profiles(connection), match_runs.panel_size(connection)

    def volunteer_partitions(self, count: int) -> list[Part]:
        with self.engine.connect() as connection:
            return partitions(connection, count)

    def match_is_current(self, study_id: str, as_of: date) -> bool:
        with self.engine.connect() as connection:
            study = studies.current_definition(connection, study_id)
            return study is not None and match_runs.match_is_current(
                connection, study_id, study.version, as_of
            )

    def record_match(
        self, funnel: Funnel, found: pd.DataFrame, as_of: date, actor: str, now: datetime
    ) -> match_runs.RecordedMatch:
        with self.engine.begin() as connection:
            return match_runs.record_match(connection, funnel, found, as_of, actor, now)

    def record_changes(
        self, funnel: Funnel, changes: ListChanges, as_of: date, actor: str, now: datetime
    ) -> match_runs.RecordedMatch:
        with self.engine.begin() as connection:
            return match_runs.record_changes(connection, funnel, changes, as_of, actor, now)

    def candidate_list(self, study_id: str) -> pd.DataFrame:
        """The whole list, with explanations, for a spreadsheet."""
        with self.engine.connect() as connection:
            return candidate_list.export_frame(connection, study_id, CandidateQuery())

    # --- reading ------------------------------------------------------------------------

    def recent_ingests(self, limit: int = 10) -> list[IngestRecord]:
        columns = [getattr(IngestRun, name) for name in IngestRecord.__dataclass_fields__]
        statement = select(*columns).order_by(IngestRun.ingest_id.desc()).limit(limit)
        with self.engine.connect() as connection:
            return [IngestRecord(*row) for row in connection.execute(statement)][::-1]

    def failed_invitations(self, study_id: str) -> dict[str, int]:
        """The study's failed invitations: invitation id by (pseudonymous) volunteer."""
        with self.engine.connect() as connection:
            return invitations.failed_invitations(connection, study_id)

    def outbox(self, now: datetime, send_lease_seconds: float) -> list[StudyOutbox]:
        """Each study's invitations by step of delivery (abandoned claims: those older than
        the send lease)."""
        with self.engine.connect() as connection:
            return delivery_status(connection, now, send_lease_seconds)

    def overview(self) -> PanelOverview:
        current = Profile.submission_id == Volunteer.current_submission_id
        with self.engine.connect() as connection:
            volunteers = connection.scalar(
                select(func.count()).select_from(Volunteer).where(Volunteer.erased_at.is_(None))
            )
            erased = connection.scalar(
                select(func.count()).select_from(Volunteer).where(Volunteer.erased_at.is_not(None))
            )
            withdrawn = connection.scalar(
                select(func.count())
                .select_from(Volunteer)
                .join(Profile, current)
                .where(Volunteer.withdrawn_at >= Profile.submitted_at)
            )
            contactable = connection.scalar(
                select(func.count())
                .select_from(Volunteer)
                .join(Profile, current)
                .where(
                    Profile.consent_contact.is_(True),
                    (Volunteer.withdrawn_at.is_(None))
                    | (Volunteer.withdrawn_at < Profile.submitted_at),
                )
            )
            profiles = connection.scalar(select(func.count()).select_from(Profile))
            open_quarantine = connection.scalar(
                select(func.count())
                .select_from(QuarantinedRecord)
                .where(QuarantinedRecord.resolved_at.is_(None))
            )
        return PanelOverview(
            int(volunteers or 0),
            int(contactable or 0),
            int(withdrawn or 0),
            int(erased or 0),
            int(profiles or 0),
            int(open_quarantine or 0),
        )


@contextmanager
def _holding(store: PanelStore, wait: bool, on_wait: Callable[[str], None]) -> Iterator[None]:
    def holder() -> str:
        with store.engine.connect() as connection:
            return audit.running(connection) or "a cycle, between its files"

    with ingest_lock(store.engine, wait=wait, holder=holder, on_wait=on_wait):
        now = datetime.now(UTC)
        store.finish_storing(now)
        with store.engine.begin() as connection:
            audit.mark_interrupted(connection, now)
        store.finish_erasures(now)
        yield
