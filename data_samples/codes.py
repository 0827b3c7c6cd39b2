"""Diagnoses and medicines: which sets of conditions volunteers have, and what they take.

Conditions are drawn independently (by sex and age group) in effect, but for speed each
volunteer draws one *set* of up to four conditions from the exact joint distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from data_samples import pools
from data_samples.pools import lookup_table, object_array

_AGE_FACTOR = (0.3, 1.0, 1.8)  # age-related conditions: under 40, 40-59, 60 and over
_AGE_MEAN_FACTOR = 0.27 * 0.3 + 0.37 * 1.0 + 0.36 * 1.8
_MAX_CONDITIONS = 4


def condition_chances(sex: int, group: int) -> tuple[float, ...]:
    """Chance of each of ``pools.CONDITIONS`` for sex 0 Kvinde, 1 Mand, 2 Andet and age group
    0 (under 40), 1 (40-59), 2 (60+)."""
    chances = []
    for condition in pools.CONDITIONS:
        p = condition.prevalence
        if condition.age_related:
            p *= _AGE_FACTOR[group] / _AGE_MEAN_FACTOR
        if sex < 2:
            share = condition.female_share if sex == 0 else 1 - condition.female_share
            p *= share / 0.5
        chances.append(min(p, 0.95))
    return tuple(chances)


@dataclass(frozen=True)
class ConditionSets:
    """Every set of up to four conditions (index = combo) and, per sex x age group, the
    cumulative chance of each set (for ``searchsorted``)."""

    diagnoses: NDArray[np.object_]  # "I10|E11", '' for none
    medicines: NDArray[np.object_]  # ((atc, chance), ...) the conditions may bring
    rls: NDArray[np.bool_]
    obese: NDArray[np.bool_]
    cumulative: NDArray[np.float64]  # shape (9, combos), row = sex * 3 + group

    def draw(self, key: NDArray[np.int64], uniform: NDArray[np.float64]) -> NDArray[np.int64]:
        """One set per volunteer, ``key`` = sex * 3 + age group."""
        combo = np.empty(len(key), dtype=np.int64)
        for k in range(len(self.cumulative)):
            mask = key == k
            combo[mask] = np.searchsorted(self.cumulative[k], uniform[mask], side="right")
        return np.minimum(combo, len(self.diagnoses) - 1)


def _condition_sets() -> ConditionSets:
    indices = range(len(pools.CONDITIONS))
    combos = [c for size in range(_MAX_CONDITIONS + 1) for c in combinations(indices, size)]
    cumulative = np.empty((9, len(combos)))
    for key in range(9):
        chances = condition_chances(key // 3, key % 3)
        p = np.array(
            [np.prod([chances[i] if i in c else 1 - chances[i] for i in indices]) for c in combos]
        )
        cumulative[key] = np.cumsum(p / p.sum())
        cumulative[key, -1] = 1.0
    codes = [[pools.CONDITIONS[i].icd10 for i in c] for c in combos]
    return ConditionSets(
        diagnoses=object_array(["|".join(c) for c in codes]),
        medicines=object_array(
            [tuple(m for i in c for m in pools.CONDITIONS[i].medicines) for c in combos]
        ),
        rls=np.array([pools.RLS_DIAGNOSIS in c for c in codes]),
        obese=np.array(["E66" in c for c in codes]),
        cumulative=cumulative,
    )


def _everyday_medicines() -> NDArray[np.object_]:
    """Each combination of everyday medicines (independent chances) as a 1024-slot table."""
    weighted: list[tuple[list[str], float]] = []
    items = pools.EVERYDAY_MEDICINES
    for size in range(len(items) + 1):
        for chosen in combinations(items, size):
            p = float(np.prod([item[1] if item in chosen else 1 - item[1] for item in items]))
            weighted.append(([atc for atc, _ in chosen], p))
    return object_array(lookup_table(weighted))


CONDITION_SETS = _condition_sets()
EVERYDAY_MEDICINES = _everyday_medicines()


def messy_codes(field: str, style: int) -> str:
    """A code list as a careless hand writes it, valid once normalised: the last code as
    ``g25.8``, `` g25.8 `` or ``G25.8 ``."""
    items = field.split("|")
    code = items[-1]
    items[-1] = (code.lower(), f" {code.lower()} ", f"{code} ")[style % 3]
    return "|".join(items)
