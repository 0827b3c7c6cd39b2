"""Whatever an export looks like, ingest refuses it in one clear line and stores nothing.

Every column of both export kinds dropped in turn, each renamed, two swapped, one repeated;
random bytes, truncations and other encodings. Each refusal is one line of at most 300
characters that says what is wrong and where, quotes at most 80 characters of the input,
never names an exception's class, and leaves the panel exactly as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from data_samples.export_writer import render_export
from panelmatch.cli import app
from schemas.signup import SIGNUP_COLUMNS
from schemas.withdrawal import WITHDRAWAL_COLUMNS
from store.panel_store import PanelStore
from tests.helpers import ingest, signup, snapshot, submission_id

#: A class name of an exception, as Python prints it.
CLASS_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Refused|Warning)\b")
QUOTE = re.compile(r"'([^']*)'")
#: Refusing happens before the store is written to: the many cases run on SQLite only.
ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

Transform = Callable[[list[list[str]]], list[list[str]]]


def signup_records() -> list[list[str]]:
    rows = [signup(indsendelse_id=submission_id(i), email=f"p{i}@example.dk") for i in range(1, 4)]
    return [list(SIGNUP_COLUMNS), *([row[c] for c in SIGNUP_COLUMNS] for row in rows)]


def withdrawal_records() -> list[list[str]]:
    rows = [("p1@example.dk", "03-03-2026 10:00:00", "afmeld")]
    return [list(WITHDRAWAL_COLUMNS), *(list(row) for row in rows)]


KINDS = {"signups": signup_records, "afmeldinger": withdrawal_records}


def written(records: list[list[str]]) -> bytes:
    header, *rows = records
    return render_export(header, [dict(zip(header, row, strict=True)) for row in rows]).encode()


def dropped(at: int) -> Transform:
    return lambda records: [row[:at] + row[at + 1 :] for row in records]


def renamed(at: int) -> Transform:
    return lambda records: [
        [*records[0][:at], records[0][at] + "_x", *records[0][at + 1 :]],
        *records[1:],
    ]


def swapped(first: int, second: int) -> Transform:
    def swap(row: list[str]) -> list[str]:
        row = list(row)
        row[first], row[second] = row[second], row[first]
        return row

    return lambda records: [swap(row) for row in records]


def repeated(at: int) -> Transform:
    return lambda records: [[*row, row[at]] for row in records]


def damaged_headers() -> list[tuple[str, str, Transform]]:
    cases: list[tuple[str, str, Transform]] = []
    for kind, columns in (("signups", SIGNUP_COLUMNS), ("afmeldinger", WITHDRAWAL_COLUMNS)):
        for at, name in enumerate(columns):
            cases.append((kind, f"without {name}", dropped(at)))
            cases.append((kind, f"{name} renamed", renamed(at)))
        cases.append((kind, "first two swapped", swapped(0, 1)))
        cases.append((kind, "last two swapped", swapped(len(columns) - 2, len(columns) - 1)))
        cases.append((kind, "first repeated", repeated(0)))
    return cases


def assert_plain(reasons: Sequence[str]) -> None:
    """What every refusal line owes its reader."""
    assert reasons
    for reason in reasons:
        assert "\n" not in reason and 0 < len(reason) <= 300, reason
        assert not CLASS_NAME.search(reason), reason
        assert "Traceback" not in reason
        for quote in QUOTE.findall(reason):
            assert len(quote) <= 80, reason


def assert_refused_and_nothing_stored(store: PanelStore, path: Path) -> list[str]:
    before = snapshot(store)
    (file,) = ingest(store, path).files
    assert file.status == "refused", file
    assert_plain(file.refusal)
    assert snapshot(store) == before
    return file.refusal


@ON_SQLITE
@pytest.mark.parametrize(
    ("kind", "damage", "transform"),
    damaged_headers(),
    ids=[f"{kind}: {damage}" for kind, damage, _ in damaged_headers()],
)
def test_a_damaged_header_is_refused_in_one_line_naming_the_columns(
    store: PanelStore, tmp_path: Path, kind: str, damage: str, transform: Transform
) -> None:
    path = tmp_path / f"{kind}.csv"
    path.write_bytes(written(transform(KINDS[kind]())))
    (reason,) = assert_refused_and_nothing_stored(store, path)
    if "renamed" in damage or "without" in damage:
        name = damage.rsplit(maxsplit=1)[-1] if "without" in damage else damage.split(maxsplit=1)[0]
        assert f"'{name}'" in reason, reason  # it names the column it misses


ENCODINGS = ["utf-16", "utf-16-be", "cp1252", "latin-1", "utf-32", "cp865"]


@ON_SQLITE
@pytest.mark.parametrize("encoding", ENCODINGS)
def test_another_encoding_is_refused_naming_where(
    store: PanelStore, tmp_path: Path, encoding: str
) -> None:
    records = signup_records()
    records[1][SIGNUP_COLUMNS.index("fornavn")] = "Bjørn Ærø"
    header, *rows = records
    text = render_export(header, [dict(zip(header, row, strict=True)) for row in rows], bom=False)
    path = tmp_path / "exported.csv"
    path.write_bytes(text.encode(encoding))
    (reason,) = assert_refused_and_nothing_stored(store, path)
    assert re.search(r"UTF|line \d+", reason), reason


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_truncation_is_refused_or_accepted_whole(
    store: PanelStore, tmp_path: Path, kind: str
) -> None:
    """Cut at every byte: a cut inside a record is refused; a cut at a record's end is a
    shorter export and is accepted (later tests store it); nothing is half stored."""
    content = written(KINDS[kind]())
    ends = {match.end() for match in re.finditer(rb"\r\n", content)}
    for cut in range(0, len(content), 7):
        if cut in ends:
            continue
        path = tmp_path / f"cut-{cut}.csv"
        path.write_bytes(content[:cut])
        assert_refused_and_nothing_stored(store, path)


@ON_SQLITE
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(noise=st.binary(min_size=0, max_size=3000), keep=st.integers(0, 2000))
def test_random_bytes_are_refused_in_one_line(
    store: PanelStore, tmp_path: Path, noise: bytes, keep: int
) -> None:
    """Noise alone, and an export's first bytes followed by noise."""
    for content in (noise, written(signup_records())[:keep] + noise):
        path = tmp_path / "noise.csv"
        path.write_bytes(content)
        (file,) = ingest(store, path).files
        if file.status != "accepted":  # noise after a cut can make a valid, shorter export
            assert file.status == "refused", file
            assert_plain(file.refusal)


@ON_SQLITE
def test_a_binary_file_is_refused_without_quoting_its_first_line(
    store: PanelStore, tmp_path: Path
) -> None:
    path = tmp_path / "dump.csv"
    path.write_bytes(b"\x01\x02" + b"x" * 20_000 + b"\r\n" + b"y" * 500 + b"\r\n")
    (reason,) = assert_refused_and_nothing_stored(store, path)
    assert "x" * 81 not in reason


@ON_SQLITE
def test_a_file_without_its_header_is_refused_without_quoting_the_person_on_line_1(
    store: PanelStore, tmp_path: Path
) -> None:
    _header, *rows = signup_records()
    path = tmp_path / "headless.csv"
    path.write_bytes("".join(";".join(row) + "\r\n" for row in rows).encode())
    (reason,) = assert_refused_and_nothing_stored(store, path)
    assert "Søren" not in reason and "p1@example.dk" not in reason
    assert submission_id(1) not in reason


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.xdist_group("prefect")
def test_the_cli_refuses_each_damaged_file_in_one_line_and_exits_1(
    store: PanelStore, tmp_path: Path
) -> None:
    paths = []
    for kind, damage, transform in damaged_headers()[::5]:
        path = tmp_path / f"{kind}-{damage.replace(' ', '-')}.csv"
        path.write_bytes(written(transform(KINDS[kind]())))
        paths.append(path)
    (tmp_path / "noise.csv").write_bytes(bytes(range(256)) * 8)
    paths.append(tmp_path / "noise.csv")
    before = snapshot(store)

    result = CliRunner().invoke(app, ["ingest", "--json", *map(str, paths)])
    summary = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [file["status"] for file in summary["files"]] == ["refused"] * len(paths)
    for file in summary["files"]:
        assert_plain(file["refusal"])
    assert summary["stored"] == 0 and snapshot(store) == before

    lines = CliRunner().invoke(app, ["ingest", *map(str, paths)]).stderr.splitlines()
    assert len([line for line in lines if line.startswith("refused ")]) == len(paths)
