"""The matching engine: a study definition over a prepared panel, vectorised, no I/O.

Every criterion is evaluated for every volunteer at once, in three-valued logic (met, not met,
unknown). A volunteer is eligible when the inclusion criteria are all met and no exclusion
criterion is; needs screening when that is unknown; and is not a candidate otherwise. For those
who need screening, ``screening`` says exactly which criteria (the most specific ones) are
unknown and decide the outcome: the questions a coordinator would ask.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from matching import outcomes
from matching.panel import PreparedPanel
from matching.three_valued import ThreeValued
from schemas.study import CodeCriterion, CriterionBase, FieldComparison, StudyDefinition, children

ELIGIBLE, NEEDS_SCREENING = "eligible", "needs_screening"


@dataclass
class StudyMatch:
    study: StudyDefinition
    panel: PreparedPanel
    #: Outcome of every criterion (nested ones too) for every volunteer, by criterion id.
    outcomes: dict[str, np.ndarray]
    #: Inclusion all met and no exclusion met, for every volunteer.
    overall: np.ndarray
    #: Per criterion id: volunteers for whom this criterion is unknown and decides the outcome.
    screening: dict[str, np.ndarray]
    #: Per ``if_met: screen`` criterion id: volunteers who meet it, so it counts as unknown.
    met_to_screen: dict[str, np.ndarray]

    @property
    def candidates(self) -> np.ndarray:
        """Row positions of the eligible and the needs-screening volunteers."""
        return np.flatnonzero(self.overall != outcomes.NOT_MET)

    def status(self, rows: np.ndarray) -> np.ndarray:
        return np.where(self.overall[rows] == outcomes.MET, ELIGIBLE, NEEDS_SCREENING)


def looks_back(studies: Iterable[StudyDefinition]) -> bool:
    """Whether any of ``studies`` has a criterion with a window: matching it needs every
    profile version (``prepare_panel``'s ``versions``), not only the current profiles."""
    return any(
        isinstance(criterion, CodeCriterion) and criterion.window is not None
        for study in studies
        for criterion in study.criteria()
    )


def match_study(study: StudyDefinition, panel: PreparedPanel) -> StudyMatch:
    """Evaluate ``study`` for every volunteer of ``panel``."""
    evaluate = _Evaluate(panel)
    found = evaluate.found
    inclusion = [evaluate(criterion) for criterion in study.inclusion]
    exclusion = [evaluate(criterion) for criterion in study.exclusion]
    parts = [*inclusion, *(outcomes.negation(part) for part in exclusion)]
    overall = outcomes.all_of(parts)
    met_to_screen = {
        criterion_id: before == outcomes.MET
        for criterion_id, before in evaluate.before_screen.items()
    }
    screening: dict[str, np.ndarray] = {}
    undecided = overall == outcomes.UNKNOWN
    for criterion in [*study.inclusion, *study.exclusion]:
        _mark_screening(criterion, undecided, found, met_to_screen, screening)
    return StudyMatch(study, panel, found, overall, screening, met_to_screen)


class _Evaluate(ThreeValued[np.ndarray]):
    """Each criterion's outcome for every volunteer (``matching.outcomes``)."""

    def __init__(self, panel: PreparedPanel) -> None:
        super().__init__(outcomes)
        self.panel = panel

    def on_field(self, criterion: FieldComparison) -> np.ndarray:
        return _compare(criterion, self.panel)

    def on_codes(self, criterion: CodeCriterion) -> np.ndarray:
        if criterion.window is None:
            return _codes(criterion, self.panel)
        if self.panel.history is None:
            # A caller's mistake, not the study's: every caller reads the history when
            # ``looks_back`` says a study needs it.
            raise RuntimeError("a criterion with a window needs the panel's profile history")
        return self.panel.history.outcomes(criterion, self.panel.as_of)


def _compare(comparison: FieldComparison, panel: PreparedPanel) -> np.ndarray:
    column = panel.fields[comparison.field]
    values = column.values
    wanted = [comparison.equals] if comparison.equals is not None else comparison.one_of
    if column.choices and wanted is not None:
        true = np.isin(values, [column.choices.index(str(value)) for value in wanted])
    elif comparison.equals is not None:
        true = values == comparison.equals
    elif comparison.one_of is not None:
        true = np.isin(values, np.array(comparison.one_of, dtype=values.dtype))
    else:
        true = np.ones(panel.size, dtype=bool)
        with np.errstate(invalid="ignore"):
            if comparison.at_least is not None:
                true &= values >= comparison.at_least
            if comparison.at_most is not None:
                true &= values <= comparison.at_most
    return outcomes.from_mask(column.known, true)


def _codes(criterion: CodeCriterion, panel: PreparedPanel) -> np.ndarray:
    index = panel.codes[criterion.system]
    codes = criterion.codes
    reported = index.reporting(tuple(codes.any_of), tuple(codes.except_))
    return outcomes.from_mask(index.answered, reported)


def _mark_screening(
    criterion: CriterionBase,
    relevant: np.ndarray,
    found: dict[str, np.ndarray],
    met_to_screen: dict[str, np.ndarray],
    screening: dict[str, np.ndarray],
) -> None:
    """A criterion needs screening where it is unknown and its parent does. The marks go
    down the tree to the leaves (the questions to ask), except where an ``if_met: screen``
    criterion is met: there it is itself the question."""
    here = relevant & (found[criterion.id] == outcomes.UNKNOWN)
    below = children(criterion)
    if not below:
        screening[criterion.id] = here
        return
    if criterion.id in met_to_screen:
        screening[criterion.id] = here & met_to_screen[criterion.id]
        here = here & ~met_to_screen[criterion.id]
    for child in below:
        _mark_screening(child, here, found, met_to_screen, screening)
