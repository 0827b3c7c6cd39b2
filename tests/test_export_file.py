"""Reading export files exactly as docs/export-format.md says, and refusing what is not an export."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_samples.export_writer import format_record
from schemas.export_file import ExportRefused, _blank_as_empty, _parse_exact, read_export
from schemas.exports import ExportKind
from schemas.signup import SIGNUP_COLUMNS
from schemas.withdrawal import WITHDRAWAL_COLUMNS

EXAMPLES = Path(__file__).parent.parent / "data_samples"
HEADER = ";".join(SIGNUP_COLUMNS)
ROW = (
    "3f6c2a1e-8d4b-4c1a-9b7e-2a5d6e7f8a01;02-03-2026 21:14:05;Søren;Ærbø;s@example.dk;;"
    "14-07-1961;Mand;8000;182;88,5;G25.8;INGEN;;Nej;Ja;Ja;Ja;Ja;5;2;Ja;email;{andet}"
)


def export(
    tmp_path: Path, *lines: str, bom: bool = True, end: str = "\r\n", name: str = "x.csv"
) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (end.join(lines) + end).encode())
    return path


def test_reads_cells_as_text_and_empty_as_none(tmp_path: Path) -> None:
    read = read_export(export(tmp_path, HEADER, ROW.format(andet="")))
    assert read.kind is ExportKind.SIGNUPS
    (row,) = read.rows.to_pylist()
    assert row["fornavn"] == "Søren" and row["vaegt_kg"] == "88,5"
    assert row["telefon"] is None and row["andet"] is None and row["medicin"] == "INGEN"


@pytest.mark.parametrize(
    ("bom", "end"), [(True, "\r\n"), (False, "\r\n"), (True, "\n"), (False, "\n")]
)
def test_bom_and_line_endings_do_not_matter(tmp_path: Path, bom: bool, end: str) -> None:
    read = read_export(export(tmp_path, HEADER, ROW.format(andet="a"), bom=bom, end=end))
    assert read.rows.num_rows == 1 and list(read.lines) == [2]


def test_quoted_fields_keep_separators_quotes_and_line_breaks(tmp_path: Path) -> None:
    text = '"Har nyresygdom; tager ""magnesium"".\nKan I ringe?"'
    read = read_export(export(tmp_path, HEADER, ROW.format(andet=text), ROW.format(andet="next")))
    assert read.rows.column("andet").to_pylist() == [
        'Har nyresygdom; tager "magnesium".\nKan I ringe?',
        "next",
    ]
    assert list(read.lines) == [2, 4]


def test_blank_lines_are_skipped_and_lines_still_counted(tmp_path: Path) -> None:
    read = read_export(
        export(tmp_path, HEADER, "", ROW.format(andet="a"), "", "", ROW.format(andet="b"))
    )
    assert list(read.lines) == [3, 6]


def test_whitespace_only_cells_are_empty(tmp_path: Path) -> None:
    read = read_export(export(tmp_path, HEADER, ROW.format(andet="   ")))
    assert read.rows.column("andet").to_pylist() == [None]


def test_a_row_with_too_many_fields_is_set_aside_with_its_line(tmp_path: Path) -> None:
    broken = ROW.format(andet="has; an unquoted separator")
    read = read_export(
        export(tmp_path, HEADER, ROW.format(andet="a"), broken, ROW.format(andet="c"))
    )
    assert read.rows.column("andet").to_pylist() == ["a", "c"]
    assert list(read.lines) == [2, 4]
    (malformed,) = read.malformed
    assert malformed.line == 3 and "25 fields where the header has 24" in malformed.reason
    assert read.record_count == 3


def test_withdrawals_are_told_apart_by_their_header(tmp_path: Path) -> None:
    read = read_export(
        export(tmp_path, ";".join(WITHDRAWAL_COLUMNS), "a@b.dk;15-03-2026 10:00:00;afmeld")
    )
    assert read.kind is ExportKind.WITHDRAWALS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty (0 bytes)"),
        (b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n", "a header but no rows"),
        (b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n\r\n\r\n", "a header but no rows"),
        (HEADER.replace(";", ",").encode() + b"\r\n1,2\r\n", "line 1: fields are separated by ','"),
        (
            ("\ufeff" + HEADER + "\r\n" + ROW.format(andet="")).encode(),
            "stops in the middle of a row",
        ),
        (
            ("\ufeff" + HEADER + "\r\n" + ROW.format(andet='"begins\r\n')).encode(),
            "line 2: a quoted field is opened here and never closed",
        ),
        (
            (HEADER + "\r\n" + ROW.format(andet="")).encode("cp1252") + b"\r\n",
            "line 2, column 59: byte 0xF8",
        ),
        (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive (an .xlsx spreadsheet?)"),
        (b"navn;alder\r\nx;1\r\n", "not the header of a signups or afmeldinger export"),
        (b"abc\x00def\r\n", "a NUL byte"),
        ((b"email;email;handling\r\na;b;c\r\n"), "column 'email' appears twice"),
    ],
)
def test_what_is_not_an_export_is_refused_in_one_line(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ExportRefused) as refused:
        read_export(path)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_bare_carriage_return_in_an_unquoted_field_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cr.csv"
    path.write_bytes(b"email;tidspunkt;handling\na@b.dk;15-03-2026 10:00:00;af\rmeld\n")
    with pytest.raises(ExportRefused, match="line 2: a line break inside an unquoted field"):
        read_export(path)


def test_latin1_is_recognised_as_such(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + "\r\n" + ROW.format(andet="")).encode("cp1252") + b"\r\n")
    with pytest.raises(ExportRefused, match="re-saved as Latin-1/Windows-1252"):
        read_export(path)


cells = st.text(alphabet=st.sampled_from(list('ab ;"\n\r\tæø,|=')), max_size=12)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.lists(cells, min_size=3, max_size=3), min_size=1, max_size=8),
    crlf=st.booleans(),
)
def test_fast_reader_and_exact_reader_agree(
    tmp_path: Path, rows: list[list[str]], crlf: bool
) -> None:
    """Whatever the cells hold, pyarrow's parse with its line numbers is what Python's csv
    module reads, record by record."""
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    end = "\r\n" if crlf else "\n"
    text = "".join(
        format_record(row).removesuffix("\r\n") + end for row in [list(WITHDRAWAL_COLUMNS), *rows]
    )
    path = tmp_path / "w.csv"
    path.write_bytes(text.encode())
    if not rows:
        return
    fast = read_export(path)
    body = path.read_bytes().split(b"\n", 1)[1]
    exact_table, exact_lines, exact_malformed = _parse_exact(body, list(WITHDRAWAL_COLUMNS))
    assert exact_malformed == fast.malformed == []
    assert list(fast.lines) == list(exact_lines)
    assert fast.rows.to_pylist() == _blank_as_empty(exact_table).to_pylist()
