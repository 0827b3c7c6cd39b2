"""A small, obviously correct evaluator: one volunteer at a time, in plain Python, following
the language's definition word for word. Tests hold the vectorised engine to it, and the
benchmark uses it as the per-row baseline. Not for production: it is slow on purpose."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from matching.regions import region_of
from schemas.signup import age_on
from schemas.study import (
    AllOf,
    AnyOf,
    AtLeastOf,
    CodeCriterion,
    CriterionBase,
    FieldComparison,
    NotCriterion,
    StudyDefinition,
    children,
)
from schemas.study_checks import covers

#: True: met; False: not met; None: unknown.
Truth = bool | None
COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def evaluate(
    study: StudyDefinition, profile: Mapping[str, Any], as_of: date
) -> tuple[dict[str, Truth], Truth, list[str]]:
    """Every criterion's outcome for one volunteer, the study's overall outcome, and the
    criteria to screen: the unknown leaves under unknown criteria, when the outcome is unknown."""
    found: dict[str, Truth] = {}
    inclusion = [_criterion(c, profile, as_of, found) for c in study.inclusion]
    exclusion = [_criterion(c, profile, as_of, found) for c in study.exclusion]
    overall = _all([*inclusion, *(_not(outcome) for outcome in exclusion)])
    to_screen: list[str] = []
    if overall is None:
        for criterion in [*study.inclusion, *study.exclusion]:
            _unknown_leaves(criterion, found, to_screen)
    return found, overall, to_screen


def _unknown_leaves(criterion: CriterionBase, found: dict[str, Truth], into: list[str]) -> None:
    if found[criterion.id] is not None:
        return
    below = children(criterion)
    if not below:
        into.append(criterion.id)
    for child in below:
        _unknown_leaves(child, found, into)


def _criterion(
    criterion: CriterionBase, profile: Mapping[str, Any], as_of: date, found: dict[str, Truth]
) -> Truth:
    if isinstance(criterion, FieldComparison):
        outcome = _compare(criterion, field_value(criterion.field, profile, as_of))
    elif isinstance(criterion, CodeCriterion):
        outcome = _codes(criterion, profile[criterion.system])
    elif isinstance(criterion, AllOf):
        outcome = _all([_criterion(c, profile, as_of, found) for c in criterion.all])
    elif isinstance(criterion, AnyOf):
        outcome = _any([_criterion(c, profile, as_of, found) for c in criterion.any])
    elif isinstance(criterion, NotCriterion):
        outcome = _not(_criterion(criterion.not_, profile, as_of, found))
    elif isinstance(criterion, AtLeastOf):
        parts = [_criterion(c, profile, as_of, found) for c in criterion.of]
        met, unknown = parts.count(True), parts.count(None)
        outcome = (
            True
            if met >= criterion.at_least
            else False
            if met + unknown < criterion.at_least
            else None
        )
    else:  # pragma: no cover
        raise TypeError(type(criterion))
    if outcome is None and criterion.if_unknown.value != "unknown":
        outcome = criterion.if_unknown.value == "met"
    found[criterion.id] = outcome
    return outcome


def _all(parts: list[Truth]) -> Truth:
    if False in parts:
        return False
    return None if None in parts else True


def _any(parts: list[Truth]) -> Truth:
    if True in parts:
        return True
    return None if None in parts else False


def _not(part: Truth) -> Truth:
    return None if part is None else not part


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
        submitted: datetime = profile["submitted_at"]
        day = submitted.astimezone(COPENHAGEN).date()
        return (as_of.year - day.year) * 12 + as_of.month - day.month - (day.day > as_of.day)
    if name == "postcode":
        return int(profile["postcode"])
    if name == "pregnant":
        if profile["sex"] is None:
            return None
        if profile["sex"] != "female":
            return False  # only women are asked
        return {"yes": True, "no": False}.get(profile["pregnant"])
    return profile[name]
