"""Medical code lists as the form writes them: ICD-10 diagnoses and ATC medicines.

A list cell is one of three things, and the difference matters all the way into the store:

* empty           -> ``None``: the question was not answered;
* ``INGEN``       -> ``()``: answered, none;
* ``G25.8|N18.3`` -> ``("G25.8", "N18.3")``: the codes, normalised (upper case, no spaces),
  de-duplicated, in the order given.

Only the shape of a code is checked here. Which codes exist is ``schemas/code_lists.py``'s
business, and only study files are held to it: volunteers may report codes of the Danish
hospital code system, which extends WHO's ICD-10, so such a code is kept, never quarantined.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum

from pydantic_core import PydanticCustomError

from schemas.danish_formats import shown

ANSWERED_NONE = "INGEN"
LIST_SEPARATOR = "|"


class CodeSystem(StrEnum):
    ICD10 = "ICD-10"
    ATC = "ATC"


#: ICD-10 (WHO): a letter, two digits, optionally a dot and one or two characters (G25.8, E11).
ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,2})?")
#: ATC: levels 2 to 5 (A12, A12C, A12CC, A12CC05); a volunteer may report a group or a substance.
ATC_CODE = re.compile(r"[A-Z][0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?")

_SHAPES = {
    CodeSystem.ICD10: (ICD10_CODE, "an ICD-10 code such as G25.8 or E11"),
    CodeSystem.ATC: (ATC_CODE, "an ATC code such as A12CC05 or N04BC"),
}


def normalise_code(raw: str) -> str:
    """``" g25.8 "`` -> ``"G25.8"``: codes are compared in this form everywhere."""
    return raw.strip().upper()


def code_list_reader(system: CodeSystem) -> Callable[[str], tuple[str, ...]]:
    """A reader for a ``|``-separated list cell of one code system (empty cells never reach it)."""
    shape, example = _SHAPES[system]
    fullmatch = shape.fullmatch

    def read(value: str) -> tuple[str, ...]:
        if value.upper() == ANSWERED_NONE:
            return ()
        codes = [normalise_code(part) for part in value.split(LIST_SEPARATOR)]
        for code in codes:
            if code == ANSWERED_NONE:
                raise PydanticCustomError(
                    "code_list",
                    "'{value}' mixes INGEN (answered none) with codes",
                    {"value": shown(value)},
                )
            if not fullmatch(code):
                raise PydanticCustomError(
                    "code_list",
                    "'{code}' is not {example}",
                    {"code": shown(code) or "(empty)", "example": example},
                )
        return tuple(dict.fromkeys(codes))

    read.__name__ = f"read_{system.name.lower()}_list"
    return read
