"""The attrition funnel, as researchers know it from cohort tools: volunteers remaining after
each criterion in the order written (inclusion first, then exclusion), the number lost at each
step, the number lost to that criterion alone, and how many reached the step unknown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from matching import outcomes
from matching.engine import StudyMatch


@dataclass(frozen=True)
class FunnelStep:
    criterion_id: str
    label: str
    kind: Literal["inclusion", "exclusion"]
    #: Still in after this step: nothing so far rules them out (met, or unknown).
    remaining: int
    lost: int
    #: Ruled out by this criterion and by no other.
    lost_only_here: int
    #: Of those reaching this step, how many it is unknown for.
    unknown: int


@dataclass(frozen=True)
class Funnel:
    study_id: str
    study_version: str
    #: Volunteers evaluated: those with current consent, not withdrawn, not erased.
    start: int
    steps: list[FunnelStep]
    eligible: int
    needs_screening: int


def attrition_funnel(match: StudyMatch) -> Funnel:
    study = match.study
    top = [(c, "inclusion") for c in study.inclusion] + [(c, "exclusion") for c in study.exclusion]
    passing = [
        match.outcomes[c.id] != (outcomes.NOT_MET if kind == "inclusion" else outcomes.MET)
        for c, kind in top
    ]
    failures = np.sum([~p for p in passing], axis=0) if passing else np.zeros(match.panel.size)
    reached = np.ones(match.panel.size, dtype=bool)
    steps = []
    for (criterion, kind), passes in zip(top, passing, strict=True):
        unknown = int(
            np.count_nonzero(reached & (match.outcomes[criterion.id] == outcomes.UNKNOWN))
        )
        still_in = reached & passes
        steps.append(
            FunnelStep(
                criterion_id=criterion.id,
                label=criterion.label,
                kind=kind,  # type: ignore[arg-type]
                remaining=int(np.count_nonzero(still_in)),
                lost=int(np.count_nonzero(reached & ~passes)),
                lost_only_here=int(np.count_nonzero(~passes & (failures == 1))),
                unknown=unknown,
            )
        )
        reached = still_in
    return Funnel(
        study_id=study.id,
        study_version=study.version,
        start=match.panel.size,
        steps=steps,
        eligible=int(np.count_nonzero(match.overall == outcomes.MET)),
        needs_screening=int(np.count_nonzero(match.overall == outcomes.UNKNOWN)),
    )


def combined(parts: list[Funnel]) -> Funnel:
    """The funnel of a panel matched in parts (partitions of volunteers): every count is a
    count of volunteers, so the parts' counts add up to the whole panel's, exactly."""
    first = parts[0]
    if any((p.study_id, p.study_version) != (first.study_id, first.study_version) for p in parts):
        # A bug of the caller (Python's contract for a bad argument), not a domain error.
        raise ValueError("funnels of different studies or versions do not combine")
    return Funnel(
        study_id=first.study_id,
        study_version=first.study_version,
        start=sum(p.start for p in parts),
        steps=[
            FunnelStep(
                criterion_id=step.criterion_id,
                label=step.label,
                kind=step.kind,
                remaining=sum(p.steps[i].remaining for p in parts),
                lost=sum(p.steps[i].lost for p in parts),
                lost_only_here=sum(p.steps[i].lost_only_here for p in parts),
                unknown=sum(p.steps[i].unknown for p in parts),
            )
            for i, step in enumerate(first.steps)
        ],
        eligible=sum(p.eligible for p in parts),
        needs_screening=sum(p.needs_screening for p in parts),
    )
