"""Studies for the matching benchmark: the three sample studies and variants of them (other age
bands, regions, BMI ranges, symptom thresholds, target diagnoses, extra exclusions), the way a
panel with many studies running would have them. Deterministic: variant ``i`` is always the same.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from schemas.study import StudyDefinition
from schemas.study_fields import Region

STUDIES = Path(__file__).parents[1] / "data_samples" / "studies"
SAMPLES = ("rls-magnesium", "sleep-healthy", "t2d-midtjylland")
#: Conditions the generated panel has (``data_samples.pools.CONDITIONS``), as study targets.
TARGETS = ("E11", "I10", "J45", "M54", "F32", "E66", "K21", "E03", "I48", "G25.8")
EXTRA_EXCLUSIONS = (
    ("asthma", "Asthma (J45)", "diagnoses", "J45"),
    ("depression", "Depression (F32-F33)", "diagnoses", "F32-F33"),
    ("anticoagulant", "Takes an anticoagulant (B01A)", "medicines", "B01A"),
    ("ppi", "Takes a proton pump inhibitor (A02BC)", "medicines", "A02BC"),
)
REGIONS = [region.value for region in Region]
#: The criteria of the restless-legs trial that look back in ``window_study``, and how far.
WINDOWS = {"rls-diagnosed": "2y", "takes-magnesium": "3m"}


def study_variants(count: int) -> list[StudyDefinition]:
    """``count`` studies: the samples first, then variants of them in turn."""
    samples = [yaml.safe_load((STUDIES / f"{name}.yaml").read_text()) for name in SAMPLES]
    studies = []
    for number in range(count):
        document = copy.deepcopy(samples[number % len(samples)])
        if number >= len(samples):
            _vary(document, number)
        studies.append(StudyDefinition.model_validate(document))
    return studies


def window_study() -> tuple[StudyDefinition, StudyDefinition]:
    """The restless-legs trial looking back (a diagnosis ``within: 2y`` among the inclusion
    criteria, a medicine ``within: 3m`` among the exclusions), and its twin: the same criteria
    without windows."""
    document = yaml.safe_load((STUDIES / "rls-magnesium.yaml").read_text())
    twin = copy.deepcopy(document)
    document["id"] = "rls-magnesium-lookback"
    twin["id"] = "rls-magnesium-lookback-twin"
    for criterion in _walk([*twin["inclusion"], *twin.get("exclusion", [])]):
        criterion.pop("within", None)
    for criterion in _walk([*document["inclusion"], *document.get("exclusion", [])]):
        if criterion.get("id") in WINDOWS:
            criterion["within"] = WINDOWS[criterion["id"]]
    return StudyDefinition.model_validate(document), StudyDefinition.model_validate(twin)


def _vary(document: dict[str, Any], number: int) -> None:
    document["id"] = f"{document['id']}-v{number}"
    for criterion in _walk(document["inclusion"]):
        _vary_criterion(criterion, number)
    extra = EXTRA_EXCLUSIONS[number % len(EXTRA_EXCLUSIONS)]
    if number % 3 == 1:
        ident, label, system, code = extra
        document.setdefault("exclusion", []).append({"id": ident, "label": label, system: [code]})


def _vary_criterion(criterion: dict[str, Any], number: int) -> None:
    field = criterion.get("field")
    step = number % 7
    if field == "age":
        criterion["at_least"] = criterion["at_least"] + 2 * step - 4
        criterion["at_most"] = criterion["at_most"] - step
    elif field == "bmi":
        criterion["at_least"] = criterion["at_least"] + step / 2 - 1
    elif field == "region":
        criterion["equals"] = REGIONS[number % len(REGIONS)]
    elif field == "rls_nights_per_week":
        criterion["at_least"] = 1 + number % 4
    elif field == "months_since_update":
        criterion["at_most"] = (12, 24, 36)[number % 3]
    elif criterion.get("id") == "type-2-diabetes":
        target = TARGETS[number % len(TARGETS)]
        criterion.update(label=f"Diagnosed with {target}", diagnoses=[target])


def _walk(criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for criterion in criteria:
        found.append(criterion)
        for key in ("all", "any", "of"):
            found += _walk(criterion.get(key, []))
        if "not" in criterion:
            found += _walk([criterion["not"]])
    return found
