"""Excel and OpenDocument workbooks (.xlsx .xlsm .xls .ods): one sheet's rows as records.

Read with python-calamine (Rust's calamine), chosen by measurement against fastexcel and
openpyxl's read-only mode (docs/dependencies.md): the fastest of the three and the only
one reading all four formats. It holds the sheet in memory while it is read (about 1 KB
a row in Rust); openpyxl streams but reads a tenth as fast (the figures are in
docs/benchmarks.md).

The sheet is ``manifest: sheet:`` or the first visible worksheet. Title rows above the
header (a report's name, its filters, a blank row) are found by the rule that finds
title lines in CSV (``layout.title_rows``), or skipped as ``manifest: skip_lines`` says.
Every cell becomes text, as a CSV cell would be: numbers exact (``123456789012``, never
``1.23E+11``; an integral number has no ``.0``), dates and times as ISO 8601 without an
offset (``2024-03-05 14:30:00``, read in the mapping's zone like any naive timestamp),
booleans as ``true``/``false``. A record's ``line`` is its row in the sheet.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ae_import.errors import ManifestError
from ae_import.records import Row
from ae_import.text import safe_text

from .layout import MAX_TITLE_LINES, title_rows
from .xlsx import XlsxBook

__all__ = ["ExcelSheet", "cell_text"]

_LOOK_AHEAD = MAX_TITLE_LINES + 40  # rows read to find the header
_FIX = "open it in Excel and save it again as .xlsx, or export the sheet as CSV"


def cell_text(value: Any) -> str:
    """Return a cell's value as the text a CSV export of it would hold."""
    if value is None:
        return ""
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if not math.isfinite(value):
            return ""
        if value.is_integer() and abs(value) < 2**63:
            return str(int(value))
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    if kind is datetime:
        return value.replace(microsecond=0).isoformat(sep=" ")  # type: ignore[no-any-return]
    if kind is date:
        return value.isoformat()  # type: ignore[no-any-return]
    if kind is time:
        return value.replace(microsecond=0).isoformat()  # type: ignore[no-any-return]
    if kind is timedelta:  # a duration cell ([h]:mm:ss): hours may pass 24
        seconds = round(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


def _width(cells: Sequence[str]) -> int:
    """Return the place of the last filled cell (0 for a blank row)."""
    for index in range(len(cells) - 1, -1, -1):
        if cells[index].strip():
            return index + 1
    return 0


class _CalamineBook:
    """A workbook read by python-calamine (.xls, .ods, and what the streaming reader refuses)."""

    def __init__(self, name: str, path: Path) -> None:
        """Open the workbook; calamine's errors become one Excel error."""
        try:
            import python_calamine  # a compiled module, loaded when used
        except ImportError:  # pragma: no cover - a core dependency
            raise ManifestError(
                f"{name}: Excel: python-calamine is not installed; pip install python-calamine"
            ) from None
        self._book = python_calamine.CalamineWorkbook.from_path(str(path))
        self.sheets = [
            (
                m.name,
                str(m.typ).endswith("WorkSheet") and str(m.visible).endswith(".Visible"),
                m.name,
            )
            for m in self._book.sheets_metadata
        ]

    def rows(self, member: str) -> Iterator[tuple[int, list[Any]]]:
        """Yield (row number, cells) of the sheet named ``member``."""
        sheet = self._book.get_sheet_by_name(member)
        first = sheet.start[0] + 1 if sheet.start is not None else 1
        yield from enumerate(sheet.iter_rows(), start=first)

    def close(self) -> None:
        """Close the workbook."""
        self._book.close()


def _open_book(name: str, path: Path) -> _CalamineBook | XlsxBook:
    """Open an .xlsx/.xlsm with the streaming reader, anything else with calamine."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError):
        return _CalamineBook(name, path)  # .xls (OLE2), or a cut workbook: calamine says so
    try:
        if "xl/workbook.xml" in archive.namelist():
            return XlsxBook(name, archive)
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, UnicodeError):
        pass  # a part this reader does not understand: calamine tries
    archive.close()
    return _CalamineBook(name, path)


class ExcelSheet:
    """One sheet of a workbook: its header, and its rows as ``Row``s."""

    def __init__(self, name: str, path: Path, sheet: str | None, skip: int | None) -> None:
        """Open sheet ``sheet`` (None: the first visible) of the workbook at ``path``.

        ``skip`` is ``manifest: skip_lines`` (rows above the header), None to find them.
        """
        self.name = name
        self._book: _CalamineBook | XlsxBook | None = None
        try:
            self._book = book = _open_book(name, path)
            names = [n for n, _visible, _member in book.sheets]
        except ManifestError:
            raise
        except Exception as exc:  # calamine's errors are many kinds
            raise self._unreadable(exc) from None
        if sheet is None:
            visible = [entry for entry in book.sheets if entry[1]] or book.sheets
            if not visible:
                raise ManifestError(f"{name}: Excel: the workbook has no sheet; {_FIX}")
            chosen = visible[0]
        else:
            named = next((entry for entry in book.sheets if entry[0] == sheet), None)
            if named is None:
                have = ", ".join(f"'{safe_text(n)}'" for n in names[:20])
                raise ManifestError(
                    f"{name}: Excel: no sheet '{safe_text(sheet)}' (manifest: sheet); "
                    f"the workbook has {have}"
                )
            chosen = named
        self.sheet = chosen[0]
        try:
            self._rows = book.rows(chosen[2])
        except Exception as exc:
            raise self._unreadable(exc) from None
        head: list[tuple[int, list[str]]] = []
        number = 0
        while len(head) < _LOOK_AHEAD:
            found = self._next()
            if found is None:
                break
            while number + 1 < found[0] and len(head) < _LOOK_AHEAD:  # rows left out: blank
                number += 1
                head.append((number, []))
            number = found[0]
            head.append(found)
        widths = [_width(cells) for _n, cells in head]
        self.title_rows = skip if skip is not None else title_rows(widths)
        if self.title_rows >= len(head) or not widths[self.title_rows]:
            raise ManifestError(
                f"{name}: Excel: sheet '{safe_text(self.sheet)}' has no header row"
                + (f" below {self.title_rows} skipped rows (manifest: skip_lines)" if skip else "")
                + "; the first row of a manifest names its columns"
            )
        header_line, header = head[self.title_rows]
        width = _width(header)
        seen: dict[str, int] = {}
        columns = [c.strip() for c in header[:width]]
        for index, column in enumerate(columns, start=1):
            if column and column in seen:
                raise ManifestError(
                    f"{name}: Excel: row {header_line}: column '{safe_text(column)}' "
                    f"appears twice in the header (columns {seen[column]} and {index}); "
                    "rename one"
                )
            seen[column] = index
        self.columns = tuple(columns)
        self.header_line = header_line
        self._head = head[self.title_rows + 1 :]

    def _unreadable(self, exc: BaseException) -> ManifestError:
        """Say that the workbook cannot be read, why, and what to do."""
        text = str(exc).strip()
        why = safe_text(text.splitlines()[0] if text else type(exc).__name__)
        return ManifestError(
            f"{self.name}: Excel: cannot read the workbook ({why[:200]}); is it whole? "
            f"If so, {_FIX}"
        )

    def _next(self) -> tuple[int, list[str]] | None:
        """Return the next row's number and cells as text, or None at the end of the sheet."""
        try:
            found = next(self._rows, None)
        except ManifestError as exc:
            raise ManifestError(f"{self.name}: {exc}") from None
        except Exception as exc:
            raise self._unreadable(exc) from None
        if found is None:
            return None
        number, cells = found
        return number, [c if c.__class__ is str else cell_text(c) for c in cells]

    def __iter__(self) -> Iterator[Row]:
        """Yield each row under the header that has a filled cell, keyed by column."""
        columns = self.columns
        width = len(columns)
        for number, cells in self._head:
            if "".join(cells).strip():
                yield Row(number, dict(zip(columns, cells[:width], strict=False)))
        self._head = []
        while True:
            found = self._next()
            if found is None:
                return
            number, line = found
            if "".join(line).strip():
                yield Row(number, dict(zip(columns, line[:width], strict=False)))

    def close(self) -> None:
        """Close the workbook (and any temporary file of its strings)."""
        if self._book is not None:
            self._book.close()
            self._book = None
