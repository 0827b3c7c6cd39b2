"""Study definitions: the YAML researchers write, checked with every problem at its place."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from schemas.study import StudyDefinition
from schemas.study_checks import covers
from schemas.study_file import load_study

STUDIES = Path(__file__).parent.parent / "data_samples" / "studies"
BROKEN = STUDIES / "broken"
SCHEMA = Path(__file__).parent.parent / "schemas" / "study-definition.schema.json"


@pytest.mark.parametrize("name", ["rls-magnesium", "sleep-healthy", "t2d-midtjylland"])
def test_the_sample_studies_are_valid_without_warnings(name: str) -> None:
    loaded = load_study(STUDIES / f"{name}.yaml")
    assert loaded.problems == []
    assert loaded.definition is not None and loaded.definition.id == name


def test_the_rls_trial_says_what_the_medical_background_says() -> None:
    study = load_study(STUDIES / "rls-magnesium.yaml").definition
    assert study is not None
    ids = [criterion.id for criterion in study.criteria()]
    assert ids[:2] == ["age-18-75", "restless-legs"]
    exclusion = {criterion.id: criterion for criterion in study.exclusion}
    assert set(exclusion) == {
        "kidney-disease",
        "bleeding-disorder",
        "takes-magnesium",
        "dopaminergic-treatment",
        "heart-rhythm",
        "pregnant",
    }
    assert exclusion["bleeding-disorder"].model_dump(by_alias=True)["diagnoses"]["any_of"] == [
        "D65-D69"
    ]


def test_the_version_is_a_hash_of_the_content_not_of_the_text(tmp_path: Path) -> None:
    original = (STUDIES / "rls-magnesium.yaml").read_text()
    reformatted = tmp_path / "a.yaml"
    reformatted.write_text(
        "# a new comment\n"
        + original.replace("diagnoses: [G25.8]", "diagnoses:\n          - g25.8")
    )
    changed = tmp_path / "b.yaml"
    changed.write_text(original.replace("at_most: 75", "at_most: 70"))
    versions = [
        load_study(p).definition.version
        for p in (STUDIES / "rls-magnesium.yaml", reformatted, changed)
    ]  # type: ignore[union-attr]
    assert versions[0] == versions[1] != versions[2]


def test_the_published_json_schema_is_current() -> None:
    assert json.loads(SCHEMA.read_text()) == StudyDefinition.json_schema()


def problems_of(name: str) -> list[str]:
    return [
        str(problem).removeprefix(f"{BROKEN / name}:")
        for problem in load_study(BROKEN / name).problems
    ]


def test_misspelt_names_are_found_with_a_suggestion() -> None:
    assert problems_of("misspelt-names.yaml") == [
        "10:5: error: inclusion[0]: 'label' is required",
        "11:5: error: inclusion[0]: unknown key 'lable', did you mean 'label'?",
        "12:12: error: inclusion[0].field: unknown field 'agee', did you mean 'age'?",
        "14:5: error: inclusion[1]: a criterion needs one of: field, diagnoses, medicines, all, any, "
        "not, or at_least with of; unknown key 'diagnosis', did you mean 'diagnoses'?",
        "18:5: error: exclusion[0]: a criterion needs one of: field, diagnoses, medicines, all, any, "
        "not, or at_least with of; unknown key 'icd10', did you mean 'diagnoses'?",
    ]


def test_values_that_do_not_fit_are_each_named_at_their_place() -> None:
    found = problems_of("bad-values.yaml")
    assert found[0] == "4:9: error: status: 'active' is not one of draft, recruiting or closed"
    assert (
        "10:5: error: inclusion[0]: 'man' is not a value of 'sex' (female, male, other), did you mean 'male'?"
        in found
    )
    assert any("14:5" in p and "did you mean 'midtjylland'?" in p for p in found)
    assert "18:5: error: inclusion[2]: 'smoker' is yes/no: compare it with true or false" in found
    assert (
        "25:17: error: exclusion[0].diagnoses[0]: 'G2X.8' is not an ICD-10 code (e.g. N18, G25.8, D65-D69)"
        in found
    )
    assert any(
        p.startswith("25:24: error: exclusion[0].diagnoses[1]: 'D69-D65' is not a range")
        for p in found
    )
    assert (
        "28:17: error: exclusion[1].medicines[0]: '12AB' is not an ATC code (e.g. A12CC, N04BC05)"
        in found
    )


def test_structural_mistakes_are_all_reported_at_once() -> None:
    found = problems_of("structure.yaml")
    assert "10:5: error: inclusion[0]: 'label' is required" in found
    assert (
        "13:5: error: inclusion[1]: criterion id 'adult' is used twice (first at line 10)" in found
    )
    assert any(
        p.startswith("13:5: error: inclusion[1]: a comparison needs exactly one of") for p in found
    )
    assert any(p.startswith("18:5: error: inclusion[2]: a criterion needs one of") for p in found)


def test_yaml_that_does_not_parse_is_one_error_with_its_place() -> None:
    assert problems_of("yaml-syntax.yaml") == [
        "5:1: error: (yaml): found character '\\t' that cannot start any token"
    ]


def test_contradictions_and_dead_criteria_are_warnings() -> None:
    loaded = load_study(BROKEN / "contradictions.yaml")
    assert loaded.definition is not None and not loaded.errors
    warnings = [str(p).removeprefix(f"{BROKEN / 'contradictions.yaml'}:") for p in loaded.problems]
    assert warnings == [
        "11:5: warning: inclusion[0]: empty range: nothing is at least 80 and at most 18",
        "16:5: warning: inclusion[1]: no volunteer can meet it: age is at most 110",
        "20:5: warning: inclusion[2]: requires G25.8, which exclusion 'extrapyramidal' rules out: nobody can be eligible",
        "24:5: warning: inclusion[3]: at least 4 of 3 criteria can never be met",
        "36:5: warning: exclusion[1]: N18 is both included and excepted: no code of it can count",
    ]


@pytest.mark.parametrize(
    ("pattern", "code", "covered"),
    [
        ("N18", "N18.3", True),
        ("N18", "N18", True),
        ("N18", "N19", False),
        ("D65-D69", "D68.2", True),
        ("D65-D69", "D70", False),
        ("D65-D69", "D64.9", False),
        ("A12CC", "A12CC05", True),
        ("A12C", "A12CC05", True),
        ("N04BC", "N04BA01", False),
        ("I47-I49", "I48", True),
        ("N18.4-N18.5", "N18.3", False),
        ("N18.4-N18.5", "N18.5", True),
    ],
)
def test_codes_cover_their_sub_codes_and_ranges_their_members(
    pattern: str, code: str, covered: bool
) -> None:
    assert covers(pattern, code) is covered


def _drop_criterion_keys(dumped: object, keys: dict[str, object]) -> None:
    """Remove ``keys`` from every criterion in a dumped study where they hold the value given
    (``ANY``: whatever they hold)."""
    if isinstance(dumped, dict):
        if "label" in dumped:
            for key, value in keys.items():
                if key in dumped and (value is ANY or dumped[key] == value):
                    del dumped[key]
        for inner in dumped.values():
            _drop_criterion_keys(inner, keys)
    elif isinstance(dumped, list):
        for item in dumped:
            _drop_criterion_keys(item, keys)


ANY = object()
#: What a criterion holds for the keys added to the language later, when it does not use them.
UNSET = {"if_met": "met", "within": None, "question": None}


def test_criteria_published_before_if_met_and_within_keep_their_version() -> None:
    """The versions the sample studies were published with before ``if_met``, ``within`` and
    ``question`` existed: a criterion that does not use them hashes as it did."""
    versions = {}
    for name in ("rls-magnesium", "sleep-healthy", "t2d-midtjylland"):
        loaded = load_study(STUDIES / f"{name}.yaml").definition
        assert loaded is not None
        # The screening questions were added to the samples later, as a new version.
        dumped = loaded.model_dump(mode="json", by_alias=True)
        _drop_criterion_keys(dumped, {"question": ANY})
        versions[name] = StudyDefinition.model_validate(dumped).version
    assert versions == {
        "rls-magnesium": "c0708fe7c80c405e",
        "sleep-healthy": "d535b71d261e2976",
        "t2d-midtjylland": "661caca6de5fa05c",
    }


def test_the_invitation_wording_counts_in_the_version_only_once_it_is_written() -> None:
    """Studies published before invitations had wording keep their version; wording changes
    what volunteers are told, so writing or changing it makes a new version."""
    study = load_study(STUDIES / "rls-magnesium.yaml").definition
    assert study is not None
    contact = study.contact.model_dump()
    without = study.model_copy(
        update={
            "contact": study.contact.model_copy(update={"invitation_title": None, "involves": None})
        }
    )
    older = without.model_dump(mode="json", by_alias=True)
    del older["contact"]["invitation_title"], older["contact"]["involves"], older["quotas"]
    _drop_criterion_keys(older, UNSET)
    canonical = json.dumps(older, sort_keys=True, separators=(",", ":"))
    assert without.version == hashlib.sha256(canonical.encode()).hexdigest()[:16]
    reworded = study.model_copy(
        update={"contact": study.contact.model_copy(update={"involves": contact["involves"] + "!"})}
    )
    assert len({study.version, without.version, reworded.version}) == 3


def test_wording_that_reaches_invitations_may_not_say_why_someone_was_chosen(
    tmp_path: Path,
) -> None:
    text = (
        (STUDIES / "rls-magnesium.yaml")
        .read_text()
        .replace("Et forsøg med et kosttilskud", "Et forsøg for dig med restless legs")
        .replace("en tablet to gange", "en tablet mod din sygdom (G25.8) to gange")
    )
    (tmp_path / "rls.yaml").write_text(text)
    loaded = load_study(tmp_path / "rls.yaml")
    assert loaded.definition is not None and not loaded.errors
    said = [str(p).removeprefix(f"{tmp_path / 'rls.yaml'}:") for p in loaded.problems]
    assert [line.split(", which")[0] for line in said] == [
        "10:21: warning: contact.invitation_title: says 'restless'",
        "11:13: warning: contact.involves: says 'sygdom', 'G25.8'",
    ]
    assert all("must not reveal anything of a health profile" in line for line in said)
