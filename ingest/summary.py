"""What an ingest tells its caller: per file, and in total. Counts always add up:
``rows == stored + quarantined + known`` for every accepted file."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

#: A summary lists at most this many quarantined rows; the store keeps them all.
LISTED_QUARANTINE = 1000


class QuarantinedRowReport(BaseModel):
    line: int
    submission_id: str | None
    problems: list[str]


class FileSummary(BaseModel):
    file: str
    #: refused: the file is not a valid export; failed: it could not be ingested for another
    #: reason (nothing of it was stored either way).
    status: Literal["accepted", "refused", "failed"]
    kind: str | None = None
    sha256: str | None = None
    ingest_id: int | None = None
    rows: int = 0
    stored: int = 0
    quarantined: int = 0
    known: int = 0
    #: Why a refused file was refused, or a failed one failed: one line each.
    refusal: list[str] = Field(default_factory=list)
    quarantine: list[QuarantinedRowReport] = Field(default_factory=list)
    quarantine_listed_all: bool = True
    #: Finer counts: known_erased, new_volunteers, unsubscribed, erased, ...
    details: dict[str, int] = Field(default_factory=dict)
    #: Diagnoses of the rows validated this time that WHO's ICD-10 list does not know (the
    #: Danish hospital code system extends it: they are stored as given, never quarantined),
    #: per code the number of rows reporting it, the most frequent first.
    unknown_diagnoses: dict[str, int] = Field(default_factory=dict)
    data_docs: str | None = None
    validation_result: str | None = None
    seconds: dict[str, float] = Field(default_factory=dict)


class IngestSummary(BaseModel):
    """Totals over the files: ``rows`` (of accepted files) = stored + quarantined + known;
    the rows of refused files are counted apart, in ``refused_rows``; ``failed`` counts the
    files that could not be ingested for another reason."""

    files: list[FileSummary]

    def _accepted(self, count: str) -> int:
        return sum(getattr(f, count) for f in self.files if f.status == "accepted")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rows(self) -> int:
        return self._accepted("rows")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stored(self) -> int:
        return self._accepted("stored")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def quarantined(self) -> int:
        return self._accepted("quarantined")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def known(self) -> int:
        return self._accepted("known")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refused(self) -> int:
        """Files refused as a whole."""
        return sum(f.status == "refused" for f in self.files)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def failed(self) -> int:
        """Files that could not be ingested for a reason other than their content."""
        return sum(f.status == "failed" for f in self.files)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refused_rows(self) -> int:
        return sum(f.rows for f in self.files if f.status == "refused")

    @property
    def set_aside(self) -> list[FileSummary]:
        """The files not accepted: refused or failed."""
        return [f for f in self.files if f.status != "accepted"]
