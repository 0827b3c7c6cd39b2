"""Reading one export file exactly as docs/export-format.md describes it, or refusing it with
one clear line.

``read_export(path)`` returns an ``ExportFile``: the kind of export, its header, every row as
text cells (``None`` for an empty cell) in a pyarrow table, the physical line each row starts on,
and the records too damaged to be rows at all (a wrong number of fields). A file that is not an
export at all (empty, header only, binary, wrong separator, not UTF-8, truncated) raises
``ExportRefused`` naming what is wrong and where.

Parsing is pyarrow's multi-threaded CSV reader. Line numbers come from a vectorised scan of the
raw bytes (newlines outside quotes) and are checked against the parsed rows; a file whose records
do not line up with that scan is read again, slowly and exactly, with Python's csv module.
"""

from __future__ import annotations

import csv
import hashlib
import io
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from schemas.danish_formats import shown
from schemas.errors import InputError
from schemas.exports import ExportKind, kind_from_header

BOM = b"\xef\xbb\xbf"
SEPARATOR = ";"
_BINARY_SIGNATURES = {
    b"PK\x03\x04": "a ZIP archive (an .xlsx spreadsheet?)",
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook",
    b"\x89PNG": "a PNG image",
}
_SCAN_CHUNK = 1 << 23


class ExportRefused(InputError):
    """The file is not a readable export; ``str()`` is the one line to show."""

    def __init__(self, reason: str, line: int | None = None, column: int | None = None) -> None:
        self.reason, self.line, self.column = reason, line, column
        where = f"line {line}" + (f", column {column}" if column else "") + ": " if line else ""
        super().__init__(where + reason)


@dataclass(frozen=True)
class MalformedRecord:
    """A record that cannot be a row: it has the wrong number of fields."""

    line: int
    fields: list[str]
    reason: str


@dataclass
class ExportFile:
    path: Path
    sha256: str
    size: int
    kind: ExportKind
    header: list[str]
    rows: pa.Table
    #: Physical line (1-based, header = 1) on which each row of ``rows`` starts.
    lines: np.ndarray
    malformed: list[MalformedRecord] = field(default_factory=list)

    @property
    def record_count(self) -> int:
        """Every record read: rows plus malformed records."""
        return self.rows.num_rows + len(self.malformed)

    @property
    def columns_as_expected(self) -> bool:
        return self.header == list(self.kind.columns)


def read_export(path: Path, raw: bytes | None = None, sha256: str | None = None) -> ExportFile:
    """Read the export at ``path`` (or its bytes and their hash, when the caller has them)."""
    raw = path.read_bytes() if raw is None else raw
    sha256 = sha256 or hashlib.sha256(raw).hexdigest()
    body = _plain_text(raw)
    header_end = body.find(b"\n")
    header_line = body[: header_end if header_end >= 0 else len(body)].rstrip(b"\r")
    try:
        header = _header(header_line.decode("utf-8"))
    except UnicodeDecodeError:
        _check_utf8(body)
        raise
    kind = kind_from_header(header)
    if kind is None:
        # Not quoted: a file without its header starts with someone's row.
        raise ExportRefused(
            f"this is not the header of a signups or afmeldinger export: of its {len(header)} "
            "field(s), too few are column names of docs/export-format.md (is the header "
            "missing, or is this another file?)",
            line=1,
        )
    records = body[header_end + 1 :] if header_end >= 0 else b""
    if not records.strip():
        raise ExportRefused("the file has a header but no rows")
    if not records.endswith(b"\n"):
        raise ExportRefused(
            "the file stops in the middle of a row (no line break at the end): it looks "
            "truncated; export it again",
            line=body.count(b"\n") + 1,
        )
    parsed = _parse_fast(records, header)
    if parsed is None:  # pyarrow would not read it all: find out exactly why, and where
        _check_utf8(body)
        if _record_ends(records) is None:
            start_line = 2 + records[: records.rfind(b"\n")].count(b"\n")
            raise ExportRefused(
                "a quoted field is opened here and never closed: the file looks truncated",
                line=_unclosed_quote_line(records, start_line),
            )
        parsed = _parse_exact(records, header)
    table, lines, malformed = parsed
    return ExportFile(
        path, sha256, len(raw), kind, header, _blank_as_empty(table), lines, malformed
    )


def _plain_text(raw: bytes) -> bytes:
    """The bytes after the BOM, unless the file is plainly not text (empty, binary, UTF-16)."""
    if not raw:
        raise ExportRefused("the file is empty (0 bytes)")
    for signature, what in _BINARY_SIGNATURES.items():
        if raw.startswith(signature):
            raise ExportRefused(f"this is {what}, not a CSV export")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExportRefused("the file is UTF-16 text; the export must be UTF-8")
    body = raw[len(BOM) :] if raw.startswith(BOM) else raw
    nul = body.find(b"\x00")
    if nul >= 0:
        line, column = _position(body, nul)
        raise ExportRefused("a NUL byte: this is a binary file, not a CSV export", line, column)
    return body


def _check_utf8(body: bytes) -> None:
    """Refuse text that is not UTF-8, naming the first byte that is not (and where)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = _position(body, error.start)
        byte = body[error.start]
        hint = (
            "the file looks re-saved as Latin-1/Windows-1252; export it again as UTF-8"
            if _is_cp1252(body)
            else "export it again as UTF-8"
        )
        raise ExportRefused(f"byte 0x{byte:02X} is not UTF-8 text: {hint}", line, column) from None


def _is_cp1252(body: bytes) -> bool:
    try:
        body.decode("cp1252")
    except UnicodeDecodeError:
        return False
    return True


def _position(body: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of a byte offset."""
    line_start = body.rfind(b"\n", 0, offset) + 1
    column = len(body[line_start:offset].decode("utf-8", errors="replace")) + 1
    return body.count(b"\n", 0, offset) + 1, column


def _header(line: str) -> list[str]:
    if SEPARATOR not in line:
        for separator, name in ((",", "','"), ("\t", "a tab")):
            if separator in line:
                raise ExportRefused(
                    f"fields are separated by {name}, not ';' (re-saved by a spreadsheet?); "
                    "export it again",
                    line=1,
                )
    header = next(csv.reader([line], delimiter=SEPARATOR))
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ExportRefused(f"column '{shown(duplicates[0])}' appears twice in the header", line=1)
    return header


def _record_ends(records: bytes) -> np.ndarray | None:
    """Offsets of the line breaks that end records (those outside quotes); None if a quote is
    left open at the end of the file."""
    data = np.frombuffer(records, dtype=np.uint8)
    ends, inside = [], 0
    for start in range(0, len(data), _SCAN_CHUNK):
        chunk = data[start : start + _SCAN_CHUNK]
        quotes = chunk == 34
        parity = (np.cumsum(quotes, dtype=np.int32) + inside) & 1
        ends.append(np.flatnonzero((chunk == 10) & (parity == 0)) + start)
        inside = (inside + int(np.count_nonzero(quotes))) & 1
    return None if inside else np.concatenate(ends)


def _unclosed_quote_line(records: bytes, fallback: int) -> int:
    """The line of the quote that is never closed: the last quote seen opening a field."""
    data = np.frombuffer(records, dtype=np.uint8)
    quote_offsets = np.flatnonzero(data == 34)
    if not len(quote_offsets):
        return fallback
    return 2 + records.count(b"\n", 0, int(quote_offsets[-1]))


def _record_lines(records: bytes, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start line and line count of each non-blank record."""
    starts = np.concatenate(([0], ends[:-1] + 1))
    lengths = ends - starts
    blank = (lengths == 0) | (
        (lengths == 1)
        & (np.frombuffer(records, dtype=np.uint8)[np.minimum(starts, len(records) - 1)] == 13)
    )
    newlines = np.flatnonzero(np.frombuffer(records, dtype=np.uint8) == 10)
    start_lines = np.searchsorted(newlines, starts) + 2
    spans = np.searchsorted(newlines, ends) - np.searchsorted(newlines, starts) + 1
    keep = ~blank
    return start_lines[keep], spans[keep]


def _parse_fast(
    records: bytes, header: list[str]
) -> tuple[pa.Table, np.ndarray, list[MalformedRecord]] | None:
    """pyarrow's multi-threaded parse, with each row's line; None when only the exact reader
    can tell what is wrong (a malformed record, an unclosed quote, bytes that are not UTF-8)."""
    try:
        table = pa_csv.read_csv(
            io.BytesIO(records),
            read_options=pa_csv.ReadOptions(column_names=header, block_size=1 << 26),
            parse_options=pa_csv.ParseOptions(
                delimiter=SEPARATOR, quote_char='"', double_quote=True, newlines_in_values=True
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowException:
        return None
    # A record spans one line plus the line breaks inside its fields. When the file holds
    # exactly that many lines there are no blank lines, and each row's line is a running sum.
    spans = _line_breaks_per_row(table) + 1
    if int(spans.sum()) == records.count(b"\n"):
        lines = np.concatenate(([2], 2 + np.cumsum(spans[:-1])))
        return table, lines.astype(np.int64), []
    ends = _record_ends(records)
    if ends is None:
        return None
    lines, scanned_spans = _record_lines(records, ends)
    if len(lines) != table.num_rows or not np.array_equal(spans, scanned_spans):
        return None
    return table, lines, []


def _line_breaks_per_row(table: pa.Table) -> np.ndarray:
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    for column in table.columns:
        breaks += pc.count_substring(column, "\n").fill_null(0).to_numpy(zero_copy_only=False)
    return breaks


def _parse_exact(
    records: bytes, header: list[str]
) -> tuple[pa.Table, np.ndarray, list[MalformedRecord]]:
    """Python's csv module: slower, but it knows the line of every record, good or bad."""
    csv.field_size_limit(sys.maxsize)
    # Lines end at LF only (docs/export-format.md: CRLF or LF); a lone CR inside a field is
    # just a character.
    reader = csv.reader(io.StringIO(records.decode("utf-8"), newline="\n"), delimiter=SEPARATOR)
    columns: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    malformed: list[MalformedRecord] = []
    next_line = 2
    try:
        for fields in reader:
            line, next_line = next_line, reader.line_num + 2
            if not fields or fields == [""]:
                continue
            if len(fields) != len(header):
                malformed.append(
                    MalformedRecord(
                        line,
                        fields,
                        f"has {len(fields)} fields where the header has {len(header)}"
                        " (an unquoted ';' or a missing field?)",
                    )
                )
                continue
            lines.append(line)
            for values, value in zip(columns, fields, strict=True):
                values.append(value or None)
    except csv.Error:
        raise ExportRefused(
            "a line break inside an unquoted field: the export is damaged", line=next_line
        ) from None
    table = pa.table(
        {name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)}
    )
    return table, np.array(lines, dtype=np.int64), malformed


def _blank_as_empty(table: pa.Table) -> pa.Table:
    """A cell holding only spaces is an empty cell (the question was not answered)."""
    for i, column in enumerate(table.columns):
        blank = pc.utf8_is_space(column)
        if pc.any(blank).as_py():
            table = table.set_column(i, table.field(i), pc.if_else(blank, None, column))
    return table
