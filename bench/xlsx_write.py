# ruff: noqa: E501  (the fixed parts of a workbook, one XML string each, as Excel writes them)
"""Write a CSV's rows as an .xlsx the way Excel saves one: shared strings, real date cells.

Bench-only: a million-row workbook in seconds (openpyxl's writer takes minutes). Cells
that read as ``YYYY-MM-DD HH:MM`` become date serials with a date format; digits-only
cells stay text (ids); everything else is a shared string, as Excel and Salesforce write.
"""

from __future__ import annotations

import csv
import zipfile
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

__all__ = ["csv_to_xlsx"]

_EPOCH = datetime(1899, 12, 30)
_CONTENT = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Report" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" xfId="0"/>'
    '<xf numFmtId="22" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>'
)


def _column(index: int) -> str:
    """Return the letters of column ``index`` (0: A)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def csv_to_xlsx(source: Path, target: Path, titles: tuple[str, ...] = ()) -> Path:
    """Write ``source``'s rows to ``target`` as one sheet, ``titles`` as rows above the header."""
    strings: dict[str, int] = {}
    order: list[str] = []

    def shared(text: str) -> int:
        at = strings.get(text)
        if at is None:
            at = strings[text] = len(order)
            order.append(text)
        return at

    with (
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book,
        source.open(newline="", encoding="utf-8") as handle,
    ):
        book.writestr("[Content_Types].xml", _CONTENT)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        book.writestr("xl/styles.xml", _STYLES)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                b"<sheetData>"
            )
            for number, title in enumerate(titles, start=1):
                _row(sheet, number, [title], shared)
            above = len(titles) + 1 if titles else 0  # a blank row under the titles
            for number, cells in enumerate(csv.reader(handle), start=above + 1):
                _row(sheet, number, cells, shared)
            sheet.write(b"</sheetData></worksheet>")
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                + f'count="{len(order)}" uniqueCount="{len(order)}">'.encode()
            )
            for text in order:
                table.write(f"<si><t>{escape(text)}</t></si>".encode())
            table.write(b"</sst>")
    return target


def _row(sheet: object, number: int, cells: list[str], shared: object) -> None:
    """Write one row of cells: dates as serials, the rest as shared strings."""
    parts = [f'<row r="{number}">']
    for index, cell in enumerate(cells):
        if not cell:
            continue
        ref = f"{_column(index)}{number}"
        try:
            moment = datetime.strptime(cell, "%Y-%m-%d %H:%M")
        except ValueError:
            parts.append(f'<c r="{ref}" t="s"><v>{shared(cell)}</v></c>')  # type: ignore[operator]
            continue
        serial = (moment - _EPOCH).total_seconds() / 86400
        parts.append(f'<c r="{ref}" s="1"><v>{serial!r}</v></c>')
    parts.append("</row>")
    sheet.write("".join(parts).encode())  # type: ignore[attr-defined]
