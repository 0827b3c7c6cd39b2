"""How one candidate's criteria read on their page: inclusion and exclusion apart, each a
tree as the study file nests it, every criterion read for its side; and, per question to ask
when screening, which answer lets the candidate take part and which excludes them.

A criterion's side (its polarity) is whether meeting it counts for the candidate (an
inclusion criterion) or against (an exclusion criterion); ``not`` swaps the side of what is
under it. So an exclusion that is not met "does not apply" (neutral), never a red "not met".

What an answer does is worked out on this candidate's own outcomes: the asked criterion is
set to met or not met, everything else stays as matched, and the top criterion above it is
combined again with the matching engine's three-valued logic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

import numpy as np

from matching import outcomes as three_valued
from matching.three_valued import ThreeValued
from review.criterion_words import answer_words
from schemas.study import (
    AllOf,
    AnyOf,
    AtLeastOf,
    CodeCriterion,
    CriterionBase,
    CriterionVisitor,
    FieldComparison,
    IfMet,
    NotCriterion,
    StudyDefinition,
    children,
    dispatch,
)

MET, NOT_MET, UNKNOWN = "met", "not_met", "unknown"
#: Where a criterion's outcome leaves the candidate, on its side.
Stance = Literal["for", "against", "open"]
#: The colour a reading is shown in (its words carry the same meaning).
Tone = Literal["good", "bad", "open", "neutral"]
#: What an answer does for the candidate.
Effect = Literal["includes", "excludes", "open"]

_WORDS: dict[tuple[bool, Stance], str] = {
    (False, "for"): "met",
    (False, "against"): "not met",
    (False, "open"): "unknown",
    (True, "for"): "does not apply",
    (True, "against"): "applies",
    (True, "open"): "unknown",
}


@dataclass(frozen=True)
class Reading:
    """How an outcome reads for this candidate: "met", "does not apply", "applies: excludes".
    ``aside`` says when the outcome does not decide what is above it."""

    words: str
    stance: Stance
    tone: Tone
    aside: str = ""


@dataclass(frozen=True)
class CriterionNode:
    id: str
    label: str
    #: "all of", "any of", "at least 2 of", "not"; "" for a single test.
    kind: str
    outcome: str
    evidence: str
    #: Meeting it counts against the candidate (an exclusion, or under one ``not``).
    excludes: bool
    reading: Reading
    parts: tuple[CriterionNode, ...] = ()


@dataclass(frozen=True)
class Answer:
    answer: str
    #: This answer meets the criterion asked about.
    meets: bool
    effect: Effect
    says: str


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    #: What the question is about: a profile field or a code system ("" when not known).
    asks: str
    answers: tuple[Answer, ...]


@dataclass(frozen=True)
class CriteriaView:
    inclusion: tuple[CriterionNode, ...]
    exclusion: tuple[CriterionNode, ...]
    #: Without the study definition: the stored outcomes as a flat list, by id.
    unsorted: tuple[CriterionNode, ...]
    questions: tuple[Question, ...]


def build(
    definition: StudyDefinition | None, explanation: Mapping[str, Sequence[str]], unknown: list[str]
) -> CriteriaView:
    outcomes = {ident: str(said[0]) for ident, said in explanation.items()}
    if definition is None:
        return CriteriaView((), (), _flat(explanation), tuple(_bare(i) for i in unknown))
    inclusion = tuple(_node(c, explanation, False, None) for c in definition.inclusion)
    exclusion = tuple(_node(c, explanation, True, None) for c in definition.exclusion)
    tops = [(c, False) for c in definition.inclusion] + [(c, True) for c in definition.exclusion]
    return CriteriaView(
        inclusion, exclusion, (), tuple(_question(i, tops, outcomes) for i in unknown)
    )


# --- the trees -----------------------------------------------------------------------------


def _node(
    criterion: CriterionBase,
    explanation: Mapping[str, Sequence[str]],
    excludes: bool,
    above: Reading | None,
) -> CriterionNode:
    outcome, evidence = _stored(explanation, criterion.id)
    reading = _reading(outcome, excludes, above)
    below = excludes != isinstance(criterion, NotCriterion)
    parts = tuple(_node(c, explanation, below, reading) for c in children(criterion))
    if parts:
        evidence = _summary(criterion, parts, below)
    return CriterionNode(
        criterion.id, criterion.label, _kind(criterion), outcome, evidence, excludes, reading, parts
    )


def _stored(explanation: Mapping[str, Sequence[str]], ident: str) -> tuple[str, str]:
    said = explanation.get(ident)
    if not said:
        return UNKNOWN, "not in this match"
    return str(said[0]), str(said[1]) if len(said) > 1 else ""


def _stance(outcome: str, excludes: bool) -> Stance:
    if outcome == UNKNOWN:
        return "open"
    return "for" if (outcome == MET) != excludes else "against"


def _reading(outcome: str, excludes: bool, above: Reading | None) -> Reading:
    stance = _stance(outcome, excludes)
    words = _WORDS[excludes, stance]
    if above is None and excludes and stance == "against":
        words = "applies: excludes"
    tone: Tone = {"for": "neutral" if excludes else "good", "against": "bad", "open": "open"}[
        stance
    ]
    # Against or open only matters where what is above is so too: an unmet part of an "any
    # of" that is met by another part is not a failure.
    if (
        above is not None
        and stance != "for"
        and (above.tone == "neutral" or above.stance != stance)
    ):
        return Reading(words, stance, "neutral", "does not decide")
    return Reading(words, stance, tone)


class _TreeWords(CriterionVisitor[tuple[str, str]]):
    """What a tree of criteria is called ("all of") and what it needs ("all needed");
    nothing for a single test."""

    def on_field(self, criterion: FieldComparison) -> tuple[str, str]:
        return "", ""

    def on_codes(self, criterion: CodeCriterion) -> tuple[str, str]:
        return "", ""

    def on_all(self, criterion: AllOf) -> tuple[str, str]:
        return "all of", "all needed"

    def on_any(self, criterion: AnyOf) -> tuple[str, str]:
        return "any of", "one is enough"

    def on_not(self, criterion: NotCriterion) -> tuple[str, str]:
        return "not", ""

    def on_at_least_of(self, criterion: AtLeastOf) -> tuple[str, str]:
        return f"at least {criterion.at_least} of", f"{criterion.at_least} needed"


def _kind(criterion: CriterionBase) -> str:
    return dispatch(criterion, _TreeWords())[0]


def _summary(criterion: CriterionBase, parts: tuple[CriterionNode, ...], excludes: bool) -> str:
    """A tree's evidence in counts (its parts are shown below it, by label)."""
    if isinstance(criterion, NotCriterion):
        words = parts[0].reading.words
        return "the part below " + (words if "appl" in words else f"is {words}")
    met = sum(part.outcome == MET for part in parts)
    unknown = sum(part.outcome == UNKNOWN for part in parts)
    verb = "apply" if excludes else "met"
    needed = dispatch(criterion, _TreeWords())[1]
    return (
        f"{met} of {len(parts)} {verb}"
        + (f", {unknown} unknown" if unknown else "")
        + (f"; {needed}" if needed else "")
    )


def _flat(explanation: Mapping[str, Sequence[str]]) -> tuple[CriterionNode, ...]:
    """Outcomes without their study: which side a criterion is on is not known, so nothing
    is called a failure."""
    nodes = []
    for ident in explanation:
        outcome, evidence = _stored(explanation, ident)
        tone: Tone = "open" if outcome == UNKNOWN else "neutral"
        words = outcome.replace("_", " ")
        nodes.append(
            CriterionNode(ident, ident, "", outcome, evidence, False, Reading(words, "open", tone))
        )
    return tuple(nodes)


# --- the questions -------------------------------------------------------------------------


def _bare(ident: str) -> Question:
    return Question(ident, ident, "", ())


def _question(
    ident: str, tops: Sequence[tuple[CriterionBase, bool]], outcomes: Mapping[str, str]
) -> Question:
    for top, excludes in tops:
        path = _path_to(top, ident)
        if path is None:
            continue
        asked = path[-1]
        # An if_met: screen criterion is asked as its label says ("excluded unless the dose is
        # stable"), not as the answer the form gave ("takes medicine N06AB").
        words = None if asked.if_met is IfMet.SCREEN else answer_words(asked)
        if words is None:  # a whole tree is unknown: its own outcome is what is asked
            choices = [("met", True), ("not met", False)]
            asks = ""
        else:
            choices = [(words.meeting, True)] + ([(words.failing, False)] if words.failing else [])
            asks = words.asks
        answers = tuple(_answer(text, meets, path, excludes, outcomes) for text, meets in choices)
        return Question(ident, asked.label, asks, answers)
    return _bare(ident)


def _path_to(criterion: CriterionBase, ident: str) -> list[CriterionBase] | None:
    if criterion.id == ident:
        return [criterion]
    for child in children(criterion):
        below = _path_to(child, ident)
        if below is not None:
            return [criterion, *below]
    return None


def _answer(
    text: str,
    meets: bool,
    path: list[CriterionBase],
    excludes: bool,
    outcomes: Mapping[str, str],
) -> Answer:
    fixed = {path[-1].id: MET if meets else NOT_MET}
    stance = _stance(_outcome(path[0], outcomes, fixed), excludes)
    if stance == "for":
        return Answer(text, meets, "includes", "can take part")
    if stance == "against":
        return Answer(text, meets, "excludes", "excluded")
    return Answer(text, meets, "open", _contribution(meets, path, excludes, outcomes, fixed))


def _contribution(
    meets: bool,
    path: list[CriterionBase],
    excludes: bool,
    outcomes: Mapping[str, str],
    fixed: dict[str, str],
) -> str:
    """What an answer that decides nothing on its own does: the largest part it settles, or
    else which way it counts for the nearest part above it."""
    side = excludes
    for upper, above in pairwise(path[:-1]):
        side = side != isinstance(upper, NotCriterion)
        outcome = _outcome(above, outcomes, fixed)
        if outcome != UNKNOWN:
            settled = _WORDS[side, _stance(outcome, side)]
            return f"{above.label}: {settled}; the rest depends on other answers"
    screened = _met_to_screen(path, outcomes, fixed)
    if screened is not None:
        return f"{screened.label}: met, which this study asks about when screening"
    parent = next(c for c in reversed(path[:-1]) if not isinstance(c, NotCriterion))
    flips = sum(isinstance(c, NotCriterion) for c in path[path.index(parent) + 1 : -1])
    towards = meets != bool(flips % 2)
    counts = "counts towards" if towards else "does not count towards"
    return f"{counts}: {parent.label}; the rest depends on other answers"


def _met_to_screen(
    path: list[CriterionBase], outcomes: Mapping[str, str], fixed: dict[str, str]
) -> CriterionBase | None:
    """The nearest criterion above the answer that is met but ``if_met: screen``, so that
    the candidate stays to be screened on it (None: there is none)."""
    recombined = _Recombined(outcomes, fixed)
    recombined(path[0])
    for criterion in reversed(path[:-1]):
        before = recombined.before_screen.get(criterion.id)
        if before is not None and int(before[0]) == three_valued.MET:
            return criterion
    return None


def _outcome(criterion: CriterionBase, outcomes: Mapping[str, str], fixed: dict[str, str]) -> str:
    """A criterion's outcome from its parts' (the matching engine's own three-valued logic),
    with ``fixed`` outcomes in place of the matched ones."""
    return three_valued.NAMES[int(_Recombined(outcomes, fixed)(criterion)[0])]


class _Recombined(ThreeValued[np.ndarray]):
    """The stored outcomes of single tests, combined up the tree as the engine combines them
    (its logic and walk, ``matching.three_valued``); a ``fixed`` outcome stands for its
    criterion whatever is below it."""

    def __init__(self, outcomes: Mapping[str, str], fixed: Mapping[str, str]) -> None:
        super().__init__(three_valued)
        self.outcomes, self.fixed = outcomes, fixed

    def __call__(self, criterion: CriterionBase) -> np.ndarray:
        if criterion.id in self.fixed:
            return _as_outcome(self.fixed[criterion.id])
        if not children(criterion):  # stored as matched, its if_unknown applied already
            return dispatch(criterion, self)
        return super().__call__(criterion)

    def on_field(self, criterion: FieldComparison) -> np.ndarray:
        return _as_outcome(self.outcomes.get(criterion.id, UNKNOWN))

    def on_codes(self, criterion: CodeCriterion) -> np.ndarray:
        return _as_outcome(self.outcomes.get(criterion.id, UNKNOWN))


def _as_outcome(name: str) -> np.ndarray:
    return np.array([_BY_NAME[name]], dtype=np.int8)


_BY_NAME = {name: code for code, name in three_valued.NAMES.items()}
