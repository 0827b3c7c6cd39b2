"""Volunteers' answers as the form writes them: new profiles in batches, or a changed one.

New volunteers are drawn a batch at a time with numpy (lookup tables of 1024 slots, one random
integer per choice); only what needs string work per row (e-mail, phone, free text, medicine
lists) is done row by row. ``changed_profile`` re-draws a few answers of one earlier row.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from data_samples import pools
from data_samples.codes import CONDITION_SETS, EVERYDAY_MEDICINES, messy_codes
from data_samples.export_writer import SIGNUP_COLUMNS
from data_samples.form_values import (
    clock_texts,
    day_texts,
    two_digit_years,
    weight_text,
    with_case,
)
from data_samples.pools import lookup_table, object_array

Record = tuple[str, ...]
ObjectArray = NDArray[np.object_]
IntArray = NDArray[np.int64]

SEXES = ("Kvinde", "Mand", "Andet")


def _table(weighted: Sequence[tuple[Any, float]], bits: int = 10) -> ObjectArray:
    return object_array(lookup_table(weighted, bits))


def _by_group(tables: Sequence[Sequence[tuple[str, float]]]) -> ObjectArray:
    return np.stack([_table(weighted) for weighted in tables])


_SEX_CODES = np.array(lookup_table([(0, 49), (1, 49), (2, 2)]), dtype=np.int64)
_FIRST_NAMES = _by_group(
    [pools.FEMALE_FIRST_NAMES, pools.MALE_FIRST_NAMES, pools.OTHER_FIRST_NAMES]
)
_LAST_NAMES = _table(pools.LAST_NAMES)
_FIRST_ASCII = np.vectorize(pools.ascii_name, otypes=[object])(_FIRST_NAMES)
_LAST_ASCII = np.vectorize(pools.ascii_name, otypes=[object])(_LAST_NAMES)
_FIRST_INITIAL = np.vectorize(lambda name: name[0], otypes=[object])(_FIRST_ASCII)
_LAST_INITIAL = np.vectorize(lambda name: name[0], otypes=[object])(_LAST_ASCII)
_POSTCODES = _table(pools.postcode_weights(), bits=12)
#: Age bands of panel volunteers: (lowest age, highest age) in years.
_AGE_BANDS = np.array(
    lookup_table(
        [((18, 30), 12), ((30, 40), 15), ((40, 50), 17), ((50, 60), 20), ((60, 70), 19),
         ((70, 80), 13), ((80, 95), 4)]
    ),
    dtype=np.float64,
)  # fmt: skip
#: Yes/no answers to the four rls_* questions, by group (diagnosed RLS, symptoms only, none).
_RLS_ANSWERS = _by_group(
    [[("Ja", 90), ("Nej", 7), ("", 3)], [("Ja", 75), ("Nej", 20), ("", 5)],
     [("Ja", 5), ("Nej", 91), ("", 4)]]
)  # fmt: skip
#: Chance that all four answers are the group's typical one (Ja, Ja, Nej).
_TYPICAL_SHARE = np.array([0.8, 0.6, 0.85])
_TYPICAL_ANSWER = np.array(["Ja", "Ja", "Nej"], dtype=object)
_NIGHTS = _by_group(
    [[(str(n), 15) for n in range(2, 8)] + [("0", 1), ("1", 4), ("", 5)],
     [(str(n), 19) for n in range(1, 6)] + [("", 5)],
     [("0", 85), ("1", 6), ("2", 4), ("", 5)]]
)  # fmt: skip
SLEEP = _by_group(
    [[("1", 19), ("2", 33), ("3", 28), ("4", 12), ("5", 3), ("", 5)],
     [("1", 12), ("2", 30), ("3", 33), ("4", 17), ("5", 3), ("", 5)],
     [("1", 5), ("2", 14), ("3", 30), ("4", 31), ("5", 15), ("", 5)]]
)  # fmt: skip
#: gravid for women under 50, and 50 or over.
GRAVID = _by_group(
    [[("Nej", 85), ("Ja", 4), ("Ved ikke", 3), ("", 8)], [("Nej", 86), ("Ved ikke", 2), ("", 12)]]
)
_SMOKER = _table([("Nej", 82), ("Ja", 13), ("", 5)])
#: Phone numbers as people type them: 8 digits, maybe +45 / 0045 first, maybe spaces.
_PHONE_PATTERNS = _table(
    [("{}{}{}{}", 35), ("{} {} {} {}", 20), ("+45{}{}{}{}", 10), ("+45 {} {} {} {}", 12),
     ("0045 {}{}{}{}", 4), ("0045 {} {} {} {}", 4), ("+45 {}{} {}{}", 5), ("{}{} {}{}", 10)]
)  # fmt: skip
#: How people build the local part of their address: from first/last name, their initials
#: (f, l) and the last two digits of the birth year; other tokens are written as they are.
_LOCAL_PARTS = (
    (("first", ".", "last"), 30), (("first", "last"), 15), (("f", "last"), 10),
    (("first", ".", "last", "yy"), 10), (("first", "_", "last"), 5), (("first", "yy"), 15),
    (("first", ".", "l"), 15),
)  # fmt: skip
_LOCAL_PART_STYLES = np.array(lookup_table([(k, w) for k, (_, w) in enumerate(_LOCAL_PARTS)]))
_DOMAINS = _table(pools.EMAIL_DOMAINS)
EMAIL_CASES = _table([("lower", 72), ("capitalised", 20), ("domain", 5), ("upper", 3)])
_TEXT_KINDS = _table(
    [("", 78), ("plain", 13), ("two", 1.5), ("semicolon", 1.5), ("quoted", 1.5),
     ("multiline", 2), ("html", 1), ("formula", 1), ("long", 0.5)]
)  # fmt: skip
_TEXTS = {
    "plain": pools.PLAIN_TEXTS,
    "semicolon": pools.SEMICOLON_TEXTS,
    "quoted": pools.QUOTED_TEXTS,
    "multiline": pools.MULTILINE_TEXTS,
    "html": pools.HTML_TEXTS,
    "formula": pools.FORMULA_TEXTS,
}
_HEIGHT_MEAN = np.array([167.0, 181.0, 174.0])
_HEIGHT_SPREAD = np.array([6.0, 7.0, 9.0])
_MAX_TEXT = 2000
#: Columns of the picks matrix drawn per batch (one random table slot each).
_PICKS = (
    "sex", "first", "last", "age", "urge", "rest", "movement", "evening", "nights", "sleep",
    "gravid", "smoker", "phone", "email", "domain", "case", "text", "everyday",
)  # fmt: skip
_PICK = {name: i for i, name in enumerate(_PICKS)}
_UNIFORMS = (
    "age", "conditions", "symptoms", "typical", "phone_empty", "consent", "sms", "height_empty",
    "weight_empty", "diagnoses_empty", "medicines_empty", "obese",
)  # fmt: skip
_UNIFORM = {name: i for i, name in enumerate(_UNIFORMS)}


class ProfileMaker:
    """Draws volunteers from one seed; remembers e-mails so that each stays unique."""

    def __init__(self, seed: int) -> None:
        self.np_rng = np.random.default_rng(seed)
        self.rng = random.Random(int(self.np_rng.integers(1 << 62)))
        self._emails: set[str] = set()
        self._serial = 0

    def new_profiles(self, days: IntArray, seconds: IntArray) -> list[Record]:
        """First submissions of ``len(days)`` new volunteers on those days (date ordinals) at
        those seconds after local midnight, as records (values in ``SIGNUP_COLUMNS`` order)."""
        n = len(days)
        if not n:
            return []
        rng = self.np_rng
        picks = rng.integers(0, 1024, size=(len(_PICKS), n))
        u = rng.random((len(_UNIFORMS), n))
        p, q = _PICK, _UNIFORM
        sex = _SEX_CODES[picks[p["sex"]]]
        age_band = _AGE_BANDS[picks[p["age"]]]
        low, high = age_band[:, 0], age_band[:, 1]
        age_days = ((low + u[q["age"]] * (high - low - 0.6)) * 365.25).astype(np.int64) + 2
        base, texts = day_texts()
        born = days - age_days
        group = (low >= 40).astype(np.int64) + (low >= 60)
        combo = CONDITION_SETS.draw(sex * 3 + group, u[q["conditions"]])
        rls = np.where(CONDITION_SETS.rls[combo], 0, np.where(u[q["symptoms"]] < 0.04, 1, 2))
        typical = u[q["typical"]] < _TYPICAL_SHARE[rls]
        answers = {
            name: np.where(typical, _TYPICAL_ANSWER[rls], _RLS_ANSWERS[rls, picks[p[name]]])
            for name in ("urge", "rest", "movement", "evening")
        }
        has_phone = u[q["phone_empty"]] >= 0.2
        consent = u[q["consent"]] < 0.9
        channel = np.where(consent, np.where(has_phone & (u[q["sms"]] < 0.35), "sms", "email"), "")
        gravid = np.where(sex == 0, GRAVID[(low >= 50).astype(np.int64), picks[p["gravid"]]], "")
        heights, weights = self._body(sex, group, CONDITION_SETS.obese[combo], u)
        columns: dict[str, list[str]] = {
            "indsendelse_id": self._ids(n),
            "indsendt": (texts[days - base] + " " + clock_texts()[seconds]).tolist(),
            "fornavn": _FIRST_NAMES[sex, picks[p["first"]]].tolist(),
            "efternavn": _LAST_NAMES[picks[p["last"]]].tolist(),
            "foedselsdato": texts[born - base].tolist(),
            "koen": [SEXES[i] for i in sex.tolist()],
            "postnummer": _POSTCODES[rng.integers(0, 4096, size=n)].tolist(),
            "hoejde_cm": heights,
            "vaegt_kg": weights,
            "gravid": gravid.tolist(),
            "ryger": _SMOKER[picks[p["smoker"]]].tolist(),
            "rls_trang": answers["urge"].tolist(),
            "rls_hvile": answers["rest"].tolist(),
            "rls_bevaegelse": answers["movement"].tolist(),
            "rls_aften": answers["evening"].tolist(),
            "rls_naetter_pr_uge": _NIGHTS[rls, picks[p["nights"]]].tolist(),
            "soevnkvalitet": SLEEP[rls, picks[p["sleep"]]].tolist(),
            "samtykke_kontakt": np.where(consent, "Ja", "Nej").tolist(),
            "kontaktform": channel.tolist(),
        }
        columns["email"] = self._emails_for(sex, born, picks)
        columns["telefon"] = self._phones(has_phone, picks[p["phone"]])
        columns["diagnoser"] = self._lists(CONDITION_SETS.diagnoses[combo], u[q["diagnoses_empty"]])
        columns["medicin"] = self._lists(
            self._medicines(combo, picks[p["everyday"]]), u[q["medicines_empty"]]
        )
        columns["andet"] = [
            self.free_text(kind) if kind else "" for kind in _TEXT_KINDS[picks[p["text"]]].tolist()
        ]
        return list(zip(*(columns[name] for name in SIGNUP_COLUMNS), strict=True))

    def _ids(self, n: int) -> list[str]:
        raw = self.np_rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
        raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
        raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
        h = raw.tobytes().hex()
        return [
            f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
            f"{h[i + 20 : i + 32]}"
            for i in range(0, 32 * n, 32)
        ]

    def _body(
        self, sex: IntArray, group: IntArray, obese: NDArray[np.bool_], u: NDArray[np.float64]
    ) -> tuple[list[str], list[str]]:
        normal = self.np_rng.standard_normal((2, len(sex)))
        height = np.clip(np.rint(_HEIGHT_MEAN[sex] + _HEIGHT_SPREAD[sex] * normal[0]), 145, 210)
        bmi = np.clip(25.5 + 0.8 * group + 4.2 * normal[1], 17.0, 45.0)
        bmi = np.where(obese & (bmi < 30.0), 30.0 + 6.0 * u[_UNIFORM["obese"]], bmi)
        tenths = np.clip(np.rint(bmi * height * height / 1000), 380, 2000).astype(np.int64)
        weight = [f"{t // 10},{t % 10}" for t in tenths.tolist()]
        height_text = [str(int(cm)) for cm in height.tolist()]
        return (
            np.where(u[_UNIFORM["height_empty"]] < 0.06, "", height_text).tolist(),
            np.where(u[_UNIFORM["weight_empty"]] < 0.08, "", weight).tolist(),
        )

    def _emails_for(self, sex: IntArray, born: IntArray, picks: IntArray) -> list[str]:
        """Addresses made from the names, unique, in varied case."""
        base, _ = day_texts()
        first, last = picks[_PICK["first"]], picks[_PICK["last"]]
        tokens = {
            "first": _FIRST_ASCII[sex, first],
            "last": _LAST_ASCII[last],
            "f": _FIRST_INITIAL[sex, first],
            "l": _LAST_INITIAL[last],
            "yy": two_digit_years()[born - base],
        }
        style = _LOCAL_PART_STYLES[picks[_PICK["email"]]]
        local = np.empty(len(sex), dtype=object)
        for k, (parts, _) in enumerate(_LOCAL_PARTS):
            rows = style == k
            built = tokens[parts[0]][rows]
            for part in parts[1:]:
                built = built + (tokens[part][rows] if part in tokens else part)
            local[rows] = built
        domains = _DOMAINS[picks[_PICK["domain"]]]
        addresses = (local + "@" + domains).tolist()
        taken = self._emails
        for i, drawn in enumerate(addresses):
            self._serial += 1
            if drawn in taken:  # never shared: one volunteer = one e-mail address
                addresses[i] = f"{local[i]}.{self._serial}@{domains[i]}"
            taken.add(addresses[i])
        cases = EMAIL_CASES[picks[_PICK["case"]]]
        for i in np.flatnonzero(cases != "lower").tolist():
            addresses[i] = with_case(addresses[i], cases[i])
        return addresses

    def fresh_email(self) -> str:
        """An address nobody drawn so far uses."""
        self._serial += 1
        address = f"ukendt.person.{self._serial}@example.dk"
        self._emails.add(address)
        return address

    def _phones(self, has_phone: NDArray[np.bool_], patterns: IntArray) -> list[str]:
        numbers = self.np_rng.integers(20_000_000, 100_000_000, size=len(patterns))
        return [
            pattern.format(d[:2], d[2:4], d[4:6], d[6:]) if has else ""
            for has, pattern, d in zip(
                has_phone.tolist(),
                _PHONE_PATTERNS[patterns].tolist(),
                numbers.astype(str).tolist(),
                strict=True,
            )
        ]

    def _one_phone(self) -> str:
        if self.rng.random() < 0.2:
            return ""
        d = str(self.rng.randrange(20_000_000, 100_000_000))
        return str(_PHONE_PATTERNS[self.rng.getrandbits(10)]).format(d[:2], d[2:4], d[4:6], d[6:])

    def _medicines(self, combo: IntArray, everyday: IntArray) -> list[str]:
        random_ = self.rng.random
        medicines = []
        for candidates, usual in zip(
            CONDITION_SETS.medicines[combo].tolist(),
            EVERYDAY_MEDICINES[everyday].tolist(),
            strict=True,
        ):
            if candidates:
                chosen = [atc for atc, p in candidates if random_() < p] + usual
                medicines.append("|".join(dict.fromkeys(chosen)))
            else:
                medicines.append("|".join(usual))
        return medicines

    def _lists(
        self, codes: Sequence[str] | ObjectArray, unanswered: NDArray[np.float64]
    ) -> list[str]:
        """List cells: '' when not answered (8 %), INGEN for none, the codes (a few messy)."""
        random_ = self.rng.random
        cells = []
        for field, skipped in zip(list(codes), (unanswered < 0.08).tolist(), strict=True):
            if skipped:
                cells.append("")
            elif not field:
                cells.append("INGEN")
            elif random_() < 0.015:
                cells.append(messy_codes(field, self.rng.getrandbits(8)))
            else:
                cells.append(field)
        return cells

    def free_text(self, kind: str) -> str:
        """A free-text answer of one kind (see ``_TEXT_KINDS``)."""
        rng = self.rng
        if kind == "long":
            target, text = rng.randint(1200, 2000), rng.choice(pools.PLAIN_TEXTS)
            while len(text) < target:
                sentence = rng.choice(pools.PLAIN_TEXTS)
                if len(text) + 1 + len(sentence) > _MAX_TEXT:
                    break
                text = f"{text} {sentence}"
            return text
        if kind == "two":
            return f"{rng.choice(pools.PLAIN_TEXTS)} {rng.choice(pools.PLAIN_TEXTS)}"
        return rng.choice(_TEXTS[kind])

    def changed_profile(self, previous: dict[str, str]) -> dict[str, str]:
        """The same person's answers some weeks later (without id and time): the e-mail maybe
        in another case, weight, medicines, sleep, consent and free text often changed."""
        rng, random_ = self.rng, self.rng.random
        values = dict(previous)
        values["email"] = with_case(values["email"], EMAIL_CASES[rng.getrandbits(10)])
        if random_() < 0.1:
            values["telefon"] = self._one_phone()
        if random_() < 0.05:
            values["postnummer"] = _POSTCODES[rng.getrandbits(12)]
        if values["vaegt_kg"] and random_() < 0.8:
            kilograms = float(values["vaegt_kg"].replace(",", ".")) + rng.gauss(0, 2.5)
            values["vaegt_kg"] = weight_text(min(max(kilograms, 38.0), 200.0))
        if random_() < 0.3:
            values["medicin"] = self._changed_medicines(values["medicin"], values["diagnoser"])
        if values["gravid"] and random_() < 0.1:
            values["gravid"] = GRAVID[1, rng.getrandbits(10)]
        if random_() < 0.2:
            values["soevnkvalitet"] = SLEEP[2, rng.getrandbits(10)]
        if random_() < 0.1:
            values["samtykke_kontakt"] = "Nej" if values["samtykke_kontakt"] == "Ja" else "Ja"
        if values["samtykke_kontakt"] == "Nej":
            values["kontaktform"] = ""
        elif not values["kontaktform"] or (
            values["kontaktform"] == "sms" and not values["telefon"]
        ):
            values["kontaktform"] = "sms" if values["telefon"] and random_() < 0.35 else "email"
        values["andet"] = rng.choice(pools.UPDATE_TEXTS) if random_() < 0.3 else ""
        return values

    def _changed_medicines(self, field: str, diagnoses: str) -> str:
        codes = [c for c in field.split("|") if c and c != "INGEN"]
        if codes and self.rng.random() < 0.4:
            codes.pop(self.rng.randrange(len(codes)))
        else:
            rls = pools.RLS_DIAGNOSIS in diagnoses.upper()
            codes.append(
                self.rng.choice(("A12CC05", "N04BC05", "B03AA07") if rls else ("A12CC05",))
            )
        return "|".join(dict.fromkeys(codes)) or "INGEN"
