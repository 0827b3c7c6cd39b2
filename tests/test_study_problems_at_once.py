"""A study file with errors still gets its warnings: every problem at once, in file order.

The parts of a study that validate on their own (each criterion of ``inclusion`` and
``exclusion``, the ``contact`` settings) are checked for contradictions and revealing wording
even when the study as a whole does not validate."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from panelmatch import console
from panelmatch.cli import app
from schemas.study_file import LoadedStudy, load_study

#: A study-level error (line 4), a revealing word in the invitation wording (line 9), an
#: error in one criterion (line 16), and a contradiction in another (line 20).
MIXED = """\
# A study with errors and warnings.
id: mixed
title: Restless legs and sleep
status: active
recruitment_target: 40
contact:
  organiser: Aarhus Universitetshospital
  reply_to: study@example.dk
  involves: Et kort interview om din sygdom.
inclusion:
  - id: adult
    label: Aged 18 to 75
    field: age
    at_least: 18
    at_most: 75
  - id: restless
    lable: Restless legs diagnosed
    diagnoses: [G25.8]
exclusion:
  - id: very-old
    label: Older than 130
    field: age
    at_least: 130
"""


def check(tmp_path: Path, text: str, name: str = "study.yaml") -> tuple[LoadedStudy, list[str]]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    loaded = load_study(path)
    return loaded, [str(p).removeprefix(f"{path}:") for p in loaded.problems]


def test_errors_and_warnings_come_together_in_file_order(tmp_path: Path) -> None:
    loaded, said = check(tmp_path, MIXED)
    assert loaded.definition is None
    assert [line.split(", which")[0] for line in said] == [
        "4:9: error: status: 'active' is not one of draft, recruiting or closed",
        "9:13: warning: contact.involves: says 'sygdom'",
        "16:5: error: inclusion[1]: 'label' is required",
        "17:5: error: inclusion[1]: unknown key 'lable', did you mean 'label'?",
        "20:5: warning: exclusion[0]: no volunteer can meet it: age is at most 110",
    ]
    assert [p.severity for p in loaded.problems] == [
        "error",
        "warning",
        "error",
        "error",
        "warning",
    ]


def test_check_prints_every_problem_and_fails_on_the_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console.out, "width", 200)
    monkeypatch.setattr(console.err, "width", 200)
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED, encoding="utf-8")
    result = CliRunner().invoke(app, ["study", "check", str(path)])
    assert result.exit_code == 1
    assert "mixed.yaml:4:9: error: status: 'active' is not one of" in result.stderr
    assert "mixed.yaml:17:5: error: inclusion[1]: unknown key 'lable'" in result.stderr
    assert "mixed.yaml:9:13: warning: contact.involves: says 'sygdom'" in result.stdout
    assert (
        "mixed.yaml:20:5: warning: exclusion[0]: no volunteer can meet it: age is at most 110"
        in result.stdout
    )
    assert "1 file(s): 3 error(s), 2 warning(s)" in result.stdout


def test_a_criterion_with_an_error_gives_no_warnings_but_the_others_do(tmp_path: Path) -> None:
    """A criterion is checked for contradictions only once it validates, nested ones with it:
    a warning about something broken would guess at what was meant."""
    text = MIXED.replace("status: active", "status: draft").replace(
        "    at_least: 130\n",
        "    at_least: 130\n"
        "  - id: tree\n"
        "    label: Both\n"
        "    all:\n"
        "      - {id: empty, label: Empty, field: age, at_least: 80, at_most: 18}\n"
        "      - {id: bad, label: Bad, field: agee, equals: 3}\n",
    )
    _, said = check(tmp_path, text)
    assert not any("empty range" in line for line in said)
    assert sum("warning" in line for line in said) == 2


def test_a_warning_is_placed_at_its_own_criterion_when_ids_are_used_twice(
    tmp_path: Path,
) -> None:
    text = (
        MIXED.replace("status: active", "status: draft")
        .replace("lable: Restless", "label: Restless")
        .replace("id: very-old", "id: adult")
    )
    loaded, said = check(tmp_path, text)
    assert loaded.definition is None
    assert said[-2:] == [
        "20:5: error: exclusion[0]: criterion id 'adult' is used twice (first at line 11)",
        "20:5: warning: exclusion[0]: no volunteer can meet it: age is at most 110",
    ]


def test_contact_settings_that_do_not_validate_give_no_wording_warnings(tmp_path: Path) -> None:
    _, said = check(tmp_path, MIXED.replace("  reply_to: study@example.dk\n", ""))
    assert "7:3: error: contact: 'reply_to' is required" in said
    assert not any("contact.involves" in line for line in said)
    assert any("warning: exclusion[0]" in line for line in said)


# --- adding an error elsewhere never hides a warning ------------------------------------------

_HEALTHY = {"label": "Aged 18 to 75", "field": "age", "at_least": 18, "at_most": 75}
_CRITERIA: list[dict[str, Any]] = [
    _HEALTHY,
    {"label": "Between 80 and 18", "field": "age", "at_least": 80, "at_most": 18},
    {"label": "Older than 130", "field": "age", "at_least": 130},
    {"label": "Restless legs diagnosed", "diagnoses": ["G25.8"]},
    {"label": "Movement disorders", "diagnoses": ["G25"]},
    {"label": "Kidney disease except itself", "diagnoses": {"any_of": ["N18"], "except": ["N18"]}},
    {"label": "Takes magnesium", "medicines": ["A12CC"]},
    {"label": "Four of two", "at_least": 4, "of": [_HEALTHY, {**_HEALTHY, "at_most": 60}]},
    {"label": "Either", "any": [{**_HEALTHY, "at_least": 90, "at_most": 20}, _HEALTHY]},
]
_WORDING = [None, "Fire besøg over 12 uger.", "Om din sygdom og medicin.", "Restless legs, G25.8."]
#: Errors outside the criteria and the contact settings: (key, value) set at the top level.
_UNRELATED = [
    ("status", "active"),
    ("recruitment_target", 0),
    ("id", "Not An Id"),
    ("sponsor", "an unknown key"),
]


def _with_ids(criterion: dict[str, Any], ident: str) -> dict[str, Any]:
    nested = {
        key: [_with_ids(child, f"{ident}-{n}") for n, child in enumerate(value)]
        for key, value in criterion.items()
        if key in ("all", "any", "of")
    }
    return {"id": ident, **criterion, **nested}


@st.composite
def studies(draw: st.DrawFn) -> dict[str, Any]:
    inclusion = draw(st.lists(st.sampled_from(_CRITERIA), min_size=1, max_size=4))
    exclusion = draw(st.lists(st.sampled_from(_CRITERIA), max_size=3))
    return {
        "id": "drawn",
        "title": draw(st.sampled_from(["A study", "Restless legs trial"])),
        "status": "draft",
        "recruitment_target": 10,
        "contact": {
            "organiser": "Aarhus Universitetshospital",
            "reply_to": "study@example.dk",
            "involves": draw(st.sampled_from(_WORDING)),
        },
        "inclusion": [_with_ids(c, f"in{n}") for n, c in enumerate(inclusion)],
        "exclusion": [_with_ids(c, f"ex{n}") for n, c in enumerate(exclusion)],
    }


def _load(folder: Path, study: dict[str, Any]) -> LoadedStudy:
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False, allow_unicode=True, width=1000))
    return load_study(path)


def _warnings(loaded: LoadedStudy) -> list[str]:
    return [str(p) for p in loaded.problems if p.severity == "warning"]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(studies(), st.sampled_from(_UNRELATED))
def test_an_unrelated_error_never_hides_a_warning(
    study: dict[str, Any], unrelated: tuple[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        valid = _load(Path(folder), study)
        assert valid.definition is not None and not valid.errors
        key, value = unrelated
        broken = _load(Path(folder), {**study, key: value})
    assert broken.definition is None and broken.errors
    assert _warnings(broken) == _warnings(valid)
    assert broken.problems == sorted(broken.problems, key=lambda p: (p.line, p.column))
