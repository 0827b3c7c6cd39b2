"""A study's ``quotas:``: what they mean in people, and every mistake said where it is, with
quotas no recruitment can meet refused by ``panel study check``."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.study import StudyDefinition
from schemas.study_file import load_study
from schemas.study_quotas import GroupBounds, Quota, QuotaBy, QuotaGroup, group_bounds
from tests.helpers import STUDIES
from tests.test_study_cli import panel

HEAD = """\
id: quota-study
title: Quota study
status: recruiting
recruitment_target: {target}
contact:
  organiser: Aarhus Universitetshospital
  reply_to: studie@example.dk
inclusion:
  - id: adult
    label: Adult
    field: age
    at_least: 18
quotas:
"""


def study_file(tmp_path: Path, *quotas: str, target: int = 100) -> Path:
    path = tmp_path / "quota-study.yaml"
    path.write_text(HEAD.format(target=target) + "".join(f"  - {q}\n" for q in quotas))
    return path


def problems(tmp_path: Path, *quotas: str, target: int = 100) -> list[str]:
    loaded = load_study(study_file(tmp_path, *quotas, target=target))
    return [f"{p.line}: {p.key}: {p.message}" for p in loaded.problems]


def test_shares_and_counts_in_people() -> None:
    women = Quota(by=QuotaBy.SEX, value="female", at_least=0.4, at_most=0.55)
    assert (women.least(101), women.most(101)) == (41, 55)  # at least rounds up, at most down
    assert (women.least(100), women.most(100)) == (40, 55)  # 0.4 x 100 is 40, not 40.000001
    assert Quota(by=QuotaBy.REGION, at_most=30).most(1000) == 30
    assert [str(g) for g in Quota(by=QuotaBy.REGION, at_most=30).groups()] == [
        "region hovedstaden", "region sjaelland", "region syddanmark", "region midtjylland",
        "region nordjylland",
    ]  # fmt: skip


def test_the_tightest_bound_of_a_group_counts() -> None:
    quotas = [
        Quota(by=QuotaBy.REGION, at_most=30),
        Quota(by=QuotaBy.REGION, value="nordjylland", at_most=10),
        Quota(by=QuotaBy.AGE, value="65+", at_least=0.2),
    ]
    bounds = group_bounds(quotas, 100)
    assert GroupBounds(QuotaGroup(QuotaBy.REGION, "nordjylland"), None, 10) in bounds
    assert GroupBounds(QuotaGroup(QuotaBy.REGION, "hovedstaden"), None, 30) in bounds
    assert GroupBounds(QuotaGroup(QuotaBy.AGE, "65+"), 20, None) in bounds
    assert len(bounds) == 6


@pytest.mark.parametrize(
    ("band", "age", "member"),
    [("40-64", 39, False), ("40-64", 40, True), ("40-64", 64, True), ("40-64", 65, False),
     ("65+", 64, False), ("65+", 101, True), ("65+", None, False)],
)  # fmt: skip
def test_age_bands_are_inclusive_and_an_open_band_has_no_end(
    band: str, age: int | None, member: bool
) -> None:
    assert QuotaGroup(QuotaBy.AGE, band).holds(None, age, None) is member


def test_a_valid_study_with_quotas_checks_clean(tmp_path: Path) -> None:
    assert (
        problems(
            tmp_path,
            "{by: sex, value: female, at_least: 0.4}",
            "{by: region, at_most: 30}",
            "{by: age, value: 65+, at_most: 0.5}",
            "{by: age, value: 18-39, at_least: 10}",
        )
        == []
    )


def test_each_mistake_is_said_at_its_quota(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        "{by: sex, value: femail, at_least: 0.4}",
        "{by: region, value: midtjylland}",
        "{by: age, at_most: 30}",
        "{by: age, value: 70-60, at_most: 30}",
        "{by: region, at_most: 2.5}",
        "{by: sex, value: male, at_mots: 30}",
        "{by: postcode, at_most: 30}",
    ) == [
        "14: quotas[0]: 'femail' is not a value of 'sex' (female, male, other), did you mean "
        "'female'?",
        "15: quotas[1]: a quota needs at_least, at_most or both",
        "16: quotas[2]: an age quota names its band: value: 40-64 (inclusive) or value: 65+",
        "17: quotas[3]: '70-60' is not an age band of volunteers",
        "18: quotas[4]: at_most: 2.5 is neither a share below 1 (0.4) nor a whole number of people",
        "19: quotas[5]: unknown key 'at_mots', did you mean 'at_most'?",
        "20: quotas[6].by: 'postcode' is not one of sex, age or region",
    ]


@pytest.mark.parametrize(
    ("quotas", "said"),
    [
        (
            ["{by: sex, value: female, at_least: 0.6}", "{by: sex, value: male, at_least: 0.5}"],
            "sex: at least 110 people together (female, male), more than the target of 100",
        ),
        (["{by: region, value: sjaelland, at_least: 101}"], "at least 101 of a target of 100"),
        (
            ["{by: age, value: 18-39, at_least: 0.3, at_most: 20}"],
            "age 18-39: at least 30 but at most 20 people",
        ),
        (
            ["{by: sex, at_most: 0.3}"],
            "sex: every value is capped, at most 90 people together, fewer than the target",
        ),
        (["{by: region, value: sjaelland, at_most: 0.001}"], "rounds to nobody"),
        (
            ["{by: age, value: 18-49, at_least: 60}", "{by: age, value: 50+, at_least: 50}"],
            "age: at least 110 people together (18-49, 50+)",
        ),
    ],
)
def test_quotas_no_recruitment_can_meet_are_errors(
    tmp_path: Path, quotas: list[str], said: str
) -> None:
    (found,) = problems(tmp_path, *quotas)
    assert found.startswith("14: quotas: impossible quotas: ") and said in found


def test_overlapping_age_bands_do_not_add_up(tmp_path: Path) -> None:
    """Someone of 45 is of both bands: together they may ask for more than the target."""
    assert (
        problems(
            tmp_path, "{by: age, value: 18-49, at_least: 60}", "{by: age, value: 40+, at_least: 60}"
        )
        == []
    )


def test_panel_study_check_fails_on_impossible_quotas(tmp_path: Path) -> None:
    path = study_file(tmp_path, "{by: sex, at_least: 0.4}")  # 3 sexes x 40 % of the target
    code, out, err = panel("study", "check", path)
    assert code == 1 and "1 error(s)" in out
    assert "quotas: impossible quotas: sex: at least 120 people together" in err


def test_quotas_change_the_version_and_a_study_without_them_keeps_its_own() -> None:
    study = load_study(STUDIES / "rls-magnesium.yaml").definition
    assert study is not None
    again = StudyDefinition.model_validate(
        study.model_dump(mode="json", by_alias=True) | {"quotas": []}
    )
    assert again.version == study.version
    with_quota = StudyDefinition.model_validate(
        study.model_dump(mode="json", by_alias=True)
        | {"quotas": [{"by": "sex", "value": "female", "at_least": 0.4}]}
    )
    assert with_quota.version != study.version


def test_a_quota_model_refuses_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Quota.model_validate({"by": "sex", "at_most": 3, "per": "value"})


CRITERIA = """\
  - id: midtjylland
    label: Lives in Region Midtjylland
    field: region
    equals: midtjylland
    question: Bor du i Region Midtjylland?
  - id: under-76
    label: Aged 75 at most
    field: age
    at_most: 75
exclusion:
  - id: men
    label: Men
    field: sex
    one_of: [male]
  - id: oldest
    label: Aged 70 or more
    field: age
    at_least: 70
quotas:
"""


def test_a_quota_on_a_group_the_criteria_leave_out_is_said_at_the_quota(tmp_path: Path) -> None:
    path = study_file(tmp_path)
    text = path.read_text().replace("quotas:\n", CRITERIA)
    quotas = [
        "{by: region, value: nordjylland, at_least: 0.1}",
        "{by: sex, value: male, at_most: 10}",
        "{by: age, value: 72+, at_most: 10}",
        "{by: age, value: 80-90, at_least: 5}",
        "{by: age, value: 60-75, at_most: 10}",  # 60 to 69 can be eligible
        "{by: region, at_most: 60}",  # for each region: those left out are no mistake
        "{by: sex, value: female, at_least: 0.5}",
    ]
    path.write_text(text + "".join(f"  - {q}\n" for q in quotas))
    said = [f"{p.line}: {p.severity}: {p.key}: {p.message}" for p in load_study(path).problems]
    assert said == [
        "32: error: quotas[0]: region nordjylland: nobody of it can be eligible (inclusion "
        "'midtjylland'): at least can never be met",
        "33: warning: quotas[1]: sex male: nobody of it can be eligible (exclusion 'men'): the "
        "quota does nothing",
        "34: warning: quotas[2]: age 72+: nobody of it can be eligible (exclusion 'oldest'): the "
        "quota does nothing",
        "35: error: quotas[3]: age 80-90: nobody of it can be eligible (inclusion 'under-76'): "
        "at least can never be met",
    ]
