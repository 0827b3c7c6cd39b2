"""A study's outcome once a volunteer has answered screening questions: pure, no I/O.

The engine found every criterion's outcome (``matching.engine.StudyMatch.outcomes``). A
volunteer who says yes on the answer page is asked the questions of the criteria that were
unknown and decided their outcome, and each answer says what it means for its criterion (met,
not met, or still unknown). ``with_answers`` evaluates the study's own tree again, in the same
three-valued logic (``matching.three_valued``, ``matching.outcomes``): an answered criterion
takes the truth its answer means (in place of whatever was found, ``if_unknown`` and
``if_met`` included: the answer is about the criterion as its label says), every other test
keeps the outcome found, and every group is combined afresh from its parts.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from matching import outcomes
from matching.three_valued import ThreeValued
from schemas.study import CodeCriterion, CriterionBase, FieldComparison, StudyDefinition, children

#: What an answer option's ``means`` is as an outcome.
MEANS = {"met": outcomes.MET, "not_met": outcomes.NOT_MET, "unknown": outcomes.UNKNOWN}


def with_answers(
    study: StudyDefinition, found: Mapping[str, np.ndarray], answers: Mapping[str, np.ndarray]
) -> np.ndarray:
    """The study's overall outcome (``matching.outcomes``) for the volunteers of ``found``
    (each criterion's outcome, by id, as the engine found it) when the criteria of
    ``answers`` take those outcomes instead."""
    evaluate = _Answered(found, answers)
    inclusion = [evaluate(criterion) for criterion in study.inclusion]
    exclusion = [evaluate(criterion) for criterion in study.exclusion]
    return outcomes.all_of([*inclusion, *(outcomes.negation(part) for part in exclusion)])


class _Answered(ThreeValued[np.ndarray]):
    """The engine's tree over outcomes already found: an answer replaces its criterion's
    outcome whole; a test keeps the outcome found (already after its ``if_unknown`` and
    ``if_met``, so they are not applied twice); a group is evaluated from its parts."""

    def __init__(self, found: Mapping[str, np.ndarray], answers: Mapping[str, np.ndarray]) -> None:
        super().__init__(outcomes)
        self.given = found
        self.answers = answers

    def __call__(self, criterion: CriterionBase) -> np.ndarray:
        if criterion.id in self.answers:
            outcome = self.answers[criterion.id]
        elif not children(criterion):
            outcome = self.given[criterion.id]
        else:
            return super().__call__(criterion)
        self.found[criterion.id] = outcome
        return outcome

    # Tests never get here: ``__call__`` takes their outcome as found.
    def on_field(self, criterion: FieldComparison) -> np.ndarray:
        return self.given[criterion.id]

    def on_codes(self, criterion: CodeCriterion) -> np.ndarray:
        return self.given[criterion.id]
