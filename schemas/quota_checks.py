"""Quotas against the study's own criteria: a quota on a group its criteria leave out.

Only criteria that apply as written are read: comparisons on sex, region or age directly in
the inclusion list (all must be met) or the exclusion list (none may be), not those under
``any``, ``not`` or ``at_least``. A group none of whose members can be eligible makes an
``at_least`` impossible (an error: the study could never fill) and an ``at_most`` idle (a
warning).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeGuard

from schemas.study import CriterionBase, FieldComparison, StudyDefinition
from schemas.study_quotas import QuotaBy, QuotaGroup


def quotas_beyond_criteria(study: StudyDefinition) -> list[tuple[int, str, bool]]:
    """(quota index, what is wrong, whether it is an error) for every quota on a group the
    study's criteria leave out."""
    found = []
    for index, quota in enumerate(study.quotas):
        for group in quota.groups() if quota.value is not None else []:
            rule = _ruled_out_by(group, study.inclusion, study.exclusion)
            if rule is None:
                continue
            if quota.at_least is not None:
                found.append(
                    (index, f"{group}: nobody of it can be eligible ({rule}): at least "
                     "can never be met", True)
                )  # fmt: skip
            else:
                found.append(
                    (index, f"{group}: nobody of it can be eligible ({rule}): the quota does "
                     "nothing", False)
                )  # fmt: skip
    return found


def _ruled_out_by(
    group: QuotaGroup, inclusion: Sequence[CriterionBase], exclusion: Sequence[CriterionBase]
) -> str | None:
    """The id of a criterion as written that no member of ``group`` can pass, if any."""
    for criterion in inclusion:
        if _on(criterion, group) and not _some_member_meets(group, criterion):
            return f"inclusion '{criterion.id}'"
    for criterion in exclusion:
        if _on(criterion, group) and _every_member_meets(group, criterion):
            return f"exclusion '{criterion.id}'"
    return None


def _on(criterion: CriterionBase, group: QuotaGroup) -> TypeGuard[FieldComparison]:
    """Whether ``criterion`` compares the fact ``group`` is of."""
    return isinstance(criterion, FieldComparison) and criterion.field == group.by.value


def _values(criterion: FieldComparison) -> list[object]:
    return [criterion.equals] if criterion.equals is not None else list(criterion.one_of or [])


def _some_member_meets(group: QuotaGroup, criterion: FieldComparison) -> bool:
    if group.by is not QuotaBy.AGE:
        return group.value in _values(criterion)
    low, high = group.band
    if criterion.at_least is not None or criterion.at_most is not None:
        above = criterion.at_least if criterion.at_least is not None else float("-inf")
        below = criterion.at_most if criterion.at_most is not None else float("inf")
        return (high is None or above <= high) and low <= below
    return any(
        isinstance(v, int | float) and low <= v and (high is None or v <= high)
        for v in _values(criterion)
    )


def _every_member_meets(group: QuotaGroup, criterion: FieldComparison) -> bool:
    if group.by is not QuotaBy.AGE:
        return group.value in _values(criterion)
    low, high = group.band
    if criterion.at_least is None and criterion.at_most is None:
        return False  # a list of single ages never covers a band
    above = criterion.at_least if criterion.at_least is not None else float("-inf")
    if criterion.at_most is None:
        return above <= low
    return above <= low and high is not None and high <= criterion.at_most
