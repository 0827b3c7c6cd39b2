"""The committed sample files: a first export, a later full re-export, withdrawals, broken files.

Everything comes from ``SAMPLE_SEED``, so ``write_samples`` gives the same bytes every time.
Volunteers are given roles (held back from the first export, withdrawn, re-submitting...) and
a few rows are edited so that every case the ingest must handle occurs at least once.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from data_samples.broken import write_broken_files
from data_samples.codes import messy_codes
from data_samples.damage import DAMAGE_KINDS
from data_samples.export_writer import SIGNUP_COLUMNS, WITHDRAWAL_COLUMNS, ExportWriter
from data_samples.form_values import format_timestamp, parse_timestamp
from data_samples.synthetic import SampleRow, SignupFactory, recased

SAMPLE_SEED = 20_261_120
FIRST_START, FIRST_END = date(2025, 1, 1), date(2026, 10, 31)
REEXPORT_END = date(2026, 11, 20)
N_VOLUNTEERS = 400
N_NEW_VOLUNTEERS = 25
N_NEWER_RESUBMISSIONS = 12
N_WITHDRAWN = 11  # and one e-mail nobody signed up with
N_ERASED = 5
COMMAND = "python -m data_samples.generate samples"
LINE_RULE = "physical line where the record starts: LF characters before it + 1; header is line 1"

HTML_TEXT = "<script>alert(1)</script>"
FORMULA_TEXTS = ('=HYPERLINK("http://x","klik")', "@lægen: se min journal")
MULTILINE_TEXT = 'Hej\nJeg har "RLS" og tager magnesium; det hjælper lidt.\nMvh'


@dataclass
class Samples:
    """The rows of each sample file and the story behind them."""

    signups: list[SampleRow]
    reexport: list[SampleRow]
    withdrawals: list[SampleRow]
    added: dict[str, str] = field(default_factory=dict)  # indsendelse_id -> case in re-export
    unknown_emails: list[str] = field(default_factory=list)
    recased_emails: list[str] = field(default_factory=list)


def _time_between(rng: random.Random, first: datetime, last: datetime) -> datetime:
    """A moment in [first, last], to the second, in waking hours (07:00 to 23:59)."""
    while True:
        moment = first + timedelta(seconds=rng.randint(0, int((last - first).total_seconds())))
        if moment.hour >= 7:
            return moment


def _when(row: SampleRow) -> datetime:
    return parse_timestamp(row.values["indsendt"])


@dataclass
class _Roles:
    """Which volunteers (lower-cased e-mails) play which part in the samples."""

    held_back: str  # first submission missing from the first export
    case_pair: str  # two submissions, e-mail in different case
    consent_withdrawer: str  # re-submits with samtykke_kontakt=Nej
    withdrawn: list[str]
    resubmitting: list[str]
    damaged: list[str]
    edited: list[str]


def _roles(rows: Sequence[SampleRow], people: dict[str, list[int]], rng: random.Random) -> _Roles:
    repeaters = [p for p, idx in people.items() if len(idx) >= 2]
    held_back, case_pair = rng.sample(repeaters, 2)
    free = sorted(set(people) - {held_back, case_pair})
    rng.shuffle(free)
    consenting = [p for p in free if rows[people[p][-1]].values["samtykke_kontakt"] == "Ja"]
    free.remove(consenting[0])
    n_withdrawn, n_resubmitting = N_WITHDRAWN, N_NEWER_RESUBMISSIONS - 1
    n_damaged = n_withdrawn + n_resubmitting + len(DAMAGE_KINDS)
    return _Roles(
        held_back=held_back,
        case_pair=case_pair,
        consent_withdrawer=consenting[0],
        withdrawn=free[:n_withdrawn],
        resubmitting=[*free[n_withdrawn : n_withdrawn + n_resubmitting], consenting[0]],
        damaged=free[n_withdrawn + n_resubmitting : n_damaged],
        edited=free[n_damaged:],
    )


def build_samples(seed: int = SAMPLE_SEED) -> Samples:
    """All sample rows, decided from ``seed``."""
    factory = SignupFactory(seed)
    rng = factory.rng
    rows = list(factory.signups(N_VOLUNTEERS, start=FIRST_START, end=FIRST_END))
    people: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        people.setdefault(row.values["email"].lower(), []).append(i)
    roles = _roles(rows, people, rng)
    first_row, second_row = (rows[i].values for i in people[roles.case_pair][:2])
    if first_row["email"] == second_row["email"]:
        second_row["email"] = recased(first_row["email"], rng)
    _edit_features([rows[people[p][0]] for p in roles.edited])
    for person, kind in zip(roles.damaged, DAMAGE_KINDS, strict=True):
        i = rng.choice(people[person])
        rows[i] = factory.damaged(rows[i], kind)
    held_back = rows[people[roles.held_back][0]]
    signups = [row for row in rows if row is not held_back]
    latest = {p: rows[idx[-1]].values for p, idx in people.items()}
    withdrawals, erasure_times, unknown, recased_emails = _withdrawals(
        rng, roles.withdrawn, latest, rows
    )
    added = {held_back.values["indsendelse_id"]: "older_missing_submission"}
    additions = [held_back, *_newcomers(factory, added)]
    november = datetime(2026, 11, 1, 6), datetime(2026, 11, 20, 21)
    for person in roles.resubmitting:
        row = factory.resubmission(latest[person], _time_between(rng, *november))
        case = "newer_resubmission"
        if person == roles.consent_withdrawer:
            row.values.update(samtykke_kontakt="Nej", kontaktform="")
            case = "consent_withdrawn"
        additions.append(row)
        added[row.values["indsendelse_id"]] = case
    erased = min(erasure_times, key=erasure_times.__getitem__)
    erased_at = erasure_times[erased]
    last = min(erased_at + timedelta(days=8), november[1])
    row = factory.resubmission(
        latest[erased], _time_between(rng, erased_at + timedelta(hours=1), last)
    )
    additions.append(row)
    added[row.values["indsendelse_id"]] = "after_erasure"
    additions.sort(key=_when)
    reexport = list(heapq.merge(signups, additions, key=_when))
    return Samples(signups, reexport, withdrawals, added, unknown, recased_emails)


def _newcomers(factory: SignupFactory, added: dict[str, str]) -> list[SampleRow]:
    """New volunteers of November 2026 (some submit twice), labelled in ``added``."""
    rows = list(factory.signups(N_NEW_VOLUNTEERS, start=date(2026, 11, 1), end=REEXPORT_END))
    seen: set[str] = set()
    for row in rows:
        email = row.values["email"].lower()
        case = "new_volunteer_resubmission" if email in seen else "new_volunteer"
        added[row.values["indsendelse_id"]] = case
        seen.add(email)
    return rows


def _edit_features(rows: Sequence[SampleRow]) -> None:
    """Make sure the rare-but-valid cases occur: messy codes, HTML, formulas, multi-line text."""
    texts = [HTML_TEXT, *FORMULA_TEXTS, MULTILINE_TEXT]
    for row, text in zip(rows, texts, strict=False):
        row.values["andet"] = text
    with_codes = [r for r in rows[len(texts) :] if r.values["diagnoser"] not in ("", "INGEN")]
    with_medicines = [r for r in rows[len(texts) :] if r.values["medicin"] not in ("", "INGEN")]
    with_codes[0].values["diagnoser"] = messy_codes(with_codes[0].values["diagnoser"], 1)
    medicines = [r for r in with_medicines if r is not with_codes[0]]
    medicines[0].values["medicin"] = messy_codes(medicines[0].values["medicin"], 0)


def _withdrawals(
    rng: random.Random,
    withdrawn: Sequence[str],
    latest: dict[str, dict[str, str]],
    rows: Sequence[SampleRow],
) -> tuple[list[SampleRow], dict[str, datetime], list[str], list[str]]:
    """~12 withdrawals in November 2026: afmeld and slet, one e-mail in another case than ever
    signed up with, one address nobody used; the erasure time of each erased person, the
    unknown address and the re-cased one."""
    written_emails = {row.values["email"] for row in rows}
    result: list[tuple[datetime, dict[str, str]]] = []
    erasure_times: dict[str, datetime] = {}
    recased_emails = []
    for n, person in enumerate(withdrawn):
        email = latest[person]["email"]
        if n == 0:
            email = next(e for e in (email.upper(), email.title()) if e not in written_emails)
            recased_emails.append(email)
        when = _time_between(rng, datetime(2026, 11, 1, 7), datetime(2026, 11, 19, 22))
        action = "slet" if n < N_ERASED else "afmeld"
        if action == "slet":
            erasure_times[person] = when
        result.append(
            (when, {"email": email, "tidspunkt": format_timestamp(when), "handling": action})
        )
    local, domain = latest[withdrawn[-1]]["email"].lower().split("@")
    unknown = f"{local}@{domain.replace('example', 'exmaple')}"
    when = _time_between(rng, datetime(2026, 11, 1, 7), datetime(2026, 11, 19, 22))
    result.append(
        (when, {"email": unknown, "tidspunkt": format_timestamp(when), "handling": "afmeld"})
    )
    result.sort(key=lambda pair: pair[0])
    rows_out = [SampleRow(values) for _, values in result]
    return rows_out, erasure_times, [unknown], recased_emails


def _signups_entry(path: Path, rows: Sequence[SampleRow]) -> dict[str, Any]:
    """Write a signups sample; its manifest entry with the damaged rows' line numbers."""
    damaged: list[dict[str, Any]] = []
    lines: dict[str, int] = {}
    with ExportWriter(path, SIGNUP_COLUMNS) as writer:
        for row in rows:
            line = writer.write(row.values)
            lines[row.values["indsendelse_id"]] = line
            if row.damage:
                damaged.append(
                    {
                        "line": line,
                        "indsendelse_id": row.values["indsendelse_id"],
                        "damage": row.damage,
                        "column": row.column,
                    }
                )
    valid = [row for row in rows if not row.damage]
    return {
        "kind": "signups",
        "rows": len(rows),
        "valid_rows": len(valid),
        "volunteers": len({row.values["email"].lower() for row in valid}),
        "distinct_emails_all_rows": len({row.values["email"].lower() for row in rows}),
        "damaged_rows": damaged,
        "_lines": lines,
    }


def write_samples(out_dir: Path, seed: int = SAMPLE_SEED) -> dict[str, Any]:
    """Write every sample file and ``manifest.json`` into ``out_dir``; returns the manifest."""
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = build_samples(seed)
    files: dict[str, Any] = {
        "signups.csv": _signups_entry(out_dir / "signups.csv", samples.signups)
    }
    files["signups.csv"].pop("_lines")
    reexport = _signups_entry(out_dir / "signups_reexport.csv", samples.reexport)
    lines = reexport.pop("_lines")
    reexport["added_rows"] = sorted(
        (
            {"line": lines[i], "indsendelse_id": i, "case": case}
            for i, case in samples.added.items()
        ),
        key=lambda entry: entry["line"],
    )
    files["signups_reexport.csv"] = reexport
    with ExportWriter(out_dir / "afmeldinger.csv", WITHDRAWAL_COLUMNS) as writer:
        writer.write_all(row.values for row in samples.withdrawals)
    by_action: dict[str, list[str]] = {"afmeld": [], "slet": []}
    for row in samples.withdrawals:
        by_action[row.values["handling"]].append(row.values["email"])
    files["afmeldinger.csv"] = {
        "kind": "afmeldinger",
        "rows": len(samples.withdrawals),
        "emails_by_action": by_action,
        "unknown_emails": samples.unknown_emails,
        "recased_emails": samples.recased_emails,
    }
    for broken in write_broken_files(out_dir / "broken", seed):
        files[f"broken/{broken.name}"] = {
            "kind": broken.kind,
            "rows": broken.rows,
            "refused_as_a_whole": True,
            "problem": broken.problem,
        }
    manifest = {"seed": seed, "command": COMMAND, "line": LINE_RULE, "files": files}
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (out_dir / "manifest.json").write_text(text, encoding="utf-8", newline="\n")
    return manifest
