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
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ae_import.errors import ManifestError
from ae_import.records import Row
from ae_import.text import safe_text

from .layout import MAX_TITLE_LINES, title_rows

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


class ExcelSheet:
    """One sheet of a workbook: its header, and its rows as ``Row``s."""

    def __init__(self, name: str, path: Path, sheet: str | None, skip: int | None) -> None:
        """Open sheet ``sheet`` (None: the first visible) of the workbook at ``path``.

        ``skip`` is ``manifest: skip_lines`` (rows above the header), None to find them.
        """
        try:
            import python_calamine
        except ImportError:  # pragma: no cover - a core dependency
            raise ManifestError(
                f"{name}: Excel: python-calamine is not installed; pip install python-calamine"
            ) from None
        self.name = name
        try:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            names = list(book.sheet_names)
        except Exception as exc:
            raise self._unreadable(exc) from None
        if sheet is None:
            visible = [
                m.name
                for m in book.sheets_metadata
                if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith(".Visible")
            ]
            if not visible and not names:
                raise ManifestError(f"{name}: Excel: the workbook has no sheet; {_FIX}")
            chosen = (visible or names)[0]
        elif sheet in names:
            chosen = sheet
        else:
            have = ", ".join(f"'{safe_text(n)}'" for n in names[:20])
            raise ManifestError(
                f"{name}: Excel: no sheet '{safe_text(sheet)}' (manifest: sheet); "
                f"the workbook has {have}"
            )
        self.sheet = chosen
        try:
            rows = book.get_sheet_by_name(chosen).iter_rows()
        except Exception as exc:
            raise self._unreadable(exc) from None
        self._rows = rows
        self._number = 0  # the sheet's row number of the last row read
        head: list[list[str]] = []
        for _ in range(_LOOK_AHEAD):
            cells = self._next()
            if cells is None:
                break
            head.append(cells)
        self.title_rows = skip if skip is not None else title_rows([_width(c) for c in head])
        if self.title_rows >= len(head):
            raise ManifestError(
                f"{name}: Excel: sheet '{safe_text(chosen)}' has no header row"
                + (f" below {self.title_rows} skipped rows (manifest: skip_lines)" if skip else "")
                + "; the first row of a manifest names its columns"
            )
        header = head[self.title_rows]
        width = _width(header)
        names_seen: dict[str, int] = {}
        columns = [c.strip() for c in header[:width]]
        for index, column in enumerate(columns, start=1):
            if column and column in names_seen:
                raise ManifestError(
                    f"{name}: Excel: row {self.title_rows + 1}: column '{safe_text(column)}' "
                    f"appears twice in the header (columns {names_seen[column]} and {index}); "
                    "rename one"
                )
            names_seen[column] = index
        self.columns = tuple(columns)
        self._head = head[self.title_rows + 1 :]
        self._first = self.title_rows + 2  # the sheet row of the first record

    def _unreadable(self, exc: BaseException) -> ManifestError:
        """Say that the workbook cannot be read, why, and what to do."""
        why = safe_text(
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        return ManifestError(
            f"{self.name}: Excel: cannot read the workbook ({why[:200]}); is it whole? "
            f"If so, {_FIX}"
        )

    def _next(self) -> list[str] | None:
        """Return the next row's cells as text, or None at the end of the sheet."""
        try:
            cells = next(self._rows, None)
        except Exception as exc:
            raise self._unreadable(exc) from None
        if cells is None:
            return None
        self._number += 1
        return [cell_text(c) for c in cells]

    def __iter__(self) -> Iterator[Row]:
        """Yield each row under the header that has a filled cell, keyed by column."""
        columns = self.columns
        width = len(columns)
        number = self._first - 1
        for cells in self._head:
            number += 1
            if "".join(cells).strip():
                yield Row(number, dict(zip(columns, cells[:width], strict=False)))
        self._head = []
        while True:
            line = self._next()
            if line is None:
                return
            if "".join(line).strip():
                yield Row(self._number, dict(zip(columns, line[:width], strict=False)))
