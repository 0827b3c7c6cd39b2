"""The synthetic export generator and the committed sample files (data_samples/).

The rules are checked by a small checker written here from docs/export-format.md, independent
of the generator and of the ingest.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from data_samples.broken import write_huge_field_export
from data_samples.damage import DAMAGE_KINDS, DamageKind
from data_samples.export_writer import (
    SIGNUP_COLUMNS,
    WITHDRAWAL_COLUMNS,
    format_field,
    render_export,
    write_export,
)
from data_samples.form_values import submission_id
from data_samples.generate import app
from data_samples.synthetic import generate_signups, generate_withdrawals

SAMPLES = Path(__file__).resolve().parent.parent / "data_samples"
BOM = b"\xef\xbb\xbf"
START, END = date(2025, 1, 1), date(2026, 10, 31)

# ---------------------------------------------------------------- an independent rule checker

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_ICD10 = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,2})?")
_ATC = re.compile(r"[A-Z][0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?")
_LETTER = re.compile(r"[^\W\d_]")
_YES_NO = {"", "Ja", "Nej"}


def _date(text: str) -> date | None:
    if not re.fullmatch(r"\d{2}-\d{2}-\d{4}", text):
        return None
    try:
        return date(int(text[6:]), int(text[3:5]), int(text[:2]))
    except ValueError:
        return None


def _timestamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%d-%m-%Y %H:%M:%S")
    except ValueError:
        return None


def _ts(text: str) -> datetime:
    """A timestamp that must be well-formed."""
    return datetime.strptime(text, "%d-%m-%Y %H:%M:%S")


def _name_ok(name: str) -> bool:
    return 1 <= len(name) <= 100 and name[0] not in "=+-@" and bool(_LETTER.search(name))


def _phone_ok(phone: str) -> bool:
    digits = phone.replace(" ", "")
    digits = digits.removeprefix("+45") if digits.startswith("+45") else digits
    digits = digits.removeprefix("0045") if digits.startswith("0045") else digits
    return phone == "" or (len(digits) == 8 and digits.isdigit())


def _list_ok(cell: str, shape: re.Pattern[str]) -> bool:
    if cell in ("", "INGEN"):
        return True
    codes = [code.strip().upper() for code in cell.split("|")]
    return all(shape.fullmatch(code) for code in codes)


def _number_ok(text: str, low: int, high: int) -> bool:
    return text == "" or (text.isdigit() and low <= int(text) <= high)


def _weight_ok(text: str) -> bool:
    if text == "":
        return True
    return bool(re.fullmatch(r"\d+(,\d+)?", text)) and 30 <= float(text.replace(",", ".")) <= 300


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def signup_problems(row: dict[str, str]) -> set[str]:
    """The columns of a signups row that break docs/export-format.md's rules."""
    bad = set()
    submitted, born = _timestamp(row["indsendt"]), _date(row["foedselsdato"])
    checks = {
        "indsendelse_id": bool(_UUID.fullmatch(row["indsendelse_id"])),
        "indsendt": submitted is not None,
        "fornavn": _name_ok(row["fornavn"]),
        "efternavn": _name_ok(row["efternavn"]),
        "email": bool(_EMAIL.fullmatch(row["email"])),
        "telefon": _phone_ok(row["telefon"]),
        "foedselsdato": born is not None
        and submitted is not None
        and born <= submitted.date()
        and 18 <= _age(born, submitted.date()) <= 110,
        "koen": row["koen"] in ("Kvinde", "Mand", "Andet"),
        "postnummer": len(row["postnummer"]) == 4 and _number_ok(row["postnummer"], 1000, 9990),
        "hoejde_cm": _number_ok(row["hoejde_cm"], 120, 230),
        "vaegt_kg": _weight_ok(row["vaegt_kg"]),
        "diagnoser": _list_ok(row["diagnoser"], _ICD10),
        "medicin": _list_ok(row["medicin"], _ATC),
        "gravid": row["gravid"] in ("", "Ja", "Nej", "Ved ikke")
        and (row["gravid"] == "" or row["koen"] == "Kvinde"),
        "ryger": row["ryger"] in _YES_NO,
        "rls_naetter_pr_uge": _number_ok(row["rls_naetter_pr_uge"], 0, 7),
        "soevnkvalitet": _number_ok(row["soevnkvalitet"], 1, 5),
        "samtykke_kontakt": row["samtykke_kontakt"] in ("Ja", "Nej"),
        "kontaktform": row["kontaktform"] in ("", "email", "sms")
        and (row["kontaktform"] != "" or row["samtykke_kontakt"] != "Ja"),
        "andet": len(row["andet"]) <= 2000,
    }
    for column in ("rls_trang", "rls_hvile", "rls_bevaegelse", "rls_aften"):
        checks[column] = row[column] in _YES_NO
    bad = {column for column, ok in checks.items() if not ok}
    return bad


def read_records(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and (start line, row) of each record, read with the csv module."""
    with path.open(encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=";")
        header = next(reader)
        records, previous_end = [], reader.line_num
        for fields in reader:
            records.append((previous_end + 1, dict(zip(header, fields, strict=True))))
            previous_end = reader.line_num
    return header, records


def _rows(n: int, damage_rate: float = 0.0) -> list[dict[str, str]]:
    rows = generate_signups(n, seed=11, start=START, end=END, damage_rate=damage_rate)
    return [row.values for row in rows]


# ---------------------------------------------------------------- the writer


def test_fields_are_quoted_only_when_needed() -> None:
    assert format_field("Søren") == "Søren"
    assert format_field("") == ""
    assert format_field("=1+1") == "=1+1"
    assert format_field("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert format_field("a;b") == '"a;b"'
    assert format_field('sagde "hej"') == '"sagde ""hej"""'
    assert format_field("to\nlinjer") == '"to\nlinjer"'
    assert format_field("cr\rhere") == '"cr\rhere"'


def test_written_file_has_bom_header_and_crlf(tmp_path: Path) -> None:
    rows = _rows(50)
    path = tmp_path / "s.csv"
    assert write_export(path, SIGNUP_COLUMNS, rows) == len(rows)
    raw = path.read_bytes()
    header = ";".join(SIGNUP_COLUMNS).encode() + b"\r\n"
    assert raw.startswith(BOM + header)
    assert raw.endswith(b"\r\n")
    outside_quotes = re.sub(rb'"(?:[^"]|"")*"', b"", raw)
    assert outside_quotes.count(b"\n") == outside_quotes.count(b"\r\n") == len(rows) + 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(exclude_categories=["Cs"])), min_size=3, max_size=3))
def test_any_text_round_trips_through_the_csv_module(values: list[str]) -> None:
    columns = ("a", "b", "c")
    text = render_export(columns, [dict(zip(columns, values, strict=True))])
    assert text.startswith("\ufeff") and text.endswith("\r\n")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";")
    assert list(reader) == [list(columns), values]


def test_written_rows_parse_back_exactly(tmp_path: Path) -> None:
    rows = _rows(400, damage_rate=0.2)
    path = tmp_path / "s.csv"
    write_export(path, SIGNUP_COLUMNS, rows)
    header, records = read_records(path)
    assert header == list(SIGNUP_COLUMNS)
    assert [row for _, row in records] == rows
    raw = path.read_bytes()
    starts = [raw.count(b"\n", 0, m.start()) + 1 for m in re.finditer(rb"(?m)^[0-9a-f]{8}-", raw)]
    assert [line for line, _ in records] == starts


# ---------------------------------------------------------------- the generator


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    paths = [tmp_path / name for name in ("a.csv", "b.csv", "c.csv")]
    for path, seed in zip(paths, (5, 5, 6), strict=True):
        rows = generate_signups(300, seed=seed, start=START, end=END, damage_rate=0.05)
        write_export(path, SIGNUP_COLUMNS, (row.values for row in rows))
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_ids_are_version_4_uuids() -> None:
    for bits in (0, (1 << 128) - 1, 0x0123456789ABCDEF0123456789ABCDEF):
        assert submission_id(bits) == str(uuid.UUID(int=bits, version=4))
    ids = [row["indsendelse_id"] for row in _rows(500)]
    assert len(set(ids)) == len(ids)
    assert all(uuid.UUID(i).version == 4 for i in ids)


def test_undamaged_rows_obey_every_rule_and_damage_hits_its_column() -> None:
    rows = list(generate_signups(3000, seed=3, start=START, end=END, damage_rate=0.1))
    kinds = Counter(row.damage for row in rows)
    assert set(kinds) == {None, *DAMAGE_KINDS}
    for row in rows:
        expected = {row.column} if row.damage else set()
        assert signup_problems(row.values) == expected, (row.damage, row.values)


@pytest.mark.parametrize("kind", DAMAGE_KINDS)
def test_a_damage_kind_can_be_forced(kind: DamageKind) -> None:
    rows = generate_signups(40, seed=4, start=START, end=END, damage_rate=1.0, damage_kinds=[kind])
    for row in rows:
        assert row.damage == kind
        assert signup_problems(row.values) == {row.column}


def test_rows_look_like_a_real_panel() -> None:
    rows = _rows(8000)
    n = len(rows)
    sexes = Counter(row["koen"] for row in rows)
    assert 0.45 < sexes["Kvinde"] / n < 0.53 and 0.45 < sexes["Mand"] / n < 0.53
    assert 0.01 < sexes["Andet"] / n < 0.035
    times = [_ts(row["indsendt"]) for row in rows]
    assert times == sorted(times) and times[0].date() >= START and times[-1].date() <= END
    assert not any(t.hour == 2 for t in times)
    born = [_ts(row["foedselsdato"] + " 00:00:00").date() for row in rows]
    ages = [_age(b, t.date()) for b, t in zip(born, times, strict=True)]
    assert min(ages) >= 18 and max(ages) <= 96
    by_person = Counter(row["email"].lower() for row in rows)
    assert 0.06 < sum(1 for k in by_person.values() if k > 1) / len(by_person) < 0.13
    assert any(len({r["email"] for r in rows if r["email"].lower() == p}) > 1 for p in by_person)
    for column in ("diagnoser", "medicin"):
        cells = Counter(row[column] for row in rows)
        assert 0.05 < cells[""] / n < 0.11 and cells["INGEN"] / n > 0.2
    diagnoses = Counter(c.strip().upper() for r in rows for c in r["diagnoser"].split("|"))
    assert 0.15 < diagnoses["I10"] / n < 0.25 and 0.03 < diagnoses["G25.8"] / n < 0.09
    assert {"A12CC05", "N04BC05", "B01AC06", "C09AA05"} <= {
        c.strip().upper() for r in rows for c in r["medicin"].split("|")
    }
    assert all(row["gravid"] == "" for row in rows if row["koen"] != "Kvinde")
    gravid = Counter(row["gravid"] for row in rows if row["koen"] == "Kvinde")
    assert gravid["Nej"] > gravid["Ja"] > 0 and gravid["Ved ikke"] > 0 and gravid[""] > 0
    rls = ("rls_trang", "rls_hvile", "rls_bevaegelse", "rls_aften")
    with_rls = [r for r in rows if "G25.8" in r["diagnoser"].upper()]
    without = [r for r in rows if "G25.8" not in r["diagnoser"].upper() and r["diagnoser"]]
    assert sum(all(r[q] == "Ja" for q in rls) for r in with_rls) / len(with_rls) > 0.75
    assert sum(all(r[q] == "Nej" for q in rls) for r in without) / len(without) > 0.75
    assert sum(r["rls_naetter_pr_uge"] in "234567" for r in with_rls) / len(with_rls) > 0.7
    consent = Counter(row["samtykke_kontakt"] for row in rows)
    assert 0.85 < consent["Ja"] / n < 0.95
    assert all((r["kontaktform"] != "") == (r["samtykke_kontakt"] == "Ja") for r in rows)
    texts = [row["andet"] for row in rows if row["andet"]]
    assert 0.1 < len(texts) / n < 0.4
    assert any("\n" in t for t in texts) and any(t[0] in "=+-@" for t in texts)


def test_withdrawals_follow_the_submission() -> None:
    people = [
        ("Anne.Lund@example.dk", datetime(2026, 10, 30, 12)),
        ("bo@example.dk", datetime(2025, 5, 1)),
    ]
    rows = generate_withdrawals(
        people, seed=1, start=datetime(2026, 11, 1), end=datetime(2026, 11, 30), recase_rate=1.0
    )
    assert [set(r.values) for r in rows] == [set(WITHDRAWAL_COLUMNS)] * 2
    for row in rows:
        assert row.values["handling"] in ("afmeld", "slet")
        assert row.values["email"].lower() in {"anne.lund@example.dk", "bo@example.dk"}
        assert row.values["email"] not in {"Anne.Lund@example.dk", "bo@example.dk"}
        assert _ts(row.values["tidspunkt"]) > datetime(2026, 11, 1)


# ---------------------------------------------------------------- the committed samples


Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    loaded: Manifest = json.loads((SAMPLES / "manifest.json").read_text(encoding="utf-8"))
    return loaded


def _committed_files() -> Iterator[Path]:
    """The files ``samples`` writes (the demo's inbox export has a command of its own)."""
    for path in sorted(SAMPLES.rglob("*")):
        written = path.suffix in (".csv", ".xlsx", ".json") and path.parent.name != "inbox"
        if path.is_file() and written:
            yield path


def test_committed_samples_equal_a_fresh_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["samples", str(tmp_path)])
    assert result.exit_code == 0, result.output
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert fresh == [p.relative_to(SAMPLES) for p in _committed_files()]
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


def test_the_demo_inbox_export_equals_a_fresh_run_of_its_documented_command(
    tmp_path: Path,
) -> None:
    """The command is the one in data_samples/README.md."""
    committed = SAMPLES / "inbox" / "2026-11-30-signups.csv"
    command = "--rows 40 --seed 20261130 --start 2026-11-21 --end 2026-11-30"
    assert command in (SAMPLES / "README.md").read_text()
    arguments = command.split(" ")
    fresh = tmp_path / committed.name
    result = CliRunner().invoke(app, ["signups", str(fresh), *arguments])
    assert result.exit_code == 0, result.output
    assert fresh.read_bytes() == committed.read_bytes()


@pytest.mark.parametrize("name", ["signups.csv", "signups_reexport.csv"])
def test_signup_samples_match_their_manifest(name: str, manifest: Manifest) -> None:
    entry = manifest["files"][name]
    _, records = read_records(SAMPLES / name)
    assert len(records) == entry["rows"]
    damaged = {d["indsendelse_id"]: d for d in entry["damaged_rows"]}
    assert 0.01 < len(damaged) / len(records) < 0.05
    assert len({d["damage"] for d in damaged.values()}) >= 5
    ids = [row["indsendelse_id"] for _, row in records]
    assert len(set(ids)) == len(ids)
    valid = []
    for line, row in records:
        stated = damaged.get(row["indsendelse_id"])
        if stated:
            assert stated["line"] == line
            assert signup_problems(row) == {stated["column"]}
        else:
            assert signup_problems(row) == set(), row
            valid.append(row)
    assert entry["valid_rows"] == len(valid)
    assert entry["volunteers"] == len({row["email"].lower() for row in valid})
    lines = {row["indsendelse_id"]: line for line, row in records}
    for added in entry.get("added_rows", []):
        assert lines[added["indsendelse_id"]] == added["line"]
    times = [_ts(row["indsendt"]) for _, row in records]
    assert times == sorted(times)


def test_first_export_shows_every_valid_oddity(manifest: Manifest) -> None:
    _, records = read_records(SAMPLES / "signups.csv")
    damaged = {d["indsendelse_id"] for d in manifest["files"]["signups.csv"]["damaged_rows"]}
    rows = [row for _, row in records if row["indsendelse_id"] not in damaged]
    assert 380 <= len({r["email"].lower() for r in rows}) <= 420 and 420 <= len(records) <= 460
    times = [_ts(r["indsendt"]) for r in rows]
    assert min(times) >= datetime(2025, 1, 1) and max(times) < datetime(2026, 11, 1)
    cells = [r[c] for r in rows for c in ("diagnoser", "medicin")]
    assert any(c != c.upper() for c in cells) and any(c.startswith(" ") for c in cells)
    assert "INGEN" in cells and "" in cells
    texts = [r["andet"] for r in rows]
    assert any("<script>" in t for t in texts)
    assert any(t[:1] in ("=", "+", "-", "@") for t in texts)
    assert any("\n" in t and ";" in t and '"' in t for t in texts)
    emails: dict[str, set[str]] = {}
    for r in rows:
        emails.setdefault(r["email"].lower(), set()).add(r["email"])
    assert any(len(spellings) > 1 for spellings in emails.values())


def test_reexport_repeats_the_first_export_and_adds_the_four_cases(manifest: Manifest) -> None:
    _, first = read_records(SAMPLES / "signups.csv")
    _, again = read_records(SAMPLES / "signups_reexport.csv")
    _, withdrawals = read_records(SAMPLES / "afmeldinger.csv")
    old = {row["indsendelse_id"]: row for _, row in first}
    new = {row["indsendelse_id"]: row for _, row in again}
    assert all(new[i] == row for i, row in old.items())
    added = {i: row for i, row in new.items() if i not in old}
    assert 30 <= len(added) <= 50
    entry = manifest["files"]["signups_reexport.csv"]
    cases = {a["indsendelse_id"]: a["case"] for a in entry["added_rows"]}
    assert set(cases) == set(added)

    def latest(email: str, rows: dict[str, dict[str, str]]) -> datetime:
        return max(_ts(r["indsendt"]) for r in rows.values() if r["email"].lower() == email)

    known = {row["email"].lower() for row in old.values()}
    newcomers = [r for i, r in added.items() if cases[i] == "new_volunteer"]
    assert len(newcomers) >= 10 and all(r["email"].lower() not in known for r in newcomers)
    newer = [r for i, r in added.items() if cases[i] in ("newer_resubmission", "consent_withdrawn")]
    assert len(newer) >= 5
    for row in newer:
        assert row["email"].lower() in known
        assert _ts(row["indsendt"]) > latest(row["email"].lower(), old)
    withdrawn_consent = [r for i, r in added.items() if cases[i] == "consent_withdrawn"]
    assert [r["samtykke_kontakt"] for r in withdrawn_consent] == ["Nej"]
    (older,) = [r for i, r in added.items() if cases[i] == "older_missing_submission"]
    assert older["email"].lower() in known
    assert _ts(older["indsendt"]) < latest(older["email"].lower(), old)
    (returning,) = [r for i, r in added.items() if cases[i] == "after_erasure"]
    erasures = {
        w["email"].lower(): _ts(w["tidspunkt"]) for _, w in withdrawals if w["handling"] == "slet"
    }
    assert returning["email"].lower() in known
    assert _ts(returning["indsendt"]) > erasures[returning["email"].lower()]
    assert max(_ts(r["indsendt"]) for r in added.values()) < datetime(2026, 11, 21)


def test_withdrawal_sample(manifest: Manifest) -> None:
    header, records = read_records(SAMPLES / "afmeldinger.csv")
    _, signups = read_records(SAMPLES / "signups.csv")
    assert header == list(WITHDRAWAL_COLUMNS)
    entry = manifest["files"]["afmeldinger.csv"]
    assert len(records) == entry["rows"] and 10 <= len(records) <= 14
    rows = [row for _, row in records]
    by_action: dict[str, list[str]] = {"afmeld": [], "slet": []}
    for row in rows:
        by_action[row["handling"]].append(row["email"])
    assert by_action == entry["emails_by_action"] and all(by_action.values())
    written = {row["email"] for _, row in signups}
    known = {email.lower() for email in written}
    unknown = [row["email"] for row in rows if row["email"].lower() not in known]
    assert unknown == entry["unknown_emails"] and len(unknown) == 1
    recased = [
        r["email"] for r in rows if r["email"].lower() in known and r["email"] not in written
    ]
    assert recased == entry["recased_emails"] and len(recased) == 1
    last_signup = max(_ts(row["indsendt"]) for _, row in signups)
    assert all(last_signup < _ts(row["tidspunkt"]) < datetime(2026, 11, 20) for row in rows)


# ---------------------------------------------------------------- broken files


def _broken(name: str) -> bytes:
    return (SAMPLES / "broken" / name).read_bytes()


def test_broken_files_are_broken_as_a_whole(manifest: Manifest) -> None:
    header = ";".join(SIGNUP_COLUMNS).encode()
    assert _broken("empty.csv") == b""
    assert _broken("header_only.csv") == BOM + header + b"\r\n"
    comma = _broken("comma_separated.csv").removeprefix(BOM).split(b"\r\n")
    assert comma[0] == ",".join(SIGNUP_COLUMNS).encode() and b";" not in comma[0]
    latin1 = _broken("latin1.csv")
    assert not latin1.startswith(BOM)
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")
    assert set("æøå") & set(latin1.decode("cp1252").lower())
    truncated = _broken("truncated.csv")
    assert not truncated.endswith(b"\n")
    last = next(csv.reader([truncated.decode("utf-8").splitlines()[-1]], delimiter=";"))
    assert 0 < len(last) < len(SIGNUP_COLUMNS)
    with zipfile.ZipFile(io.BytesIO(_broken("binary.xlsx"))) as workbook:
        assert "xl/worksheets/sheet1.xml" in workbook.namelist()
    headers = {
        name: read_records(SAMPLES / "broken" / name)[0]
        for name in ("column_renamed.csv", "column_added.csv", "column_missing.csv")
    }
    assert headers["column_renamed.csv"][8] == "postnr"
    assert headers["column_added.csv"][5:7] == ["telefon", "mobil"]
    assert "telefon" not in headers["column_missing.csv"]
    _, duplicated = read_records(SAMPLES / "broken/duplicate_id.csv")
    ids = Counter(row["indsendelse_id"] for _, row in duplicated)
    assert sorted(ids.values())[-2:] == [1, 2] and sum(ids.values()) == 20
    for name in ("iso_dates", "decimal_point", "email_without_at", "birth_date_future"):
        _, records = read_records(SAMPLES / "broken" / f"{name}.csv")
        assert records and all(len(signup_problems(row)) == 1 for _, row in records), name
    _, records = read_records(SAMPLES / "broken/formula_names.csv")
    assert all(signup_problems(row) in ({"fornavn"}, {"efternavn"}) for _, row in records)
    _, actions = read_records(SAMPLES / "broken/afmeldinger_bad_action.csv")
    assert actions and not {row["handling"] for _, row in actions} & {"afmeld", "slet"}
    broken = {k for k in manifest["files"] if k.startswith("broken/")}
    assert broken == {f"broken/{p.name}" for p in (SAMPLES / "broken").iterdir()}


def test_huge_field_export(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    write_huge_field_export(path, megabytes=2)
    raw = path.read_bytes()
    assert raw.startswith(BOM) and raw.endswith(b'"\r\n') and raw.count(b"\r\n") == 2
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        _, records = read_records(path)
    finally:
        csv.field_size_limit(limit)
    ((_, row),) = records
    assert len(row["andet"]) == 2 * 1024 * 1024 and ";" in row["andet"]
    row["andet"] = ""
    assert signup_problems(row) == set()


def test_cli_writes_exactly_the_rows_asked_for(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "s.csv"
    args = ["signups", str(out), "--rows", "777", "--seed", "2", "--damage-rate", "0.1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "rows/s" in result.output
    _, records = read_records(out)
    assert len(records) == 777
    withdrawals = tmp_path / "w.csv"
    args = ["withdrawals", str(withdrawals), "--rows", "9", "--seed", "2", "--signup-rows", "777"]
    assert runner.invoke(app, args).exit_code == 0
    signed_up = {row["email"].lower() for _, row in records}
    _, withdrawn = read_records(withdrawals)
    assert len(withdrawn) == 9 and {row["email"].lower() for _, row in withdrawn} <= signed_up
