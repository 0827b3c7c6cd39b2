"""Does a candidate's current profile still fit the study's current version? Pure, no I/O.

Outreach never trusts the match that put someone on a list: profiles change, people age, and
studies get new versions. Just before inviting, the study is evaluated afresh on the current
profiles, as of the day of sending.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from matching import outcomes
from matching.engine import match_study
from matching.panel import PreparedPanel
from outreach.contact_rules import Fit
from schemas.study import StudyDefinition

_FIT = {int(outcomes.MET): Fit.ELIGIBLE, int(outcomes.UNKNOWN): Fit.NEEDS_SCREENING}


@dataclass(frozen=True)
class FreshFit:
    fit: Fit
    #: The profile version evaluated.
    submission_id: str
    #: Criteria to screen (when the fit needs screening).
    unknowns: frozenset[str]
    #: The criteria that rule them out now: inclusion not met, or exclusion met.
    ruled_out_by: tuple[str, ...]


def fresh_fits(
    study: StudyDefinition, panel: PreparedPanel, volunteer_ids: Collection[str]
) -> dict[str, FreshFit]:
    """The fresh fit of each of ``volunteer_ids`` found in ``panel`` (the contactable panel:
    anyone missing from it may not be contacted at all)."""
    wanted = set(volunteer_ids)
    if not wanted:
        return {}
    match = match_study(study, panel)
    found: dict[str, FreshFit] = {}
    # Only the wanted rows, found by Arrow: a panel has a million volunteers, a list a few.
    chosen = pc.is_in(panel.volunteer_ids, value_set=pa.array(sorted(wanted), pa.string()))
    rows = np.flatnonzero(chosen.to_numpy(zero_copy_only=False))
    volunteer_ids = panel.volunteer_ids.take(pa.array(rows, pa.int64())).to_pylist()
    submissions = panel.submission_ids
    for row, volunteer_id in zip(rows.tolist(), volunteer_ids, strict=True):
        overall = int(match.overall[row])
        ruled_out = [
            *(c.id for c in study.inclusion if match.outcomes[c.id][row] == outcomes.NOT_MET),
            *(c.id for c in study.exclusion if match.outcomes[c.id][row] == outcomes.MET),
        ]
        found[volunteer_id] = FreshFit(
            fit=_FIT.get(overall, Fit.NOT_MET),
            submission_id=str(submissions[row]),
            unknowns=frozenset(c for c, flags in match.screening.items() if flags[row]),
            ruled_out_by=tuple(ruled_out),
        )
    return found
