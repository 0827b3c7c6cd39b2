"""Three-valued (Kleene) outcomes, as small integers so numpy combines them fast.

NOT_MET < UNKNOWN < MET, so that "all" is the minimum, "any" the maximum and "not" the mirror
image: exactly Kleene's strong three-valued logic, vectorised.
"""

from __future__ import annotations

from typing import Final

import numpy as np

NOT_MET: Final = np.int8(0)
UNKNOWN: Final = np.int8(1)
MET: Final = np.int8(2)

NAMES = {int(NOT_MET): "not_met", int(UNKNOWN): "unknown", int(MET): "met"}


def from_mask(known: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Outcomes from "is the answer known" and "is it true" (ignored where unknown)."""
    met = (known & np.asarray(true, dtype=bool)).view(np.int8) * MET
    return met + (~known).view(np.int8)  # UNKNOWN is 1


def all_of(parts: list[np.ndarray]) -> np.ndarray:
    return np.minimum.reduce(parts).astype(np.int8)


def any_of(parts: list[np.ndarray]) -> np.ndarray:
    return np.maximum.reduce(parts).astype(np.int8)


def negation(part: np.ndarray) -> np.ndarray:
    return (MET - part).astype(np.int8)


def at_least(count: int, parts: list[np.ndarray]) -> np.ndarray:
    """Met when at least ``count`` parts are met; not met when even counting every unknown
    part as met would not reach ``count``; unknown otherwise."""
    stacked = np.stack(parts)
    met = (stacked == MET).sum(axis=0)
    possible = met + (stacked == UNKNOWN).sum(axis=0)
    return np.where(met >= count, MET, np.where(possible < count, NOT_MET, UNKNOWN)).astype(np.int8)


def resolve_unknown(outcome: np.ndarray, policy: str) -> np.ndarray:
    """Apply a criterion's ``if_unknown``: count unknown as met or as not met, or keep it."""
    if policy == "met":
        return np.where(outcome == UNKNOWN, MET, outcome).astype(np.int8)
    if policy == "not_met":
        return np.where(outcome == UNKNOWN, NOT_MET, outcome).astype(np.int8)
    return outcome


def met_as_unknown(outcome: np.ndarray) -> np.ndarray:
    """Apply ``if_met: screen``: count met as unknown, so the study team asks."""
    return np.where(outcome == MET, UNKNOWN, outcome).astype(np.int8)
