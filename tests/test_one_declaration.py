"""One declaration per fact: what is written out again elsewhere is held to the declaration.

The profile's fields are declared once, by ``schemas.signup.SignupRow`` (where each is kept:
``CONTACT_FIELDS``, ``NOTE_FIELD``, ``PROFILE_FIELDS``; what matching reads: ``MATCHED_FIELDS``).
The store's declarative tables (and the migrations) and the criteria's field table
(``schemas.study_fields.FIELDS``) are written out: a field added in one place only fails here.

The kinds of criterion are declared once, in ``schemas.study`` (``CRITERION_MODELS`` and the
``Criterion`` union); ``dispatch`` and ``CriterionVisitor`` are the one place they are told
apart, and every evaluator must handle every kind.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import ValidationError
from sqlalchemy import TypeDecorator

from benchmarks.duckdb_matching import _Sql
from matching import evidence
from matching.answered import _Answered
from matching.engine import _Evaluate
from matching.evidence import _Evidence
from matching.panel import PROFILE_SCHEMA
from matching.reference import _Criterion
from matching.three_valued import ThreeValued
from review.criteria_view import _Recombined, _TreeWords
from schemas.signup import (
    CONSENT_FIELDS,
    CONTACT_FIELDS,
    MATCHED_FIELDS,
    NOTE_FIELD,
    PROFILE_FIELDS,
    SIGNUP_COLUMNS,
    Sex,
    SignupRow,
    stored_type,
)
from schemas.study import (
    CRITERION_MODELS,
    Criterion,
    CriterionVisitor,
    _Children,
    dispatch,
)
from schemas.study_fields import CODE_SYSTEMS, FIELDS, FieldKind, stored_choices
from store.tables import Contact, Profile, SubmissionNote
from tests.helpers import signup

#: Fields matching reads only to derive others (age, months_since_update) or to name the
#: profile version: never a criterion themselves.
DERIVED_FROM = {"submission_id", "submitted_at", "birth_date"}


def _columns(table: Any) -> dict[str, Any]:
    return {column.name: column for column in table.__table__.columns}


def _python_type(column: Any) -> type:
    kind = column.type
    return (kind.impl_instance if isinstance(kind, TypeDecorator) else kind).python_type


# --- the profile's fields -----------------------------------------------------------------


def test_every_named_field_is_a_field_of_the_row_model() -> None:
    named = {*CONTACT_FIELDS, NOTE_FIELD, *CONSENT_FIELDS, *MATCHED_FIELDS, *DERIVED_FROM}
    assert named <= set(SignupRow.model_fields)
    assert set(CONSENT_FIELDS) <= set(PROFILE_FIELDS)
    assert len(SIGNUP_COLUMNS) == len(set(SIGNUP_COLUMNS)) == len(SignupRow.model_fields)


def test_the_profile_table_holds_exactly_the_profile_fields_as_stored() -> None:
    columns = _columns(Profile)
    assert set(columns) == {"volunteer_id", "ingest_id", *PROFILE_FIELDS}
    for name in PROFILE_FIELDS:
        assert _python_type(columns[name]) is stored_type(name), name


def test_the_contact_and_note_tables_hold_the_rest() -> None:
    columns = _columns(Contact)
    assert set(columns) == {"volunteer_id", *CONTACT_FIELDS, "submitted_at"}
    for name in CONTACT_FIELDS:
        assert _python_type(columns[name]) is stored_type(name), name
    assert set(_columns(SubmissionNote)) == {"submission_id", "text"}
    assert stored_type(NOTE_FIELD) is str


def test_matching_reads_the_matched_fields() -> None:
    assert PROFILE_SCHEMA.names == ["volunteer_id", *MATCHED_FIELDS]


def test_every_matched_field_is_a_criterion_a_code_system_or_what_one_is_derived_from() -> None:
    answered = {name for name, field in FIELDS.items() if not field.derived}
    assert answered <= set(MATCHED_FIELDS)
    assert set(MATCHED_FIELDS) == answered | set(CODE_SYSTEMS) | DERIVED_FROM
    assert not answered & (set(CODE_SYSTEMS) | DERIVED_FROM)


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items() if not f.derived])
def test_an_answered_criterion_field_agrees_with_the_row_model(name: str) -> None:
    field = FIELDS[name]
    stored = stored_type(name)
    if field.kind is FieldKind.YES_NO:
        # pregnant is stored as yes/no/unknown and read as yes/no (asked of women only)
        assert stored is bool or name == "pregnant"
    elif field.kind is FieldKind.CHOICE:
        assert stored is str and field.choices
    else:
        assert stored in (int, float) or name == "postcode"  # a postcode is text, read as a number
        schema = SignupRow.model_json_schema(by_alias=False)["properties"][name]
        bounds = next((s for s in schema.get("anyOf", [schema]) if "minimum" in s), None)
        if bounds is not None:
            assert (field.low, field.high) == (bounds["minimum"], bounds["maximum"])


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items() if f.asked_of])
def test_a_field_asked_of_some_is_refused_from_the_others_by_the_row_model(name: str) -> None:
    """``asked_of`` says whom the form asks; the row model, the export's rule, agrees."""
    field = FIELDS[name]
    column = SignupRow.model_fields[name].alias
    assert column is not None
    answer = {"pregnant": "Ja"}[name]
    for sex in Sex:
        cells = signup(koen=sex.value, **{column: answer})
        try:
            SignupRow.model_validate(cells)
            accepted = True
        except ValidationError:
            accepted = False
        assert accepted == (sex.name.lower() in field.asked_of), sex
    assert {sex for sex, _ in field.not_asked_means} <= set(stored_choices(Sex)) - set(
        field.asked_of
    )


@pytest.mark.parametrize("name", [n for n, f in FIELDS.items() if f.always_known])
def test_a_field_always_known_is_required_on_the_form_or_derived_from_what_is(name: str) -> None:
    """``always_known`` spares a criterion its screening question: it must never be missing."""
    field = FIELDS[name]
    sources = {"age": ["birth_date"], "months_since_update": ["submitted_at"]}
    for source in sources[name] if field.derived else [name]:
        assert SignupRow.model_fields[source].is_required(), source


def test_evidence_words_every_criterion_field() -> None:
    assert set(evidence._SAYS) == set(FIELDS)
    assert set(evidence._MISSING) <= set(FIELDS)
    assert set(evidence._ONE_DECIMAL) <= set(FIELDS)
    assert set(evidence._CODE_WORDS) == set(CODE_SYSTEMS)


# --- the kinds of criterion ---------------------------------------------------------------


def test_the_criterion_union_is_the_kinds() -> None:
    (union, _discriminator) = get_args(Criterion)
    members = [get_args(member) for member in get_args(union)]
    assert {tag.tag: model for model, tag in members} == CRITERION_MODELS


def test_the_visitor_has_one_method_per_kind() -> None:
    wanted = {f"on_{kind}" for kind in CRITERION_MODELS}
    assert CriterionVisitor.__abstractmethods__ == wanted


class _Recording(CriterionVisitor[str]):
    pass


for _method in CriterionVisitor.__abstractmethods__:
    setattr(_Recording, _method, lambda self, criterion, name=_method: name)
_Recording.__abstractmethods__ = frozenset()


@pytest.mark.parametrize("kind", list(CRITERION_MODELS))
def test_dispatch_tells_every_kind_apart(kind: str) -> None:
    criterion = CRITERION_MODELS[kind].model_construct()
    assert dispatch(criterion, _Recording()) == f"on_{kind}"


EVALUATORS = [_Evaluate, _Criterion, _Sql, _Evidence, _Children, _Recombined, _TreeWords, _Answered]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_every_evaluator_handles_every_kind(evaluator: type) -> None:
    assert issubclass(evaluator, CriterionVisitor)
    assert not inspect.isabstract(evaluator), evaluator.__abstractmethods__


def test_every_visitor_in_the_code_is_one_of_those_checked() -> None:
    # Import every module that subclasses a visitor, whatever else this process imported.
    root = Path(__file__).resolve().parent.parent
    for path in sorted(root.glob("*/*.py")):
        if path.parts[-2] not in {"tests", ".venv"} and re.search(
            r"\((CriterionVisitor|ThreeValued)\b", path.read_text(encoding="utf-8")
        ):
            importlib.import_module(f"{path.parts[-2]}.{path.stem}")
    found: set[type] = set()
    waiting = [CriterionVisitor]
    while waiting:
        below = waiting.pop().__subclasses__()
        found.update(below)
        waiting += below
    checked = {*EVALUATORS, ThreeValued, _Recording}
    assert found <= checked, found - checked
