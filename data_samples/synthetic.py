"""A seeded, reproducible generator of realistic signup-form rows.

Rows are dicts from column to the raw text the form writes ('' for an empty cell). The same
seed and arguments give the same rows, so written files are byte-identical. Everything costly
is precomputed (lookup tables, date texts), so a million rows take seconds.

Submissions come out in ``indsendt`` order. About ``resubmission_rate`` of the volunteers
submit again 1 to 240 days later (same e-mail, maybe in another case; changed weight,
medicines, consent...), some of them a third time. Local times between 02:00 and 03:00 are never
generated, so no timestamp falls in a daylight-saving gap or fold.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import NamedTuple, TypedDict, Unpack

import numpy as np
from numpy.typing import NDArray

from data_samples.damage import DAMAGE_KINDS, DamageKind, damage
from data_samples.export_writer import SIGNUP_COLUMNS
from data_samples.form_values import (
    clock_texts,
    day_texts,
    format_timestamp,
    submission_id,
)
from data_samples.pools import lookup_table
from data_samples.profiles import ProfileMaker, Record

SECONDS_PER_DAY = 86_400
#: Share of resubmissions that are followed by yet another one.
REPEAT_RATE = 0.15
_MAX_DELAY_DAYS = 240
_BATCH = 8192
#: How often people submit in each hour of the day (none between 02:00 and 03:00).
_HOUR_WEIGHTS = (
    0.8, 0.4, 0, 0.2, 0.3, 0.8, 2, 3.5, 4.5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 6, 3,
)  # fmt: skip
_HOURS = np.array(lookup_table([(h, w) for h, w in enumerate(_HOUR_WEIGHTS) if w]), dtype=np.int64)


class SignupOptions(TypedDict, total=False):
    """How a run of submissions is made beyond who and when (defaults in ``signup_records``)."""

    resubmission_rate: float
    damage_rate: float
    damage_kinds: Sequence[DamageKind]


class SampleRow(NamedTuple):
    """One generated record; ``damage`` and ``column`` say how and where it breaks a rule."""

    values: dict[str, str]
    damage: DamageKind | None = None
    column: str | None = None


class SignupFactory:
    """Volunteers and their submissions from one seed; e-mails stay unique across calls.

    Damage draws from a stream of its own, so a damage rate changes only the damaged rows.
    """

    def __init__(self, seed: int) -> None:
        self.profiles = ProfileMaker(seed)
        self.rng = self.profiles.rng
        self.damage_rng = random.Random(f"{seed}:damage")

    def resubmission(self, previous: dict[str, str], when: datetime) -> SampleRow:
        """The same volunteer submitting again at ``when`` (naive local time), based on their
        ``previous`` (undamaged) row."""
        return SampleRow(self._again(previous, format_timestamp(when)))

    def damaged(self, row: SampleRow, kind: DamageKind) -> SampleRow:
        """``row`` broken in the way ``kind`` names."""
        values, column = damage(row.values, kind, self.damage_rng)
        return SampleRow(values, kind, column)

    def fresh_email(self) -> str:
        """An e-mail address no volunteer of this factory uses."""
        return self.profiles.fresh_email()

    def _again(self, previous: dict[str, str], timestamp: str) -> dict[str, str]:
        values = self.profiles.changed_profile(previous)
        values["indsendelse_id"] = submission_id(self.rng.getrandbits(128))
        values["indsendt"] = timestamp
        return values

    def _seconds(self, n: int) -> NDArray[np.int64]:
        """Seconds after midnight, weighted by the hour people fill in forms (never 02-03)."""
        rng = self.profiles.np_rng
        return _HOURS[rng.integers(0, len(_HOURS), size=n)] * 3600 + rng.integers(0, 3600, size=n)

    def signups(
        self, n_volunteers: int, *, start: date, end: date, **options: Unpack[SignupOptions]
    ) -> Iterator[SampleRow]:
        """Submissions by ``n_volunteers`` new volunteers, spread evenly over ``start`` to
        ``end`` (both included), and their re-submissions, in ``indsendt`` order. Each row is
        damaged with probability ``damage_rate``, in one of ``damage_kinds`` chosen evenly."""
        records = self.signup_records(n_volunteers, start=start, end=end, **options)
        for record, kind, column in records:
            yield SampleRow(dict(zip(SIGNUP_COLUMNS, record, strict=True)), kind, column)

    def signup_records(
        self,
        n_volunteers: int,
        *,
        start: date,
        end: date,
        resubmission_rate: float = 0.1,
        damage_rate: float = 0.0,
        damage_kinds: Sequence[DamageKind] = DAMAGE_KINDS,
    ) -> Iterator[tuple[Record, DamageKind | None, str | None]]:
        """``signups`` as (values in ``SIGNUP_COLUMNS`` order, damage, column): the fast path
        for big files, same rows."""
        first, n_days = start.toordinal(), end.toordinal() - start.toordinal() + 1
        if n_volunteers <= 0 or n_days <= 0:
            return
        rng, random_, damage_random = self.rng, self.rng.random, self.damage_rng.random
        pending: list[tuple[int, int, dict[str, str]]] = []  # (moment, order, previous row)
        order = 0
        day_base, day_text = day_texts()
        clock = clock_texts()

        def emit(
            record: Record, moment: int, rate: float
        ) -> tuple[Record, DamageKind | None, str | None]:
            nonlocal order
            if random_() < rate:
                later = moment // SECONDS_PER_DAY + 1 + int(random_() ** 2 * _MAX_DELAY_DAYS)
                if later < first + n_days:
                    second = int(_HOURS[rng.getrandbits(10)]) * 3600 + rng.randrange(3600)
                    values = dict(zip(SIGNUP_COLUMNS, record, strict=True))
                    heapq.heappush(pending, (later * SECONDS_PER_DAY + second, order, values))
                    order += 1
            if damage_rate and damage_random() < damage_rate:
                kind = damage_kinds[int(damage_random() * len(damage_kinds))]
                values = dict(zip(SIGNUP_COLUMNS, record, strict=True))
                broken, column = damage(values, kind, self.damage_rng)
                return _as_record(broken), kind, column
            return record, None, None

        def resubmit() -> tuple[Record, DamageKind | None, str | None]:
            moment, _, previous = heapq.heappop(pending)
            day, second = divmod(moment, SECONDS_PER_DAY)
            values = self._again(previous, f"{day_text[day - day_base]} {clock[second]}")
            return emit(_as_record(values), moment, REPEAT_RATE)

        chunk_days = max(1, _BATCH * n_days // n_volunteers)
        for low_day in range(0, n_days, chunk_days):
            high_day = min(n_days, low_day + chunk_days)
            volunteers = np.arange(
                -(-low_day * n_volunteers // n_days), -(-high_day * n_volunteers // n_days)
            )
            days = first + volunteers * n_days // n_volunteers
            seconds = self._seconds(len(days))
            by_time = np.lexsort((seconds, days))
            days, seconds = days[by_time], seconds[by_time]
            records = self.profiles.new_profiles(days, seconds)
            moments = (days * SECONDS_PER_DAY + seconds).tolist()
            for moment, record in zip(moments, records, strict=True):
                while pending and pending[0][0] <= moment:
                    yield resubmit()
                yield emit(record, moment, resubmission_rate)
            limit = (first + high_day) * SECONDS_PER_DAY
            while pending and pending[0][0] < limit:
                yield resubmit()


_as_record = itemgetter(*SIGNUP_COLUMNS)


def generate_signups(
    n_volunteers: int, *, seed: int, start: date, end: date, **options: Unpack[SignupOptions]
) -> Iterator[SampleRow]:
    """Rows of a signups export: see ``SignupFactory.signups``."""
    return SignupFactory(seed).signups(n_volunteers, start=start, end=end, **options)


def generate_withdrawals(
    people: Sequence[tuple[str, datetime]],
    *,
    seed: int,
    start: datetime,
    end: datetime,
    erase_share: float = 0.4,
    recase_rate: float = 0.1,
) -> list[SampleRow]:
    """Rows of an afmeldinger export, one per person ``(e-mail as signed up, latest submission)``,
    each after that submission and between ``start`` and ``end``, sorted by time. About
    ``erase_share`` ask to be erased (``slet``), the rest to be left alone (``afmeld``);
    ``recase_rate`` of the e-mails are written in another case."""
    rng = random.Random(seed)
    rows: list[tuple[datetime, SampleRow]] = []
    for email, submitted in people:
        earliest = max(start, submitted + timedelta(minutes=1))
        if earliest >= end:
            continue
        span = int((end - earliest).total_seconds())
        when = earliest + timedelta(seconds=rng.randrange(span))
        for _ in range(20):  # keep clear of the daylight-saving hour
            if when.hour != 2:
                break
            when = earliest + timedelta(seconds=rng.randrange(span))
        written = recased(email, rng) if rng.random() < recase_rate else email
        action = "slet" if rng.random() < erase_share else "afmeld"
        values = {"email": written, "tidspunkt": format_timestamp(when), "handling": action}
        rows.append((when, SampleRow(values)))
    rows.sort(key=lambda pair: pair[0])
    return [row for _, row in rows]


def recased(email: str, rng: random.Random) -> str:
    """The same address in another case (``anne.lund@x.dk`` -> ``Anne.Lund@x.dk``, ...)."""
    local, domain = email.lower().split("@", 1)
    options = [
        email.lower(),
        email.upper(),
        ".".join(part.capitalize() for part in local.split(".")) + "@" + domain,
        local.capitalize() + "@" + domain.upper(),
    ]
    others = [option for option in dict.fromkeys(options) if option != email]
    return rng.choice(others)
