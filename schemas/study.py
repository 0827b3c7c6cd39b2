"""The contract for a study definition: who a study needs, in a YAML file researchers write.

A study has inclusion criteria (all must be met) and exclusion criteria (none may be met).
A criterion is one of:

* a **comparison** on a profile field: ``field: age`` with ``at_least`` / ``at_most``
  (inclusive bounds), ``equals``, or ``one_of``;
* a **code criterion**: ``diagnoses`` (ICD-10) or ``medicines`` (ATC), a list of codes where a
  code covers its sub-codes (``N18`` covers ``N18.3``), ``D65-D69`` is a range, and ``except``
  removes sub-codes;
* a **tree**: ``all`` / ``any`` of criteria, ``not`` a criterion, or ``at_least: N`` ``of``
  criteria.

A code criterion may look back: ``within: 3m`` (or ``90d``, ``2y``, ``ever``) reads every
profile version in effect during the window instead of the current profile alone.

Every criterion has an ``id`` and a ``label``; ``if_unknown: met`` or ``not_met`` says how to
count a volunteer whose answer is missing (the default: unknown, they need screening);
``if_met: screen`` counts a met criterion as unknown, so the study team asks about it;
``question:`` is what a volunteer for whom the criterion is unknown is asked, in Danish.
``quotas:`` spread the participants over sex, age bands and regions (``schemas.study_quotas``).
``StudyDefinition.json_schema()`` is published as ``schemas/study-definition.schema.json``.

The six kinds are declared here once (``CRITERION_MODELS``, the ``Criterion`` union), and told
apart in one place: ``dispatch`` calls a ``CriterionVisitor``'s method for the kind. Every
evaluator (``children`` below, the engine, the reference, evidence, the DuckDB benchmark) is a
visitor, so a new kind is a new abstract method that each of them must implement.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from abc import ABC, abstractmethod
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas import code_lists
from schemas.codes import CodeSystem, normalise_code
from schemas.study_fields import FIELDS, FieldKind
from schemas.study_quotas import Quota, impossible_quotas
from schemas.time_window import Window, WindowText


class StudyStatus(StrEnum):
    DRAFT = "draft"
    RECRUITING = "recruiting"
    CLOSED = "closed"


class IfUnknown(StrEnum):
    """How a criterion counts a volunteer whose answer is missing."""

    UNKNOWN = "unknown"
    MET = "met"
    NOT_MET = "not_met"


_T = TypeVar("_T")
_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
CriterionId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Label = Annotated[str, Field(min_length=1, max_length=200)]


class IfMet(StrEnum):
    """How a criterion counts a volunteer who meets it."""

    MET = "met"
    #: As unknown: met is a reason to ask (screen), not to decide.
    SCREEN = "screen"


class AnswerOption(BaseModel):
    """One answer a volunteer may give to a screening question, and what it means for the
    criterion (met, not met, or still unknown: the study team screens it)."""

    model_config = _STRICT

    text: str = Field(min_length=1, max_length=120, description="The answer, in Danish.")
    means: Literal["met", "not_met", "unknown"]


#: The answers a question has unless it lists its own.
YES_NO_DONT_KNOW = (
    AnswerOption(text="Ja", means="met"),
    AnswerOption(text="Nej", means="not_met"),
    AnswerOption(text="Ved ikke", means="unknown"),
)


def _as_question(value: Any) -> Any:
    """``question: Er du gravid?`` is short for ``{text: ..., answers: Ja/Nej/Ved ikke}``."""
    return {"text": value} if isinstance(value, str) else value


class ScreeningQuestion(BaseModel):
    """What a volunteer who said yes is asked when this criterion is unknown for them: in
    Danish, plain words, no codes. Their answer is evaluated with the study's own criteria."""

    model_config = _STRICT

    text: str = Field(min_length=1, max_length=300, description="The question, in Danish.")
    answers: tuple[AnswerOption, ...] = Field(
        YES_NO_DONT_KNOW,
        min_length=2,
        description="The answers offered, each with what it means for the criterion. "
        "Default: Ja (met), Nej (not met), Ved ikke (unknown).",
    )

    @model_validator(mode="after")
    def _answers_that_can_decide(self) -> Self:
        texts = [answer.text for answer in self.answers]
        if len(set(texts)) != len(texts):
            raise PydanticCustomError("question", "a question offers each answer once")
        if not {"met", "not_met"} <= {answer.means for answer in self.answers}:
            raise PydanticCustomError(
                "question",
                "a question needs an answer that means met and one that means not_met, or "
                "no answer can decide the criterion",
            )
        return self


class CriterionBase(BaseModel):
    model_config = _STRICT

    id: CriterionId = Field(description="Short id: lower case, digits, '-' and '_'.")
    label: Label = Field(description="What the criterion means, in words a coordinator reads.")
    if_unknown: IfUnknown = Field(
        IfUnknown.UNKNOWN,
        description="How to count a volunteer whose answer is missing: unknown (needs "
        "screening), met, or not_met.",
    )
    if_met: IfMet = Field(
        IfMet.MET,
        description="How to count a volunteer who meets it: met, or screen (counted as "
        "unknown: the study team asks about it before deciding).",
    )
    question: Annotated[ScreeningQuestion, BeforeValidator(_as_question)] | None = Field(
        None,
        description="The screening question, in Danish, for a volunteer for whom this "
        "criterion is unknown (a text, or {text, answers}).",
    )


# --- comparisons on profile fields ---------------------------------------------------------

FieldName = Literal[tuple(FIELDS)]  # type: ignore[valid-type]
Scalar = bool | int | float | str


class FieldComparison(CriterionBase):
    """A profile field compared with a value, a set of values, or inclusive bounds."""

    field: FieldName = Field(description="A profile field: " + ", ".join(FIELDS) + ".")  # type: ignore[valid-type]
    equals: Scalar | None = None
    one_of: list[Scalar] | None = Field(None, min_length=1)
    at_least: float | None = Field(None, description="Inclusive lower bound.")
    at_most: float | None = Field(None, description="Inclusive upper bound.")

    @model_validator(mode="after")
    def _one_test_that_fits_the_field(self) -> Self:
        tests = [
            name
            for name, value in (
                ("equals", self.equals),
                ("one_of", self.one_of),
                ("at_least/at_most", self.at_least if self.at_least is not None else self.at_most),
            )
            if value is not None
        ]
        if len(tests) != 1:
            raise PydanticCustomError(
                "comparison",
                "a comparison needs exactly one of: equals, one_of, or at_least/at_most "
                "(it has {found})",
                {"found": ", ".join(tests) or "none"},
            )
        _check_values_fit(self)
        return self


def _check_values_fit(comparison: FieldComparison) -> None:
    field = FIELDS[comparison.field]
    values = [comparison.equals] if comparison.equals is not None else comparison.one_of or []
    if comparison.at_least is not None or comparison.at_most is not None:
        if field.kind is not FieldKind.NUMBER:
            raise PydanticCustomError(
                "comparison",
                "'{field}' is {kind}: it has no bounds; use equals or one_of",
                {"field": field.name, "kind": field.kind.value},
            )
        return
    for value in values:
        if field.kind is FieldKind.YES_NO and not isinstance(value, bool):
            raise PydanticCustomError(
                "comparison",
                "'{field}' is yes/no: compare it with true or false",
                {"field": field.name},
            )
        if field.kind is FieldKind.CHOICE and value not in field.choices:
            close = difflib.get_close_matches(str(value), field.choices, n=1, cutoff=0.5)
            raise PydanticCustomError(
                "comparison",
                "'{value}' is not a value of '{field}' ({choices}){hint}",
                {
                    "value": value,
                    "field": field.name,
                    "choices": ", ".join(field.choices),
                    "hint": f", did you mean '{close[0]}'?" if close else "",
                },
            )
        if field.kind is FieldKind.NUMBER and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            raise PydanticCustomError(
                "comparison",
                "'{field}' is a number: '{value}' is not",
                {"field": field.name, "value": value},
            )


# --- code criteria -------------------------------------------------------------------------

_RANGE = re.compile(r"^(?P<low>[^-\s]+)\s*-\s*(?P<high>[^-\s]+)$")


def _code_pattern(system: CodeSystem) -> Any:
    """A code, prefix or range of ``system`` as a study file writes it: well shaped, and in the
    real list (``schemas/code_lists.py``); a WHO block (``D65-D69``) is a range as it stands."""

    def check(value: str) -> str:
        text = normalise_code(value)
        parts = _RANGE.match(text)
        ends = [parts["low"], parts["high"]] if parts else [text]
        for end in ends:
            _refuse(code_lists.shape_problem(system, end))
        if not parts:
            _refuse(code_lists.list_problem(system, text))
            return text
        low, high = ends
        if len(low) != len(high) or low > high:
            raise PydanticCustomError(
                "code",
                "'{range}' is not a range: both ends need the same length, low first",
                {"range": text},
            )
        written = f"{low}-{high}"
        if not (system is CodeSystem.ICD10 and code_lists.is_icd10_block(written)):
            for end in ends:
                problem = code_lists.list_problem(system, end)
                _refuse(problem and f"{written}: {problem}")
        return written

    return Annotated[str, AfterValidator(check)]


def _refuse(problem: str | None) -> None:
    if problem:
        raise PydanticCustomError("code", "{problem}", {"problem": problem})


IcdPattern = _code_pattern(CodeSystem.ICD10)
AtcPattern = _code_pattern(CodeSystem.ATC)


def _as_code_set(value: Any) -> Any:
    """``[N18, N19]`` is short for ``{any_of: [N18, N19]}``."""
    return {"any_of": value} if isinstance(value, list) else value


class DiagnosisCodes(BaseModel):
    model_config = _STRICT

    any_of: list[IcdPattern] = Field(min_length=1, description="ICD-10 codes, prefixes, ranges.")  # type: ignore[valid-type]
    except_: list[IcdPattern] = Field(default_factory=list, alias="except")  # type: ignore[valid-type]


class MedicineCodes(BaseModel):
    model_config = _STRICT

    any_of: list[AtcPattern] = Field(min_length=1, description="ATC codes, prefixes, ranges.")  # type: ignore[valid-type]
    except_: list[AtcPattern] = Field(default_factory=list, alias="except")  # type: ignore[valid-type]


class CodeCriterion(CriterionBase):
    """The volunteer reports a code in the set (answered none: not met; not answered: unknown)."""

    diagnoses: Annotated[DiagnosisCodes, BeforeValidator(_as_code_set)] | None = None
    medicines: Annotated[MedicineCodes, BeforeValidator(_as_code_set)] | None = None
    within: WindowText | None = Field(
        None,
        description="Look back over the profile versions in effect during a window ending on "
        "the match date: 90d, 3m, 2y or ever. Without it, the current profile only.",
    )

    @model_validator(mode="after")
    def _one_system(self) -> Self:
        if (self.diagnoses is None) == (self.medicines is None):
            raise PydanticCustomError(
                "code_system", "a code criterion names exactly one of: diagnoses, medicines"
            )
        return self

    @property
    def system(self) -> str:
        return "diagnoses" if self.diagnoses is not None else "medicines"

    @property
    def window(self) -> Window | None:
        return None if self.within is None else Window.parse(self.within)

    @property
    def codes(self) -> DiagnosisCodes | MedicineCodes:
        codes = self.diagnoses if self.diagnoses is not None else self.medicines
        assert codes is not None
        return codes


# --- trees ---------------------------------------------------------------------------------


class AllOf(CriterionBase):
    all: list[Criterion] = Field(min_length=1)


class AnyOf(CriterionBase):
    any: list[Criterion] = Field(min_length=1)


class NotCriterion(CriterionBase):
    not_: Criterion = Field(alias="not")


class AtLeastOf(CriterionBase):
    at_least: int = Field(description="How many of the criteria must be met.")
    of: list[Criterion] = Field(min_length=1)


#: Which key makes a mapping which kind of criterion.
CRITERION_KEYS = {
    "all": "all",
    "any": "any",
    "not": "not",
    "of": "at_least_of",
    "field": "field",
    "diagnoses": "codes",
    "medicines": "codes",
}


CRITERION_MODELS: dict[str, type[CriterionBase]] = {
    "all": AllOf,
    "any": AnyOf,
    "not": NotCriterion,
    "at_least_of": AtLeastOf,
    "field": FieldComparison,
    "codes": CodeCriterion,
}


def criterion_kind(value: Any) -> str | None:
    """Which kind of criterion a mapping (or model) is, by the key that makes it one."""
    if isinstance(value, BaseModel):
        return next((k for k, model in CRITERION_MODELS.items() if type(value) is model), None)
    if isinstance(value, dict):
        for key, kind in CRITERION_KEYS.items():
            if key in value:
                return kind
    return None


Criterion = Annotated[
    Annotated[AllOf, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[NotCriterion, Tag("not")]
    | Annotated[AtLeastOf, Tag("at_least_of")]
    | Annotated[FieldComparison, Tag("field")]
    | Annotated[CodeCriterion, Tag("codes")],
    Discriminator(
        criterion_kind,
        custom_error_type="criterion_kind",
        custom_error_message="a criterion needs one of: field, diagnoses, medicines, all, any, "
        "not, or at_least with of",
    ),
]


# --- the study -----------------------------------------------------------------------------


class ContactSettings(BaseModel):
    model_config = _STRICT

    organiser: str = Field(min_length=1, description="Who runs the study, as invitations say.")
    reply_to: str = Field(
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Where volunteers reply."
    )
    invitation_budget: float = Field(
        3.0, gt=0, description="At most this many times the recruitment target are invited."
    )
    auto_approve_eligible: bool = Field(
        False, description="Invite eligible candidates without a coordinator's approval."
    )
    approve_needs_screening: bool = Field(
        False,
        description="Coordinators may approve candidates who need screening (they are then "
        "invited although some criteria are unknown, and the study team screens them). "
        "Without it, only eligible candidates can be approved.",
    )
    invitation_title: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        description="The study's name in invitations: neutral, naming no disease or criterion "
        "(the title above is for researchers). Default: 'et forskningsprojekt'.",
    )
    involves: str | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="What taking part involves, in plain Danish, as invitations say it.",
    )


class StudyDefinition(BaseModel):
    """A study: who it needs, and how they may be contacted."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="panelmatch study definition")

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")] = Field(
        description="Stable id of the study: lower case, digits and '-'."
    )
    title: Label
    status: StudyStatus
    recruitment_target: int = Field(gt=0, description="Participants the study needs.")
    contact: ContactSettings
    inclusion: list[Criterion] = Field(min_length=1, description="All must be met.")
    exclusion: list[Criterion] = Field(default_factory=list, description="None may be met.")
    quotas: list[Quota] = Field(
        default_factory=list,
        description="How the participants should spread over sex, age bands and regions "
        "(schemas/study_quotas.py); the waves of invitations fill them.",
    )

    @field_validator("quotas")
    @classmethod
    def _quotas_that_can_be_met(cls, quotas: list[Quota], info: ValidationInfo) -> list[Quota]:
        target = info.data.get("recruitment_target")
        problems = impossible_quotas(quotas, target) if isinstance(target, int) else []
        if problems:
            raise PydanticCustomError(
                "quota", "impossible quotas: {problems}", {"problems": "; ".join(problems)}
            )
        return quotas

    @model_validator(mode="after")
    def _unique_criterion_ids(self) -> Self:
        seen: set[str] = set()
        for criterion in self.criteria():
            if criterion.id in seen:
                raise PydanticCustomError(
                    "duplicate_id", "criterion id '{id}' is used twice", {"id": criterion.id}
                )
            seen.add(criterion.id)
        return self

    def criteria(self) -> list[CriterionBase]:
        """Every criterion, nested ones included, in the order they are written."""
        found: list[CriterionBase] = []

        def walk(criterion: CriterionBase) -> None:
            found.append(criterion)
            for child in children(criterion):
                walk(child)

        for criterion in [*self.inclusion, *self.exclusion]:
            walk(criterion)
        return found

    @property
    def version(self) -> str:
        """A content hash of the definition: the same definition, the same version."""
        dumped = self.model_dump(mode="json", by_alias=True)
        # Fields added later count only once set, so older definitions keep their version.
        for name, default in _ADDED_LATER.items():
            if dumped["contact"][name] == default:
                del dumped["contact"][name]
        if not dumped["quotas"]:
            del dumped["quotas"]
        for criterion in _dumped_criteria(dumped):
            for added, unset in _ADDED_LATER_TO_CRITERIA.items():
                if criterion.get(added, unset) == unset:
                    criterion.pop(added, None)
        canonical = json.dumps(dumped, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        schema = cls.model_json_schema(by_alias=True)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        return schema


_ADDED_LATER = {"invitation_title": None, "involves": None, "approve_needs_screening": False}
_ADDED_LATER_TO_CRITERIA = {"if_met": IfMet.MET.value, "within": None, "question": None}


def _dumped_criteria(dumped: Any) -> list[dict[str, Any]]:
    """Every criterion's mapping in a dumped definition, nested ones included."""
    found: list[dict[str, Any]] = []
    if isinstance(dumped, dict):
        if "id" in dumped and "label" in dumped:
            found.append(dumped)
        for value in dumped.values():
            found += _dumped_criteria(value)
    elif isinstance(dumped, list):
        for item in dumped:
            found += _dumped_criteria(item)
    return found


# --- the one dispatch over the kinds of criterion --------------------------------------------


class CriterionVisitor(ABC, Generic[_T]):
    """What to do with each kind of criterion: one method per kind of ``CRITERION_MODELS``,
    named ``on_<kind>``. Every evaluator (the engine, the reference, evidence, the DuckDB
    benchmark) is one of these and reaches its criteria through ``dispatch``, so a new kind
    is a new abstract method here: an evaluator without it is a mypy error and cannot be
    instantiated (``tests/test_one_declaration.py`` checks every one)."""

    @abstractmethod
    def on_field(self, criterion: FieldComparison) -> _T: ...

    @abstractmethod
    def on_codes(self, criterion: CodeCriterion) -> _T: ...

    @abstractmethod
    def on_all(self, criterion: AllOf) -> _T: ...

    @abstractmethod
    def on_any(self, criterion: AnyOf) -> _T: ...

    @abstractmethod
    def on_not(self, criterion: NotCriterion) -> _T: ...

    @abstractmethod
    def on_at_least_of(self, criterion: AtLeastOf) -> _T: ...


def dispatch(criterion: CriterionBase, visitor: CriterionVisitor[_T]) -> _T:
    """``visitor``'s method for the kind of ``criterion``: the one place kinds are told apart."""
    match criterion:
        case FieldComparison():
            return visitor.on_field(criterion)
        case CodeCriterion():
            return visitor.on_codes(criterion)
        case AllOf():
            return visitor.on_all(criterion)
        case AnyOf():
            return visitor.on_any(criterion)
        case NotCriterion():
            return visitor.on_not(criterion)
        case AtLeastOf():
            return visitor.on_at_least_of(criterion)
    raise TypeError(f"not a kind of criterion: {type(criterion).__name__}")


class _Children(CriterionVisitor[list[CriterionBase]]):
    def on_field(self, criterion: FieldComparison) -> list[CriterionBase]:
        return []

    def on_codes(self, criterion: CodeCriterion) -> list[CriterionBase]:
        return []

    def on_all(self, criterion: AllOf) -> list[CriterionBase]:
        return list(criterion.all)

    def on_any(self, criterion: AnyOf) -> list[CriterionBase]:
        return list(criterion.any)

    def on_not(self, criterion: NotCriterion) -> list[CriterionBase]:
        return [criterion.not_]

    def on_at_least_of(self, criterion: AtLeastOf) -> list[CriterionBase]:
        return list(criterion.of)


_CHILDREN = _Children()


def children(criterion: CriterionBase) -> list[CriterionBase]:
    """The criteria directly under ``criterion`` (none under a field or code criterion)."""
    return dispatch(criterion, _CHILDREN)
