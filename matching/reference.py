"""A small, obviously correct evaluator: one volunteer at a time, in plain Python, following
the language's definition word for word. Tests hold the vectorised engine to it, and the
benchmark uses it as the per-row baseline. Not for production: it is slow on purpose."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from matching.regions import region_of
from matching.three_valued import ThreeValued
from schemas.signup import age_on
from schemas.study import CodeCriterion, CriterionBase, FieldComparison, StudyDefinition, children
from schemas.study_checks import covers
from schemas.study_fields import FIELDS

#: True: met; False: not met; None: unknown.
Truth = bool | None
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def evaluate(
    study: StudyDefinition, profile: Mapping[str, Any], as_of: date
) -> tuple[dict[str, Truth], Truth, list[str]]:
    """Every criterion's outcome for one volunteer, the study's overall outcome, and the
    criteria to screen: the unknown leaves under unknown criteria, when the outcome is unknown."""
    outcome_of = _Criterion(profile, as_of)
    found = outcome_of.found
    inclusion = [outcome_of(c) for c in study.inclusion]
    exclusion = [outcome_of(c) for c in study.exclusion]
    overall = _Logic.all_of([*inclusion, *(_Logic.negation(outcome) for outcome in exclusion)])
    to_screen: list[str] = []
    if overall is None:
        met_to_screen = {c for c, before in outcome_of.before_screen.items() if before is True}
        for criterion in [*study.inclusion, *study.exclusion]:
            _unknown_leaves(criterion, found, met_to_screen, to_screen)
    return found, overall, to_screen


def _unknown_leaves(
    criterion: CriterionBase, found: dict[str, Truth], met_to_screen: set[str], into: list[str]
) -> None:
    """The unknown leaves under an unknown criterion; an ``if_met: screen`` criterion that is
    met is itself the question to ask."""
    if found[criterion.id] is not None:
        return
    below = children(criterion)
    if not below or criterion.id in met_to_screen:
        into.append(criterion.id)
        return
    for child in below:
        _unknown_leaves(child, found, met_to_screen, into)


class _Criterion(ThreeValued[Truth]):
    """Each criterion's outcome for one volunteer."""

    def __init__(self, profile: Mapping[str, Any], as_of: date) -> None:
        super().__init__(_Logic())
        self.profile = profile
        self.as_of = as_of

    def on_field(self, criterion: FieldComparison) -> Truth:
        return _compare(criterion, field_value(criterion.field, self.profile, self.as_of))

    def on_codes(self, criterion: CodeCriterion) -> Truth:
        if criterion.window is None:
            return _codes(criterion, self.profile[criterion.system])
        return _codes_within(criterion, self.profile["history"], self.as_of)


class _Logic:
    """Kleene's three-valued logic on True (met), False (not met) and None (unknown)."""

    @staticmethod
    def all_of(parts: list[Truth]) -> Truth:
        if False in parts:
            return False
        return None if None in parts else True

    @staticmethod
    def any_of(parts: list[Truth]) -> Truth:
        if True in parts:
            return True
        return None if None in parts else False

    @staticmethod
    def negation(part: Truth) -> Truth:
        return None if part is None else not part

    @staticmethod
    def at_least(count: int, parts: list[Truth]) -> Truth:
        met, unknown = parts.count(True), parts.count(None)
        if met >= count:
            return True
        return False if met + unknown < count else None

    @staticmethod
    def resolve_unknown(outcome: Truth, policy: str) -> Truth:
        return outcome if outcome is not None or policy == "unknown" else policy == "met"

    @staticmethod
    def met_as_unknown(outcome: Truth) -> Truth:
        return None if outcome is True else outcome


def _compare(comparison: FieldComparison, value: Any) -> Truth:
    if value is None:
        return None
    if comparison.equals is not None:
        return bool(value == comparison.equals)
    if comparison.one_of is not None:
        return value in comparison.one_of
    low, high = comparison.at_least, comparison.at_most
    return (low is None or value >= low) and (high is None or value <= high)


def _codes(criterion: CodeCriterion, cell: str | None) -> Truth:
    if cell is None:
        return None  # not answered
    codes = criterion.codes
    return any(
        any(covers(p, code) for p in codes.any_of)
        and not any(covers(e, code) for e in codes.except_)
        for code in cell.split("|")
        if code
    )


def _codes_within(
    criterion: CodeCriterion, history: Sequence[Mapping[str, Any]], as_of: date
) -> Truth:
    """Over the versions in effect during the window (``matching.history``'s definition):
    met when one reports a code of the set, not met when all answered and none does."""
    window = criterion.window
    assert window is not None
    start = window.start(as_of)
    dated = sorted(
        ((_local_day(version["submitted_at"]), version) for version in history),
        key=lambda pair: pair[1]["submitted_at"],
    )
    up_to = [(day, version) for day, version in dated if day <= as_of]
    if start is None:
        in_effect = [version for _, version in up_to]
    else:
        before = [version for day, version in up_to if day < start]
        in_effect = before[-1:] + [version for day, version in up_to if day >= start]
    found = [_codes(criterion, version[criterion.system]) for version in in_effect]
    if True in found:
        return True
    return False if found and None not in found else None


def _local_day(moment: datetime) -> date:
    return moment.astimezone(COPENHAGEN).date()


def field_value(name: str, profile: Mapping[str, Any], as_of: date) -> Any:
    """A field's value for one volunteer, or None when it is not known."""
    if name == "age":
        return age_on(profile["birth_date"], as_of)
    if name == "bmi":
        height, weight = profile["height_cm"], profile["weight_kg"]
        if height is None or weight is None:
            return None
        metres = height / 100
        return weight / (metres * metres)
    if name == "region":
        region = region_of(int(profile["postcode"]))
        return None if region is None else region.value
    if name == "months_since_update":
        day = _local_day(profile["submitted_at"])
        return (as_of.year - day.year) * 12 + as_of.month - day.month - (day.day > as_of.day)
    if name == "postcode":
        return int(profile["postcode"])
    asked_of = FIELDS[name].asked_of if name in FIELDS else ()
    if asked_of and profile["sex"] not in asked_of:
        return dict(FIELDS[name].not_asked_means).get(profile["sex"])  # not asked
    if name == "pregnant":
        return {"yes": True, "no": False}.get(profile["pregnant"])
    return profile[name]
