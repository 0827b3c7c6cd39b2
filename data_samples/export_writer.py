"""Writing files exactly as the signup form exports them (see docs/export-format.md).

UTF-8 with a byte-order mark, ``;`` between fields, RFC 4180 quoting (only a field holding
``;``, ``"``, CR or LF is quoted, its quotes doubled), CRLF after every record including the
last. A line break inside a quoted field is written as it is (the form keeps LF there).

Physical line numbers count LF characters: the header is line 1, and a record whose free text
holds a line break spans several lines. The writer reports the line each record starts on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from schemas.signup import SIGNUP_COLUMNS
from schemas.withdrawal import WITHDRAWAL_COLUMNS

# The columns are the contract's (schemas/); the generator takes them from here too.
__all__ = ["SIGNUP_COLUMNS", "WITHDRAWAL_COLUMNS", "ExportWriter", "format_record", "write_export"]

BOM = "\ufeff"
SEPARATOR = ";"
RECORD_END = "\r\n"
_CHUNK_RECORDS = 20_000


def format_field(value: str, separator: str = SEPARATOR) -> str:
    """One field as written: quoted only when it holds the separator, a quote, CR or LF."""
    if separator in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def format_record(values: Sequence[str], separator: str = SEPARATOR) -> str:
    """One record with its CRLF terminator."""
    line = separator.join(values)
    if (
        line.count(separator) == len(values) - 1
        and '"' not in line
        and "\n" not in line
        and "\r" not in line
    ):
        return line + RECORD_END
    return separator.join(format_field(value, separator) for value in values) + RECORD_END


def render_export(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, str]],
    *,
    separator: str = SEPARATOR,
    bom: bool = True,
) -> str:
    """A whole (small) export as text, header first."""
    pick = itemgetter(*columns)
    parts = [BOM if bom else "", format_record(columns, separator)]
    parts.extend(format_record(pick(row), separator) for row in rows)
    return "".join(parts)


class ExportWriter:
    """Streams records to a file in big chunks; ``write`` returns the record's start line."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self._pick = itemgetter(*self.columns)
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="")
        self._pending: list[str] = [BOM, format_record(self.columns)]
        self.next_line = 2
        self.records = 0

    def write(self, row: Mapping[str, str]) -> int:
        """Queue one record (a mapping from every column to its raw text)."""
        record = format_record(self._pick(row))
        line = self.next_line
        self.next_line = line + record.count("\n")
        self._pending.append(record)
        self.records += 1
        if len(self._pending) >= _CHUNK_RECORDS:
            self.flush()
        return line

    def write_all(self, rows: Iterable[Mapping[str, str]]) -> int:
        """Write every row (mappings from column to raw text); returns how many."""
        return self.write_records(map(self._pick, rows))

    def write_records(self, records: Iterable[Sequence[str]]) -> int:
        """Write records given as values in column order (the fast path); returns how many."""
        separators = len(self.columns) - 1
        count = 0
        chunk: list[str] = []
        for values in records:
            line = SEPARATOR.join(values)
            if line.count(SEPARATOR) != separators or '"' in line or "\n" in line or "\r" in line:
                line = SEPARATOR.join([format_field(value) for value in values])
            chunk.append(line)
            if len(chunk) == _CHUNK_RECORDS:
                count += self._write_lines(chunk)
                chunk = []
        return count + self._write_lines(chunk)

    def _write_lines(self, lines: list[str]) -> int:
        """Write whole records given without their CRLF; returns how many."""
        if not lines:
            return 0
        self.flush()
        text = RECORD_END.join(lines) + RECORD_END
        self.next_line += text.count("\n")
        self._file.write(text)
        self.records += len(lines)
        return len(lines)

    def flush(self) -> None:
        """Hand queued records to the file."""
        self._file.write("".join(self._pending))
        self._pending.clear()

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def write_export(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> int:
    """Write a whole export to ``path``; returns the number of records."""
    with ExportWriter(path, columns) as writer:
        return writer.write_all(rows)
