"""The store's errors: the ``StoreError`` family (``configuration.errors`` states the rule they
keep: no personal data in a message; volunteer ids are pseudonymous).

``StoreError`` itself is a statement the database refused or failed, worded by
``store.db_errors`` (the kind of problem and the table or constraint, never a value).
"""

from __future__ import annotations

from configuration.errors import PanelError


class StoreError(PanelError):
    """The panel store refused or failed a statement; the message names the kind of problem
    and the table or constraint, never a value (``store.db_errors`` words it). The base of
    every error the store raises."""


class StoreBusy(StoreError):
    """Another run holds the store's ingest lock, and this one was asked not to wait."""

    #: ``EX_TEMPFAIL`` of sysexits.h: try again later.
    exit_code = 75


class UnknownStudy(StoreError):
    """No study of these ids is published; ``study_ids`` names them."""

    max_message = 100_000  # lists every study named

    def __init__(self, study_ids: list[str], *, see_list: bool = False) -> None:
        self.study_ids = list(study_ids)
        self.see_list = see_list
        hint = " (see `panel study list`)" if see_list else ""
        super().__init__(f"no published study {', '.join(map(repr, self.study_ids))}{hint}")

    def __reduce__(self) -> tuple[object, ...]:  # pickled by Prefect with its arguments
        return (_unknown_study, (self.study_ids, self.see_list))


def _unknown_study(study_ids: list[str], see_list: bool) -> UnknownStudy:
    return UnknownStudy(study_ids, see_list=see_list)
