"""What a single test (a field comparison or a code list) asks about, and which answers meet
it, in the words a coordinator says on the phone: "Pregnant now", "Yes" / "No",
"18 to 75 years" / "under 18 or over 75 years", "has diagnosis N18 (Chronic kidney disease)
or N19 (Unspecified kidney failure) (or a sub-code)"."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.code_lists import title
from schemas.codes import CodeSystem
from schemas.study import CodeCriterion, CriterionBase, FieldComparison, Scalar
from schemas.study_fields import CODE_SYSTEMS, FIELDS, FieldKind, Region

_REGION_NAMES = {region.value: region.display_name for region in Region}
#: Per code system: how meeting one code reads, and how meeting none reads (one code, many).
_CODE_VERBS = {
    "diagnoses": ("has diagnosis", "does not have it", "has none of them"),
    "medicines": ("takes medicine", "does not take it", "takes none of them"),
}


@dataclass(frozen=True)
class AnswerWords:
    """A test in words: what it asks about, the answer that meets it, and the answer that
    does not ("" when every answer meets it)."""

    asks: str
    meeting: str
    failing: str


def answer_words(criterion: CriterionBase) -> AnswerWords | None:
    """The words of a field comparison or a code criterion; None for a tree of criteria."""
    if isinstance(criterion, FieldComparison):
        return _comparison(criterion)
    if isinstance(criterion, CodeCriterion):
        return _codes(criterion)
    return None


def _comparison(comparison: FieldComparison) -> AnswerWords:
    field = FIELDS[comparison.field]
    asks = _capitalised(field.meaning.split(";")[0])
    if comparison.at_least is not None or comparison.at_most is not None:
        meeting, _ = _bounds(comparison.at_least, comparison.at_most, field.unit)
        # A bound at the end of what the field holds (age at least 18) cannot fail.
        low, high = comparison.at_least, comparison.at_most
        low = None if low is None or (field.low is not None and low <= field.low) else low
        high = None if high is None or (field.high is not None and high >= field.high) else high
        _, failing = _bounds(low, high, field.unit)
        return AnswerWords(asks, meeting, failing)
    wanted: list[Scalar] = (
        [comparison.equals] if comparison.equals is not None else list(comparison.one_of or [])
    )
    if field.kind is FieldKind.YES_NO:
        answers = {True: "Yes", False: "No"}
        meeting_values = [v for v in (True, False) if v in wanted]
        others = [answers[v] for v in (True, False) if v not in wanted]
        return AnswerWords(
            asks, " or ".join(answers[v] for v in meeting_values), " or ".join(others)
        )
    if field.kind is FieldKind.CHOICE:
        return AnswerWords(
            asks, _either(wanted), _either([c for c in field.choices if c not in wanted])
        )
    unit = f" {field.unit}" if field.unit else ""
    if field.low is not None and field.high is not None and field.high - field.low <= 10:
        # A short scale (sleep quality 1 to 5): the other answers, each said.
        rest = [v for v in range(int(field.low), int(field.high) + 1) if v not in wanted]
        failing = _either(list(rest)) + unit if rest else ""
    else:
        failing = "any other number"
    return AnswerWords(asks, _either(wanted) + unit, failing)


def _bounds(low: float | None, high: float | None, unit: str) -> tuple[str, str]:
    after = f" {unit}" if unit else ""
    if low is not None and high is not None:
        return f"{_number(low)} to {_number(high)}{after}", (
            f"under {_number(low)} or over {_number(high)}{after}"
        )
    if low is not None:
        return f"at least {_number(low)}{after}", f"under {_number(low)}{after}"
    if high is not None:
        return f"at most {_number(high)}{after}", f"over {_number(high)}{after}"
    return "any answer", ""


def _codes(criterion: CodeCriterion) -> AnswerWords:
    has, not_it, none_of_them = _CODE_VERBS[criterion.system]
    codes = criterion.codes
    has_none = (
        not_it if len(codes.any_of) == 1 and "-" not in str(codes.any_of[0]) else none_of_them
    )
    listed = " or ".join(_code(code, criterion.system) for code in codes.any_of)
    meeting = f"{has} {listed} (or a sub-code)"
    if codes.except_:
        meeting += ", except " + ", ".join(_code(code, criterion.system) for code in codes.except_)
    if criterion.window is not None:  # reported in any profile version of the window
        meeting, has_none = f"{meeting}, {criterion.window}", f"{has_none}, {criterion.window}"
    asks = f"{_capitalised(criterion.system)} ({CODE_SYSTEMS[criterion.system]})"
    return AnswerWords(asks, meeting, has_none)


def _code(pattern: object, system: str) -> str:
    """``D65–D69`` (a range), with WHO's title for an ICD-10 code: ``G25.8 (Other specified
    extrapyramidal and movement disorders)``. (ATC titles are not shipped: WHO licenses them.)"""
    code = str(pattern)
    words = title(CodeSystem.ICD10 if system == "diagnoses" else CodeSystem.ATC, code)
    shown = code.replace("-", "–")
    return f"{shown} ({words})" if words else shown


def _either(values: list[Scalar]) -> str:
    """ "4 or 5", "1, 2 or 3"."""
    said = [_value(v) for v in values]
    return " or ".join([", ".join(said[:-1]), said[-1]] if len(said) > 1 else said)


def _value(value: Scalar) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number(value)
    return _REGION_NAMES.get(value, value)


def _number(value: float) -> str:
    return f"{value:g}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
