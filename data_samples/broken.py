"""Files the ingest must refuse as a whole: one per way a real export goes wrong
(docs/export-format.md).

Each holds only damaged content: a file-level fault (encoding, separator, header, truncation,
binary, duplicate id), or rows that are all damaged the same way (over any quarantine threshold).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from data_samples.damage import DamageKind
from data_samples.export_writer import (
    BOM,
    RECORD_END,
    SIGNUP_COLUMNS,
    WITHDRAWAL_COLUMNS,
    format_field,
    format_record,
    render_export,
)
from data_samples.form_values import format_timestamp
from data_samples.synthetic import SampleRow, SignupFactory

_ROWS = 10
_LATIN1_LETTERS = set("æøåÆØÅ")
_BAD_ACTIONS = ("slette", "unsubscribe", "afmeldt", "delete", "fjern mig")


@dataclass(frozen=True)
class BrokenFile:
    name: str
    kind: str  # the export it pretends to be: signups or afmeldinger
    content: bytes
    rows: int  # data records in it (a truncated last record counts)
    problem: str


def _valid_rows(factory: SignupFactory, n: int) -> list[SampleRow]:
    return list(
        factory.signups(n, start=date(2026, 1, 1), end=date(2026, 10, 31), resubmission_rate=0)
    )


def _signups_text(rows: Sequence[SampleRow], columns: Sequence[str] = SIGNUP_COLUMNS) -> str:
    return render_export(columns, [row.values for row in rows])


def _renamed(factory: SignupFactory) -> BrokenFile:
    rows = _valid_rows(factory, _ROWS)
    columns = tuple("postnr" if c == "postnummer" else c for c in SIGNUP_COLUMNS)
    values = [
        {("postnr" if k == "postnummer" else k): v for k, v in r.values.items()} for r in rows
    ]
    text = render_export(columns, values)
    return BrokenFile(
        "column_renamed.csv", "signups", text.encode(), _ROWS, "postnummer renamed postnr"
    )


def _added(factory: SignupFactory) -> BrokenFile:
    rows = _valid_rows(factory, _ROWS)
    at = SIGNUP_COLUMNS.index("telefon") + 1
    columns = (*SIGNUP_COLUMNS[:at], "mobil", *SIGNUP_COLUMNS[at:])
    values = [
        {**r.values, "mobil": r.values["telefon"] if i % 2 else ""} for i, r in enumerate(rows)
    ]
    text = render_export(columns, values)
    return BrokenFile("column_added.csv", "signups", text.encode(), _ROWS, "extra column mobil")


def _missing(factory: SignupFactory) -> BrokenFile:
    columns = tuple(c for c in SIGNUP_COLUMNS if c != "telefon")
    text = _signups_text(_valid_rows(factory, _ROWS), columns)
    return BrokenFile("column_missing.csv", "signups", text.encode(), _ROWS, "no telefon column")


def _comma(factory: SignupFactory) -> BrokenFile:
    rows = [row.values for row in _valid_rows(factory, 5)]
    text = render_export(SIGNUP_COLUMNS, rows, separator=",")
    return BrokenFile("comma_separated.csv", "signups", text.encode(), 5, "separator is , not ;")


def _latin1(factory: SignupFactory) -> BrokenFile:
    def fits(row: SampleRow) -> bool:
        names = row.values["fornavn"] + row.values["efternavn"]
        return bool(_LATIN1_LETTERS & set(names)) and _encodable(row, "cp1252")

    rows = [row for row in _valid_rows(factory, 300) if fits(row)][:5]
    text = render_export(SIGNUP_COLUMNS, [row.values for row in rows], bom=False)
    problem = "re-saved as Windows-1252 (no BOM): æ ø å are single bytes, not UTF-8"
    return BrokenFile("latin1.csv", "signups", text.encode("cp1252"), len(rows), problem)


def _encodable(row: SampleRow, encoding: str) -> bool:
    try:
        ";".join(row.values.values()).encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _truncated(factory: SignupFactory) -> BrokenFile:
    rows = _valid_rows(factory, _ROWS)
    complete = _signups_text(rows[:-1])
    last = rows[-1].values
    before_email = ";".join(last[c] for c in SIGNUP_COLUMNS[: SIGNUP_COLUMNS.index("email")])
    cut = len(before_email) + 1 + len(last["email"]) // 2
    text = complete + format_record([last[c] for c in SIGNUP_COLUMNS])[:cut]
    problem = "stops in the middle of the last row (inside the email field), no final line break"
    return BrokenFile("truncated.csv", "signups", text.encode(), _ROWS, problem)


def _duplicate_id(factory: SignupFactory) -> BrokenFile:
    rows = _valid_rows(factory, 20)
    rows[14].values["indsendelse_id"] = rows[4].values["indsendelse_id"]
    problem = "rows 5 and 15 (lines 6 and 16) share one indsendelse_id"
    return BrokenFile("duplicate_id.csv", "signups", _signups_text(rows).encode(), 20, problem)


def _xlsx(factory: SignupFactory) -> BrokenFile:
    rows = _valid_rows(factory, 5)
    return BrokenFile(
        "binary.xlsx", "signups", xlsx_bytes(SIGNUP_COLUMNS, rows), 5, "an .xlsx (ZIP) workbook"
    )


def _all_damaged(kind: DamageKind, name: str) -> Callable[[SignupFactory], BrokenFile]:
    def build(factory: SignupFactory) -> BrokenFile:
        rows = [factory.damaged(row, kind) for row in _valid_rows(factory, _ROWS)]
        problem = f"every row damaged: {kind}"
        return BrokenFile(name, "signups", _signups_text(rows).encode(), _ROWS, problem)

    return build


def _bad_actions(factory: SignupFactory) -> BrokenFile:
    rows = _valid_rows(factory, len(_BAD_ACTIONS))
    start = datetime(2026, 11, 2, 9)
    values = [
        {
            "email": row.values["email"],
            "tidspunkt": format_timestamp(start + timedelta(hours=7 * i, minutes=13 * i)),
            "handling": action,
        }
        for i, (row, action) in enumerate(zip(rows, _BAD_ACTIONS, strict=True))
    ]
    text = render_export(WITHDRAWAL_COLUMNS, values)
    problem = "handling is not afmeld or slet in every row"
    return BrokenFile(
        "afmeldinger_bad_action.csv", "afmeldinger", text.encode(), len(values), problem
    )


def xlsx_bytes(columns: Sequence[str], rows: Sequence[SampleRow]) -> bytes:
    """A minimal, deterministic .xlsx workbook (stored ZIP, fixed timestamps) of the rows."""

    def cell(ref: str, text: str) -> str:
        return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'

    letters = [chr(ord("A") + i) for i in range(len(columns))]
    table = [list(columns)] + [[row.values[c] for c in columns] for row in rows]
    sheet_rows = "".join(
        f'<row r="{r}">'
        + "".join(cell(f"{x}{r}", v) for x, v in zip(letters, values, strict=True))
        + "</row>"
        for r, values in enumerate(table, start=1)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rels = "http://schemas.openxmlformats.org/package/2006/relationships"
    office = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    xml = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            f'{xml}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{sheet_type}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{sheet_type}.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{xml}<Relationships xmlns="{rels}"><Relationship Id="rId1" '
            f'Type="{office}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'{xml}<workbook xmlns="{main}" xmlns:r="{office}"><sheets>'
            '<sheet name="signups" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{xml}<Relationships xmlns="{rels}"><Relationship Id="rId1" '
            f'Type="{office}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'{xml}<worksheet xmlns="{main}"><sheetData>{sheet_rows}</sheetData></worksheet>'
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 2, 9, 30, 0))
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def _empty(_: SignupFactory) -> BrokenFile:
    return BrokenFile("empty.csv", "signups", b"", 0, "0 bytes")


def _header_only(_: SignupFactory) -> BrokenFile:
    text = BOM + format_record(SIGNUP_COLUMNS)
    return BrokenFile("header_only.csv", "signups", text.encode(), 0, "a header and no rows")


BUILDERS: tuple[Callable[[SignupFactory], BrokenFile], ...] = (
    _empty,
    _header_only,
    _comma,
    _latin1,
    _truncated,
    _xlsx,
    _renamed,
    _added,
    _missing,
    _duplicate_id,
    _all_damaged("iso_date", "iso_dates.csv"),
    _all_damaged("decimal_point", "decimal_point.csv"),
    _all_damaged("email_without_at", "email_without_at.csv"),
    _all_damaged("birth_date_future", "birth_date_future.csv"),
    _all_damaged("formula_name", "formula_names.csv"),
    _bad_actions,
)


def broken_files(seed: int) -> list[BrokenFile]:
    """Every broken file, each built from its own factory (so one change moves no other file)."""
    return [build(SignupFactory(seed + n)) for n, build in enumerate(BUILDERS, start=1)]


def write_broken_files(out_dir: Path, seed: int) -> list[BrokenFile]:
    """Write ``broken_files(seed)`` into ``out_dir``; returns them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = broken_files(seed)
    for broken in files:
        (out_dir / broken.name).write_bytes(broken.content)
    return files


_HUGE_TEXT = "Uro i benene hver aften; ingen ro at finde. "


def write_huge_field_export(path: Path, megabytes: int = 8) -> None:
    """A signups export of one row whose ``andet`` field (quoted: it holds ``;``) is
    ``megabytes`` MiB of text; otherwise valid. Written in pieces, never held whole twice."""
    row = _valid_rows(SignupFactory(megabytes), 1)[0].values
    size = megabytes * 1024 * 1024
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(BOM + format_record(SIGNUP_COLUMNS))
        out.write(";".join(format_field(row[c]) for c in SIGNUP_COLUMNS[:-1]) + ';"')
        piece = _HUGE_TEXT * (65_536 // len(_HUGE_TEXT))
        written = 0
        while written < size:
            chunk = piece[: size - written]
            out.write(chunk)
            written += len(chunk)
        out.write('"' + RECORD_END)
