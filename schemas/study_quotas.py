"""A study's quotas: how its participants should spread over sex, age bands and regions.

A quota bounds how many of the participants counting toward the study's target (enrolled,
or referred and still open) are of one group::

    quotas:
      - {by: sex, value: female, at_least: 0.4}   # at least 40 % of the target are women
      - {by: region, at_most: 30}                 # at most 30 from each region
      - {by: age, value: 65+, at_most: 0.5}       # at most half aged 65 or more

``by`` is ``sex``, ``region`` or ``age``; ``value`` one of the field's values (sex, region) or
an age band (``40-64``, inclusive, or ``65+``). Without ``value`` the quota holds for each
value of ``sex`` or ``region`` apart. A bound below 1 is a share of the recruitment target, a
whole number a count of people. The waves (``outreach.waves``) fill the quotas: a group at
its ``at_most`` gets no more invitations, and a group short of its ``at_least`` comes first.

What no recruitment can satisfy is an error of the study (``impossible_quotas``): more people
asked for at least than the target holds, a group's at least above its at most, every sex
capped below the target.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.study_fields import FIELDS


class QuotaBy(StrEnum):
    """The profile facts a quota may group by: the candidate's, as of the match."""

    SEX = "sex"
    AGE = "age"
    REGION = "region"


_BAND = re.compile(r"^(?P<low>\d{1,3})(?:-(?P<high>\d{1,3})|(?P<open>\+))$")


@dataclass(frozen=True)
class QuotaGroup:
    """One group a quota counts: a sex, a region, or an age band (inclusive; open above)."""

    by: QuotaBy
    value: str

    @property
    def band(self) -> tuple[int, int | None]:
        """An age group's band: lowest age, highest age (None: no upper end)."""
        parts = _BAND.match(self.value)
        assert parts is not None and self.by is QuotaBy.AGE
        return int(parts["low"]), None if parts["open"] else int(parts["high"])

    def holds(self, sex: str | None, age: int | None, region: str | None) -> bool:
        """Whether a volunteer with these facts is of the group (an unknown fact: not)."""
        if self.by is QuotaBy.SEX:
            return sex == self.value
        if self.by is QuotaBy.REGION:
            return region == self.value
        low, high = self.band
        return age is not None and low <= age and (high is None or age <= high)

    def overlaps(self, other: QuotaGroup) -> bool:
        """Whether someone can be of both groups (different facts: always possible)."""
        if self.by is not other.by:
            return True
        if self.by is not QuotaBy.AGE:
            return self.value == other.value
        (low, high), (other_low, other_high) = self.band, other.band
        return (high is None or other_low <= high) and (other_high is None or low <= other_high)

    def __str__(self) -> str:
        return f"{self.by.value} {self.value}"


def _is_whole(number: float) -> bool:
    return float(number).is_integer()


class Quota(BaseModel):
    """At least and/or at most so many participants of a group (``value``), or of each
    value of a sex or region quota without one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: QuotaBy = Field(description="What the quota groups by: sex, age or region.")
    value: str | None = Field(
        None,
        description="The group: a value of sex or region, or an age band (40-64, 65+). "
        "Without it (sex, region), the quota holds for each value apart.",
    )
    at_least: float | None = Field(
        None,
        gt=0,
        description="At least this many participants of the group: a share of the target "
        "below 1 (0.4), or a whole number of people.",
    )
    at_most: float | None = Field(
        None,
        gt=0,
        description="At most this many participants of the group: a share of the target "
        "below 1, or a whole number of people.",
    )

    @model_validator(mode="after")
    def _a_group_and_a_bound(self) -> Self:
        if self.at_least is None and self.at_most is None:
            raise PydanticCustomError("quota", "a quota needs at_least, at_most or both")
        for name, bound in (("at_least", self.at_least), ("at_most", self.at_most)):
            if bound is not None and bound >= 1 and not _is_whole(bound):
                raise PydanticCustomError(
                    "quota",
                    "{name}: {bound} is neither a share below 1 (0.4) nor a whole number of people",
                    {"name": name, "bound": f"{bound:g}"},
                )
        self._check_value()
        return self

    def _check_value(self) -> None:
        if self.by is QuotaBy.AGE:
            parts = _BAND.match(self.value or "")
            if parts is None:
                raise PydanticCustomError(
                    "quota",
                    "an age quota names its band: value: 40-64 (inclusive) or value: 65+",
                )
            field = FIELDS["age"]
            low, high = int(parts["low"]), parts["high"]
            if (high is not None and low > int(high)) or low > (field.high or low):
                raise PydanticCustomError(
                    "quota", "'{value}' is not an age band of volunteers", {"value": self.value}
                )
            return
        choices = FIELDS[self.by.value].choices
        if self.value is not None and self.value not in choices:
            close = difflib.get_close_matches(self.value, choices, n=1, cutoff=0.5)
            raise PydanticCustomError(
                "quota",
                "'{value}' is not a value of '{by}' ({choices}){hint}",
                {
                    "value": self.value,
                    "by": self.by.value,
                    "choices": ", ".join(choices),
                    "hint": f", did you mean '{close[0]}'?" if close else "",
                },
            )

    def groups(self) -> list[QuotaGroup]:
        """The groups the quota bounds: its value's, or each value of its field."""
        if self.value is not None:
            return [QuotaGroup(self.by, self.value)]
        return [QuotaGroup(self.by, choice) for choice in FIELDS[self.by.value].choices]

    def least(self, target: int) -> int | None:
        """``at_least`` in people for a study of ``target`` (a share rounds up)."""
        if self.at_least is None:
            return None
        if self.at_least < 1:
            return math.ceil(round(self.at_least * target, 9))
        return int(self.at_least)

    def most(self, target: int) -> int | None:
        """``at_most`` in people for a study of ``target`` (a share rounds down)."""
        if self.at_most is None:
            return None
        if self.at_most < 1:
            return math.floor(round(self.at_most * target, 9))
        return int(self.at_most)


@dataclass(frozen=True)
class GroupBounds:
    """What a study's quotas say of one group, in people: the tightest of each bound."""

    group: QuotaGroup
    at_least: int | None
    at_most: int | None


def group_bounds(quotas: Sequence[Quota], target: int) -> list[GroupBounds]:
    """Every group a study's quotas bound, in the order written, with its bounds in people."""
    least: dict[QuotaGroup, int] = {}
    most: dict[QuotaGroup, int] = {}
    for quota in quotas:
        for group in quota.groups():
            low, high = quota.least(target), quota.most(target)
            if low is not None:
                least[group] = max(low, least.get(group, 0))
            if high is not None:
                most[group] = min(high, most.get(group, high))
    order = list(dict.fromkeys([*least, *most]))
    order.sort(key=lambda g: next(i for i, q in enumerate(quotas) if g in q.groups()))
    return [GroupBounds(g, least.get(g), most.get(g)) for g in order]


def impossible_quotas(quotas: Sequence[Quota], target: int) -> list[str]:
    """What no recruitment of ``target`` participants can satisfy, said plainly."""
    found = []
    bounds = group_bounds(quotas, target)
    for each in bounds:
        if each.at_least is not None and each.at_least > target:
            found.append(
                f"{each.group}: at least {each.at_least} of a target of {target} participants"
            )
        if each.at_most == 0:
            found.append(
                f"{each.group}: at most {_share_or(each, quotas)}rounds to nobody; to leave a "
                "group out, write a criterion"
            )
        if each.at_least is not None and each.at_most is not None and each.at_least > each.at_most:
            found.append(
                f"{each.group}: at least {each.at_least} but at most {each.at_most} people"
            )
    for by in QuotaBy:
        # Groups that cannot overlap (two sexes, two regions, disjoint age bands) add up.
        floors = [b for b in bounds if b.group.by is by and b.at_least]
        disjoint = all(
            not a.group.overlaps(b.group) for i, a in enumerate(floors) for b in floors[i + 1 :]
        )
        wanted = sum(b.at_least or 0 for b in floors)
        if len(floors) > 1 and disjoint and wanted > target:
            found.append(
                f"{by.value}: at least {wanted} people together "
                f"({', '.join(str(b.group.value) for b in floors)}), more than the target of "
                f"{target}"
            )
    sexes = {b.group.value: b.at_most for b in bounds if b.group.by is QuotaBy.SEX}
    caps = [sexes.get(choice) for choice in FIELDS["sex"].choices]
    if all(cap is not None for cap in caps) and sum(c or 0 for c in caps) < target:
        found.append(
            f"sex: every value is capped, at most {sum(c or 0 for c in caps)} people together, "
            f"fewer than the target of {target}"
        )
    return found


def _share_or(bounds: GroupBounds, quotas: Sequence[Quota]) -> str:
    share = next(
        (q.at_most for q in quotas if bounds.group in q.groups() and q.at_most is not None), None
    )
    return f"{share:g} of the target " if share is not None and share < 1 else ""
