"""Reading a study file: YAML to ``StudyDefinition``, with every problem at once, each at its
``file:line:column`` and with a suggestion where a name looks misspelt."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from schemas.invitation_wording import contact_revealing_words
from schemas.quota_checks import quotas_beyond_criteria
from schemas.study import (
    CRITERION_KEYS,
    CRITERION_MODELS,
    ContactSettings,
    Criterion,
    CriterionBase,
    StudyDefinition,
    criterion_kind,
)
from schemas.study_checks import criterion_contradictions, included_and_excluded, subtree

Severity = Literal["error", "warning"]
#: Names people reach for that mean something else here.
_SYNONYMS = {
    "icd10": "diagnoses",
    "icd-10": "diagnoses",
    "icd": "diagnoses",
    "diagnosis": "diagnoses",
    "atc": "medicines",
    "medication": "medicines",
    "medications": "medicines",
    "drugs": "medicines",
    "medicine": "medicines",
    "min": "at_least",
    "max": "at_most",
    "in": "one_of",
    "except_": "except",
    "exclude": "except",
    "name": "label",
    "description": "label",
}


@dataclass(frozen=True)
class StudyProblem:
    file: Path
    line: int
    column: int
    #: Where in the definition: ``inclusion[1].field``.
    key: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.key}: {self.message}"


@dataclass
class LoadedStudy:
    path: Path
    text: str
    definition: StudyDefinition | None
    problems: list[StudyProblem]

    @property
    def errors(self) -> list[StudyProblem]:
        return [p for p in self.problems if p.severity == "error"]


def load_study(path: Path) -> LoadedStudy:
    """Read and check one study file; ``definition`` is None when it has errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return LoadedStudy(path, "", None, [StudyProblem(path, 1, 1, "(file)", str(error))])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return LoadedStudy(
            path, text, None, [StudyProblem(path, line, column, "(yaml)", str(error.problem))]
        )
    if not isinstance(data, dict) or root is None:
        return LoadedStudy(
            path, text, None, [StudyProblem(path, 1, 1, "(file)", "a study file is a YAML mapping")]
        )
    written = _criteria_written(root)
    problems = _duplicate_keys(path, root) + _duplicate_ids(path, written)
    definition: StudyDefinition | None = None
    try:
        definition = StudyDefinition.model_validate(data)
    except ValidationError as error:
        problems += [
            _problem(path, root, data, detail)
            for detail in error.errors(include_url=False)
            if detail["type"] != "duplicate_id"  # reported from the file, with its place
        ]
    problems += _warnings(path, root, _valid_parts(data, definition), written)
    if definition is not None:
        problems += _quota_problems(path, root, definition)
    if any(p.severity == "error" for p in problems):
        definition = None
    return LoadedStudy(path, text, definition, _unique(problems))


@dataclass(frozen=True)
class _ValidParts:
    """What of a study validates: all of it, or the parts that can be checked on their own."""

    title: str
    #: The top-level criteria that validate, each with where it is (``inclusion[2]``).
    inclusion: list[tuple[str, CriterionBase]]
    exclusion: list[tuple[str, CriterionBase]]
    #: Every criterion of both lists validates.
    whole_lists: bool
    contact: ContactSettings | None


_CRITERION: TypeAdapter[CriterionBase] = TypeAdapter(Criterion)


def _valid_parts(data: dict[str, Any], definition: StudyDefinition | None) -> _ValidParts:
    if definition is not None:
        return _ValidParts(
            definition.title,
            [(f"inclusion[{i}]", c) for i, c in enumerate(definition.inclusion)],
            [(f"exclusion[{i}]", c) for i, c in enumerate(definition.exclusion)],
            True,
            definition.contact,
        )
    inclusion, whole_inclusion = _valid_criteria("inclusion", data.get("inclusion"))
    exclusion, whole_exclusion = _valid_criteria("exclusion", data.get("exclusion", []))
    try:
        contact: ContactSettings | None = ContactSettings.model_validate(data.get("contact"))
    except ValidationError:
        contact = None
    title = data.get("title")
    return _ValidParts(
        title if isinstance(title, str) else "",
        inclusion,
        exclusion,
        whole_inclusion and whole_exclusion,
        contact,
    )


def _valid_criteria(name: str, value: Any) -> tuple[list[tuple[str, CriterionBase]], bool]:
    """The entries of a list of criteria that validate on their own, and whether all do."""
    if not isinstance(value, list):
        return [], False
    valid = []
    for index, entry in enumerate(value):
        try:
            valid.append((f"{name}[{index}]", _CRITERION.validate_python(entry)))
        except ValidationError:
            continue  # its errors come from validating the whole study
    return valid, len(valid) == len(value)


def _warnings(
    path: Path, root: yaml.Node, parts: _ValidParts, written: list[_Written]
) -> list[StudyProblem]:
    """Contradictions of each valid criterion, an inclusion that an exclusion rules out (when
    both lists are valid), and revealing invitation wording (when the contact is valid)."""
    found: list[tuple[tuple[int, int, str], str]] = []
    for where, criterion in [*parts.inclusion, *parts.exclusion]:
        found += [
            (_criterion_place(ident, written, where), message)
            for ident, message in criterion_contradictions(criterion)
        ]
    if parts.whole_lists:
        found += [
            (_criterion_place(ident, written, "inclusion"), message)
            for ident, message in included_and_excluded(
                [c for _, c in parts.inclusion], [c for _, c in parts.exclusion]
            )
        ]
    if parts.contact is not None:
        criteria = [
            each
            for _, criterion in [*parts.inclusion, *parts.exclusion]
            for each in subtree(criterion)
        ]
        for field, message in contact_revealing_words(parts.contact, parts.title, criteria):
            found.append(((*_place(root, ["contact", field]), f"contact.{field}"), message))
    return [StudyProblem(path, *place, message, "warning") for place, message in found]


def _quota_problems(path: Path, root: yaml.Node, study: StudyDefinition) -> list[StudyProblem]:
    """Quotas on a group the study's own criteria leave out, each at its quota."""
    found = []
    quotas = next((v for k, v in root.value if k.value == "quotas"), root)
    for index, message, error in quotas_beyond_criteria(study):
        item = quotas.value[index] if isinstance(quotas, yaml.SequenceNode) else root
        mark = item.start_mark
        severity: Severity = "error" if error else "warning"
        found.append(
            StudyProblem(
                path, mark.line + 1, mark.column + 1, f"quotas[{index}]", message, severity
            )
        )
    return found


def _place(root: yaml.Node, keys: list[str]) -> tuple[int, int]:
    """Line and column of the value at ``keys`` (mapping keys from the root)."""
    node = root
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            break
        node = next((value for k, value in node.value if k.value == key), node)
    return node.start_mark.line + 1, node.start_mark.column + 1


def _unique(problems: list[StudyProblem]) -> list[StudyProblem]:
    return sorted(dict.fromkeys(problems), key=lambda p: (p.line, p.column))


def _duplicate_keys(path: Path, node: yaml.Node, where: str = "") -> list[StudyProblem]:
    problems: list[StudyProblem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                problems.append(
                    StudyProblem(
                        path,
                        key.start_mark.line + 1,
                        key.start_mark.column + 1,
                        f"{where}{key.value}",
                        f"'{key.value}' appears twice in this mapping",
                    )
                )
            seen.add(key.value)
            problems += _duplicate_keys(path, value, f"{where}{key.value}.")
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _duplicate_keys(path, item, f"{where.rstrip('.')}[{index}].")
    return problems


def _problem(path: Path, root: yaml.Node, data: Any, detail: ErrorDetails) -> StudyProblem:
    """One pydantic error, placed at its YAML node and said plainly."""
    node: yaml.Node = root
    value: Any = data
    model: type[BaseModel] | str | None = StudyDefinition
    key_path: list[str] = []
    point_at_key = False
    keys = list(detail["loc"])
    at_criterion = False  # pydantic puts the union's tag right after a criterion's place
    while keys:
        part = keys.pop(0)
        if at_criterion and part == criterion_kind(value):
            at_criterion = False
            continue
        at_criterion = False
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            entry = next(((k, v) for k, v in node.value if k.value == part), None)
            if entry is None:
                break
            point_at_key = not keys and detail["type"] == "extra_forbidden"
            node = entry[0] if point_at_key else entry[1]
            if point_at_key:
                break
            value = value.get(part) if isinstance(value, dict) else None
            model = _model_of(model, part, value)
            at_criterion = part == "not"
            key_path.append(part)
        elif isinstance(node, yaml.SequenceNode) and part == "any_of":
            continue  # ``diagnoses: [N18]`` is short for ``diagnoses: {any_of: [N18]}``
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            node, value = node.value[part], value[part] if isinstance(value, list) else None
            if model == "criteria":
                model, at_criterion = _criterion_model(value), True
            key_path.append(f"[{part}]")
        else:
            break
    where = ".".join(key_path).replace(".[", "[") or "(study)"
    mark = node.start_mark
    return StudyProblem(path, mark.line + 1, mark.column + 1, where, _plainly(detail, model, value))


#: Keys whose value is a list of criteria.
_CRITERIA_LISTS = {"inclusion", "exclusion", "all", "any", "of"}


def _model_of(
    parent: type[BaseModel] | str | None, key: str, value: Any
) -> type[BaseModel] | str | None:
    """What a key's value is: a model, a list of criteria ("criteria"), or nothing to check."""
    if key in _CRITERIA_LISTS:
        return "criteria"
    if key == "not":
        return _criterion_model(value)
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return None
    for name, field in parent.model_fields.items():
        if (field.alias or name) == key:
            annotation: Any = field.annotation
            while get_origin(annotation) in (list, Union, UnionType):
                annotation = next(a for a in get_args(annotation) if a is not type(None))
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                return annotation
    return None


def _keys(node: yaml.MappingNode) -> set[str]:
    return {key.value for key, _ in node.value}


def _plainly(detail: ErrorDetails, model: Any, value: Any) -> str:
    kind = detail["type"]
    last = detail["loc"][-1] if detail["loc"] else ""
    if kind == "extra_forbidden":
        return f"unknown key '{last}'" + _suggestion(str(last), _allowed_keys(model, value))
    if kind == "criterion_kind":
        unknown = [k for k in (value or {}) if k not in _criterion_keys()]
        hint = "".join(f"; unknown key '{k}'{_suggestion(k, _criterion_keys())}" for k in unknown)
        return detail["msg"] + hint
    if kind == "literal_error":
        expected = [
            e.strip(" '")
            for e in str((detail.get("ctx") or {}).get("expected", ""))
            .replace(" or ", ",")
            .split(",")
        ]
        what = "unknown field" if last == "field" else "unknown value"
        return f"{what} '{detail.get('input')}'" + _suggestion(str(detail.get("input")), expected)
    if kind == "enum":
        choices = str((detail.get("ctx") or {}).get("expected", "")).replace("'", "")
        return f"'{detail.get('input')}' is not one of {choices}"
    if kind == "missing":
        return f"'{last}' is required"
    return detail["msg"]


def _suggestion(name: str, allowed: list[str]) -> str:
    if name.lower() in _SYNONYMS and _SYNONYMS[name.lower()] in allowed:
        return f", did you mean '{_SYNONYMS[name.lower()]}'?"
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    return f", did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(sorted(allowed))})"


def _criterion_keys() -> list[str]:
    return sorted({key for model in CRITERION_MODELS.values() for key in _aliases(model)})


def _allowed_keys(model: Any, value: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return _aliases(model)
    return _criterion_keys()


def _aliases(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _criterion_model(value: Any) -> type[BaseModel] | None:
    kind = criterion_kind(value)
    return CRITERION_MODELS[kind] if kind else None


#: A criterion as written: its id, line, column, and where in the definition.
_Written = tuple[str, int, int, str]


def _criteria_written(root: yaml.Node) -> list[_Written]:
    """Every criterion with an id, in the order they are written."""
    found: list[_Written] = []

    def walk(node: yaml.Node, where: str) -> None:
        if isinstance(node, yaml.MappingNode):
            keys = {key.value: value for key, value in node.value}
            ident = keys.get("id")
            if isinstance(ident, yaml.ScalarNode) and any(k in keys for k in CRITERION_KEYS):
                found.append(
                    (ident.value, node.start_mark.line + 1, node.start_mark.column + 1, where)
                )
            for key, value in node.value:
                walk(value, f"{where}.{key.value}" if where else key.value)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{where}[{index}]")

    walk(root, "")
    return found


def _duplicate_ids(path: Path, written: list[_Written]) -> list[StudyProblem]:
    first: dict[str, int] = {}
    problems = []
    for ident, line, column, where in written:
        if ident in first:
            problems.append(
                StudyProblem(
                    path,
                    line,
                    column,
                    where,
                    f"criterion id '{ident}' is used twice (first at line {first[ident]})",
                )
            )
        first.setdefault(ident, line)
    return problems


def _criterion_place(ident: str, written: list[_Written], under: str) -> tuple[int, int, str]:
    """Line, column and key of criterion ``ident``: the first so named under ``under``
    (``inclusion[2]``), else anywhere (ids are unique in a valid study)."""
    named = [w for w in written if w[0] == ident]
    inside = [w for w in named if w[3] == under or w[3].startswith((f"{under}.", f"{under}["))]
    for _, line, column, where in inside + named:
        return line, column, where
    return 1, 1, ident
