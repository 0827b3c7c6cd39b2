"""Warnings about a valid study definition, or a criterion valid on its own, that cannot mean
what its author wants: empty ranges, criteria no volunteer can meet, codes both included and
excluded; and criteria that can be unknown with no screening question to ask."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.study import (
    AllOf,
    AtLeastOf,
    CodeCriterion,
    CriterionBase,
    FieldComparison,
    IfMet,
    IfUnknown,
    StudyDefinition,
    children,
)
from schemas.study_fields import FIELDS, FieldKind


def contradictions(study: StudyDefinition) -> list[tuple[str, str]]:
    """(criterion id, what is wrong) for every contradiction or dead criterion found."""
    found: list[tuple[str, str]] = []
    for criterion in [*study.inclusion, *study.exclusion]:
        found += criterion_contradictions(criterion)
    return found + included_and_excluded(study.inclusion, study.exclusion)


def criterion_contradictions(criterion: CriterionBase) -> list[tuple[str, str]]:
    """(criterion id, what is wrong) for ``criterion`` and every criterion under it: what one
    criterion says wrong on its own, whatever the rest of its study."""
    return [
        (each.id, message)
        for each in subtree(criterion)
        for message in [*_dead(each), *_unasked(each)]
    ]


def can_be_unknown(criterion: CriterionBase) -> bool:
    """Whether a single test can be unknown for a volunteer (a code list can always be left
    unanswered; a field unless it is always known), before ``if_met``."""
    if criterion.if_unknown is not IfUnknown.UNKNOWN:
        return False
    if isinstance(criterion, FieldComparison):
        return not FIELDS[criterion.field].always_known
    return isinstance(criterion, CodeCriterion)


def _unasked(criterion: CriterionBase) -> list[str]:
    """A criterion a volunteer may be asked about on the answer page without a question for
    it, or a question that is never asked."""
    screened = criterion.if_met is IfMet.SCREEN
    group = bool(children(criterion))
    if criterion.question is not None:
        if group and not screened:
            return ["a group's question is never asked (its parts are asked): move it to them"]
        return []
    later = "a volunteer who says yes cannot be asked it, so the study team must (add question:)"
    if screened:
        return [f"if_met: screen without a question: {later}"]
    if not group and can_be_unknown(criterion):
        return [f"can be unknown and has no question: {later}"]
    return []


def subtree(criterion: CriterionBase) -> list[CriterionBase]:
    """``criterion`` and every criterion under it, in the order they are written."""
    return [criterion, *(each for child in children(criterion) for each in subtree(child))]


def _dead(criterion: CriterionBase) -> list[str]:
    if isinstance(criterion, FieldComparison):
        return _dead_comparison(criterion)
    if isinstance(criterion, AtLeastOf):
        if criterion.at_least > len(criterion.of):
            return [
                f"at least {criterion.at_least} of {len(criterion.of)} criteria can never be met"
            ]
        if criterion.at_least <= 0:
            return [
                f"at least {criterion.at_least} of them is always met: the criterion does nothing"
            ]
    if isinstance(criterion, CodeCriterion):
        codes = criterion.codes
        both = sorted(set(codes.any_of) & set(codes.except_))
        if both:
            return [f"{', '.join(both)} is both included and excepted: no code of it can count"]
        if all(any(covers(excepted, code) for excepted in codes.except_) for code in codes.any_of):
            return ["'except' removes every code the criterion asks for: nobody can meet it"]
    return []


def _dead_comparison(comparison: FieldComparison) -> list[str]:
    field = FIELDS[comparison.field]
    low, high = comparison.at_least, comparison.at_most
    if low is not None and high is not None and low > high:
        return [f"empty range: nothing is at least {low:g} and at most {high:g}"]
    if field.kind is FieldKind.NUMBER and field.low is not None and field.high is not None:
        if low is not None and low > field.high:
            return [f"no volunteer can meet it: {field.name} is at most {field.high:g}"]
        if high is not None and high < field.low:
            return [f"no volunteer can meet it: {field.name} is at least {field.low:g}"]
        values = [comparison.equals] if comparison.equals is not None else comparison.one_of or []
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if numbers and all(not field.low <= v <= field.high for v in numbers):
            return [
                f"no volunteer can meet it: {field.name} runs from {field.low:g} to {field.high:g}"
            ]
    return []


def included_and_excluded(
    inclusion: Sequence[CriterionBase], exclusion: Sequence[CriterionBase]
) -> list[tuple[str, str]]:
    """A code an inclusion criterion requires that an exclusion criterion rules out."""
    required = [c for c in _code_criteria(inclusion) if not c.codes.except_]
    excluded = _code_criteria(exclusion)
    found = []
    for needed in required:
        for ruled_out in excluded:
            if needed.system != ruled_out.system:
                continue
            clash = [
                code
                for code in needed.codes.any_of
                if any(covers(out, code) for out in ruled_out.codes.any_of)
            ]
            if clash and len(clash) == len(needed.codes.any_of):
                found.append(
                    (
                        needed.id,
                        f"requires {', '.join(clash)}, which exclusion '{ruled_out.id}' "
                        "rules out: nobody can be eligible",
                    )
                )
    return found


def _code_criteria(criteria: Sequence[CriterionBase]) -> list[CodeCriterion]:
    """Code criteria that apply as written (not under 'not', 'any' or 'at least')."""
    found = []
    for criterion in criteria:
        if isinstance(criterion, CodeCriterion):
            found.append(criterion)
        elif isinstance(criterion, AllOf):
            found += _code_criteria(children(criterion))
    return found


def covers(pattern: str, code: str) -> bool:
    """Whether a code pattern covers a code or narrower pattern (``N18`` covers ``N18.3``;
    ``D65-D69`` covers ``D68.2``)."""
    if "-" in pattern:
        low, high = pattern.split("-")
        if "-" in code:
            code_low, code_high = code.split("-")
            return covers(pattern, code_low) and covers(pattern, code_high)
        return len(code) >= len(low) and low <= code[: len(low)] <= high
    if "-" in code:
        code_low, code_high = code.split("-")
        return code_low.startswith(pattern) and code_high.startswith(pattern)
    return code.startswith(pattern)
