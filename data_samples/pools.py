"""The raw material of synthetic volunteers: names, postcodes, conditions, medicines, texts.

Weights are rough Danish frequencies, good enough for realistic-looking data; nothing here is
about a real person. E-mail domains are reserved example domains only.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

T = TypeVar("T")


def lookup_table(weighted: Sequence[tuple[T, float]], bits: int = 10) -> tuple[T, ...]:
    """Expand weights into a table of ``2**bits`` slots: ``table[getrandbits(bits)]`` samples
    them (one fast call per draw). Every item gets a slot; the rest go by largest remainder."""
    size = 1 << bits
    total = sum(weight for _, weight in weighted)
    exact = [weight / total * size for _, weight in weighted]
    counts = [max(1, int(share)) for share in exact]
    order = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: max(0, size - sum(counts))]:
        counts[i] += 1
    while sum(counts) > size:  # items raised to one slot: take the excess from the largest
        counts[counts.index(max(counts))] -= 1
    table = tuple(item for (item, _), n in zip(weighted, counts, strict=True) for _ in range(n))
    if len(table) != size:
        raise ValueError(f"{len(weighted)} items do not fit a table of {size} slots")
    return table


def object_array(items: Sequence[Any]) -> NDArray[np.object_]:
    """A 1-d numpy object array of ``items`` as they are (tuples and lists stay whole)."""
    array = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        array[i] = item
    return array


_ASCII = str.maketrans(
    {"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue", "ı": "i", " ": ""}
)


def ascii_name(name: str) -> str:
    """``Søren`` -> ``soeren``, ``Zoë`` -> ``zoe``: the form people use in e-mail addresses."""
    lowered = name.lower().translate(_ASCII)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c == "-"))


FEMALE_FIRST_NAMES: tuple[tuple[str, float], ...] = (
    ("Anne", 5), ("Kirsten", 4), ("Mette", 4), ("Hanne", 4), ("Helle", 3), ("Anna", 3),
    ("Susanne", 3), ("Lene", 3), ("Maria", 3), ("Marianne", 3), ("Lone", 2.5), ("Camilla", 2),
    ("Pia", 2), ("Louise", 2), ("Inge", 2), ("Charlotte", 2), ("Bente", 2), ("Karen", 2),
    ("Tina", 2), ("Julie", 2), ("Ida", 1.5), ("Emma", 1.5), ("Sofie", 1.5), ("Freja", 1),
    ("Cecilie", 1), ("Line", 1.5), ("Rikke", 1.5), ("Birthe", 2), ("Jytte", 1.5), ("Dorthe", 2),
    ("Signe", 1), ("Astrid", 1), ("Åse", 0.8), ("Søs", 0.5), ("Bodil", 1), ("Grethe", 1.5),
    ("Ulla", 1), ("Zoë", 0.6), ("Fatima", 0.6), ("Aisha", 0.4), ("Anne-Mette", 0.8),
    ("Mai-Britt", 0.6), ("Tove", 1), ("Else", 1), ("Gitte", 1.5), ("Malene", 1), ("Trine", 1),
    ("Mathilde", 0.8), ("Clara", 0.6), ("Agnes", 0.5), ("Ingrid", 0.6), ("Bjørg", 0.3),
    ("Sølvi", 0.2), ("Chloé", 0.3), ("Agnieszka", 0.3), ("Thảo", 0.2),
)  # fmt: skip
MALE_FIRST_NAMES: tuple[tuple[str, float], ...] = (
    ("Peter", 5), ("Jens", 5), ("Michael", 4), ("Lars", 4), ("Henrik", 4), ("Thomas", 3.5),
    ("Søren", 3.5), ("Niels", 3), ("Jan", 3), ("Anders", 3), ("Morten", 2.5), ("Christian", 2.5),
    ("Jesper", 2.5), ("Martin", 2.5), ("Hans", 2.5), ("Rasmus", 2), ("Mads", 2), ("Per", 2),
    ("Kim", 1.5), ("Ole", 2), ("Jørgen", 2), ("Erik", 2), ("Frederik", 1.5), ("Mikkel", 1.5),
    ("Torben", 1.5), ("Bjørn", 1), ("Jørn", 1), ("Poul", 1.5), ("Knud", 1), ("Kåre", 0.5),
    ("Bent", 1), ("Svend", 1), ("Mogens", 1), ("Øjvind", 0.3), ("Ebbe", 0.4), ("Jonas", 1),
    ("Oliver", 1), ("William", 0.8), ("Noah", 0.6), ("Emil", 1), ("Magnus", 0.8),
    ("Ahmed", 0.5), ("Mohammed", 0.5), ("Ali", 0.4), ("Hans Christian", 0.4),
    ("Carl-Emil", 0.3), ("Asbjørn", 0.4), ("Bjarke", 0.5), ("Noël", 0.1), ("Mehmet", 0.3),
)  # fmt: skip
OTHER_FIRST_NAMES: tuple[tuple[str, float], ...] = (
    ("Alex", 3), ("Kim", 3), ("Robin", 2), ("Sam", 2), ("Noa", 1.5), ("Bo", 1), ("Charlie", 1.5),
    ("Luca", 1), ("Zoë", 1), ("Mikael", 0.5), ("Eli", 1), ("Frej", 0.5), ("Ask", 0.5),
)  # fmt: skip
LAST_NAMES: tuple[tuple[str, float], ...] = (
    ("Nielsen", 4.5), ("Jensen", 4.5), ("Hansen", 3.8), ("Pedersen", 2.7), ("Andersen", 2.7),
    ("Christensen", 2), ("Larsen", 2), ("Sørensen", 1.9), ("Rasmussen", 1.6), ("Jørgensen", 1.4),
    ("Petersen", 1.4), ("Madsen", 1.1), ("Kristensen", 1.1), ("Olsen", 0.9), ("Thomsen", 0.7),
    ("Christiansen", 0.6), ("Poulsen", 0.6), ("Johansen", 0.6), ("Møller", 0.6),
    ("Mortensen", 0.5), ("Knudsen", 0.4), ("Jakobsen", 0.4), ("Mikkelsen", 0.4), ("Olesen", 0.4),
    ("Frederiksen", 0.4), ("Laursen", 0.4), ("Henriksen", 0.4), ("Lund", 0.4), ("Schmidt", 0.3),
    ("Holm", 0.3), ("Kjær", 0.3), ("Bach", 0.2), ("Østergaard", 0.3), ("Dahl", 0.2),
    ("Ærbø", 0.1), ("Skov", 0.3), ("Bruun", 0.2), ("Søndergaard", 0.3), ("Nørgaard", 0.3),
    ("Vestergaard", 0.3), ("Lauridsen", 0.2), ("Kjærgaard", 0.2), ("Brøndum", 0.1),
    ("Haddad", 0.1), ("Yılmaz", 0.1), ("Nguyen", 0.15), ("Khan", 0.1), ("Kowalski", 0.1),
    ("de Neergaard", 0.05), ("Kjær Hansen", 0.1), ("Holm-Nielsen", 0.1), ("Friis", 0.2),
    ("Krogh", 0.2), ("Ågård", 0.05), ("Ørsted", 0.05), ("Due", 0.1),
)  # fmt: skip

EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("example.dk", 35), ("example.com", 20), ("example.net", 10), ("example.org", 10),
    ("post.example.dk", 10), ("mail.example.com", 10), ("sundhed.example", 5),
)  # fmt: skip

#: Postcode ranges by region, with the region's share of the population. Postcodes are drawn in
#: steps of 10 (as most Danish postcodes are), with extra weight on the big cities.
REGION_POSTCODE_RANGES: tuple[tuple[str, float, tuple[tuple[int, int], ...]], ...] = (
    ("Hovedstaden", 0.32, ((1000, 2990), (3000, 3670), (3700, 3790))),
    ("Sjælland", 0.14, ((4000, 4990),)),
    ("Syddanmark", 0.21, ((5000, 5990), (6000, 6990))),
    ("Midtjylland", 0.23, ((7000, 7990), (8000, 8990))),
    ("Nordjylland", 0.10, ((9000, 9990),)),
)
CITY_POSTCODES: tuple[tuple[str, float], ...] = (
    ("2100", 1.0), ("2200", 1.0), ("2300", 0.8), ("8000", 1.5), ("5000", 1.2), ("9000", 1.0),
    ("7100", 0.4), ("6700", 0.5), ("4000", 0.4),
)  # fmt: skip


def postcode_weights() -> tuple[tuple[str, float], ...]:
    """Every drawn postcode with its weight (region share spread over its codes, plus cities)."""
    weighted: dict[str, float] = {}
    for _, share, ranges in REGION_POSTCODE_RANGES:
        codes = [code for low, high in ranges for code in range(low, high + 1, 10)]
        for code in codes:
            weighted[f"{code:04d}"] = 0.85 * share / len(codes)
    city_total = sum(weight for _, weight in CITY_POSTCODES)
    for city, weight in CITY_POSTCODES:
        weighted[city] += 0.15 * weight / city_total
    return tuple(weighted.items())


@dataclass(frozen=True)
class Condition:
    """An ICD-10 diagnosis, how common it is, and the ATC medicines that go with it."""

    icd10: str
    prevalence: float
    medicines: tuple[tuple[str, float], ...]
    age_related: bool = False
    female_share: float = 0.5


CONDITIONS: tuple[Condition, ...] = (
    Condition("I10", 0.20, (("C09AA05", 0.45), ("C08CA01", 0.3), ("C09CA01", 0.15),
                            ("C10AA05", 0.3), ("B01AC06", 0.1)), age_related=True),
    Condition("E11", 0.07, (("A10BA02", 0.8), ("A10BJ02", 0.15), ("C10AA05", 0.45)),
              age_related=True),
    Condition("G25.8", 0.06, (("N04BC05", 0.3), ("N04BC04", 0.15), ("A12CC05", 0.3),
                              ("B03AA07", 0.15), ("N03AX16", 0.08)), female_share=0.65),
    Condition("J45", 0.06, (("R03AC02", 0.75), ("R03BA02", 0.35))),
    Condition("M54.5", 0.08, (("N02BE01", 0.55), ("M01AE01", 0.25))),
    Condition("F32.1", 0.05, (("N06AB06", 0.45), ("N06AB04", 0.2)), female_share=0.65),
    Condition("N18.3", 0.023, (("C09AA05", 0.4), ("B03AA07", 0.2)), age_related=True),
    Condition("N18.4", 0.007, (("C09AA05", 0.3), ("B03AA07", 0.3)), age_related=True),
    Condition("I48", 0.03, (("B01AF01", 0.45), ("B01AF02", 0.35), ("C07AB02", 0.5)),
              age_related=True),
    Condition("D68.2", 0.01, ()),
    Condition("E66", 0.08, (("A10BJ02", 0.05),)),
    Condition("K21.9", 0.07, (("A02BC01", 0.55), ("A02BC02", 0.2))),
    Condition("E03.9", 0.04, (("H03AA01", 0.8),), female_share=0.8),
)  # fmt: skip
#: Taken without a diagnosis on the form: magnesium, vitamin D, paracetamol, low-dose aspirin.
EVERYDAY_MEDICINES: tuple[tuple[str, float], ...] = (
    ("A12CC05", 0.04), ("A11CC05", 0.10), ("N02BE01", 0.07), ("B01AC06", 0.02),
)  # fmt: skip
RLS_DIAGNOSIS = "G25.8"

PLAIN_TEXTS: tuple[str, ...] = (
    "Benene sitter uro hver aften.",
    "Jeg sover dårligt om natten.",
    "Kan I ringe efter kl. 16?",
    "Jeg er i behandling for forhøjet blodtryk.",
    "Min mor havde også uro i benene.",
    "Er begyndt på magnesium.",
    "Jeg vil gerne deltage i forskning om søvn.",
    "Har haft symptomer i over ti år.",
    "Jeg arbejder i skiftehold, så søvnen er svingende.",
    "Tak for et godt initiativ!",
    "Ønsker kun kontakt på e-mail.",
    "Jeg er flyttet siden sidst.",
    "Min læge har anbefalet jern.",
    "Uroen bliver værre, når jeg sidder stille i bilen.",
    "Jeg går tur om aftenen, det hjælper lidt.",
    "Har fået ny medicin for nylig.",
    "Jeg er glad for at kunne hjælpe 😊",
    "Symptomerne forsvandt efter graviditeten.",
)
SEMICOLON_TEXTS: tuple[str, ...] = (
    "Har nyresygdom; tager magnesium",
    "Bedst om aftenen; ikke om morgenen",
    "Allergi: penicillin; nødder",
)
QUOTED_TEXTS: tuple[str, ...] = (
    'Min læge kalder det "uro i benene".',
    'Jeg har "urolige ben" om aftenen.',
    'Jeg fik at vide, at det var "bare nerver".',
)
MULTILINE_TEXTS: tuple[str, ...] = (
    "Jeg sover dårligt.\nKan I ringe efter kl. 16?",
    'Hej\nJeg har "RLS" og tager magnesium; det hjælper lidt.\nMvh',
    "Symptomer:\n- prikken i læggene\n- uro om aftenen; værst i sengen",
    'Til jer der læser dette:\r\nMin læge siger "vent og se"; jeg vil gerne høre fra jer.',
)
HTML_TEXTS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<b>Vigtigt</b>: ring ikke før kl. 9",
    "<img src=x onerror=alert(1)>",
    'Se <a href="http://example.com">min blog</a> om søvn',
)
FORMULA_TEXTS: tuple[str, ...] = (
    "=SUM(A1:A3)",
    "+45 er landekoden, ring gerne",
    "-ingen bemærkninger-",
    "@lægen: se min journal",
    '=HYPERLINK("http://x","klik")',
)
UPDATE_TEXTS: tuple[str, ...] = (
    "Opdatering: ny vægt.",
    "Er begyndt på magnesium.",
    "Har skiftet medicin.",
    "Vil ikke længere kontaktes pr. sms.",
    "",
)
