"""A criterion tree evaluated in three-valued (Kleene) logic, whatever carries the outcomes.

The engine's outcomes are numpy arrays (``matching.outcomes``), the reference's are ``True``,
``False`` and ``None``, the DuckDB benchmark's are SQL expressions. What a tree does is the same
for all of them: evaluate the parts, combine them (``all``, ``any``, ``not``, ``at_least``), then
apply the criterion's ``if_unknown`` and ``if_met``. It is written here once; an evaluator is a
``ThreeValued`` with its ``Logic`` and its two leaves (``on_field``, ``on_codes``), and reaches
every kind of criterion through ``schemas.study.dispatch``.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from schemas.study import (
    AllOf,
    AnyOf,
    AtLeastOf,
    CriterionBase,
    CriterionVisitor,
    IfMet,
    NotCriterion,
    dispatch,
)

T = TypeVar("T")


class Logic(Protocol[T]):
    """How outcomes combine (``matching.outcomes`` is one, as a module)."""

    def all_of(self, parts: list[T], /) -> T: ...

    def any_of(self, parts: list[T], /) -> T: ...

    def negation(self, part: T, /) -> T: ...

    def at_least(self, count: int, parts: list[T], /) -> T:
        """Met when ``count`` parts are met; not met when even every unknown part met would
        not reach it; unknown otherwise."""

    def resolve_unknown(self, outcome: T, policy: str, /) -> T:
        """``if_unknown``: an unknown outcome counted as ``met`` or ``not_met``, or kept."""

    def met_as_unknown(self, outcome: T, /) -> T:
        """``if_met: screen``: a met outcome counted as unknown (to ask, not to decide)."""


class ThreeValued(CriterionVisitor[T]):
    """Calling it evaluates a criterion and everything under it, keeping each outcome in
    ``found`` by criterion id (the parts before the whole), and in ``before_screen`` the
    outcome of each ``if_met: screen`` criterion before its met was counted as unknown."""

    def __init__(self, logic: Logic[T]) -> None:
        self.logic = logic
        self.found: dict[str, T] = {}
        self.before_screen: dict[str, T] = {}

    def __call__(self, criterion: CriterionBase) -> T:
        outcome = self.logic.resolve_unknown(dispatch(criterion, self), criterion.if_unknown.value)
        if criterion.if_met is IfMet.SCREEN:
            self.before_screen[criterion.id] = outcome
            outcome = self.logic.met_as_unknown(outcome)
        self.found[criterion.id] = outcome
        return outcome

    def on_all(self, criterion: AllOf) -> T:
        return self.logic.all_of([self(part) for part in criterion.all])

    def on_any(self, criterion: AnyOf) -> T:
        return self.logic.any_of([self(part) for part in criterion.any])

    def on_not(self, criterion: NotCriterion) -> T:
        return self.logic.negation(self(criterion.not_))

    def on_at_least_of(self, criterion: AtLeastOf) -> T:
        return self.logic.at_least(criterion.at_least, [self(part) for part in criterion.of])
