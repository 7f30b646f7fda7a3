"""Lazy readers for CSV, TSV and JSONL manifests that keep each record's line number.

Pure: they read the stream they are given, one line at a time, and never hold the
whole file. A record's ``line`` is the physical line where it starts; in CSV, its
``sheet_row`` is its row as a spreadsheet shows it (the header is row 1) when the two
differ. A broken record (bad JSON, a malformed quote, a line that is not UTF-8) becomes
a ``Row`` holding that one problem and the reader goes on, so one bad line never loses
the valid ones. Only a file that cannot be read at all raises ``ManifestError``.

One record holds at most ``MAX_RECORD_BYTES`` (16 MB of UTF-8). A longer one (a quoted
value that never closes, a file without newlines) is read past in pieces, never held
whole, and becomes one ``record_too_large`` problem on its first line; reading goes on
with the next record. In CSV a record ends at a line end outside quotes, found by
counting quotes while skipping; in JSONL, at the line end.

Files written by ``ae-import export --as-manifest`` carry an ``ae_import_error``
column and have formula-like cells escaped with a leading ``'`` (spreadsheets run
``=``, ``+``, ``-`` and ``@`` cells as formulas); reading such a file undoes that.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ae_import.errors import ManifestError
from ae_import.records import Problem, Row

from .encoding import REENCODE, Lines, TooLarge, bad_text
from .jsonl import jsonl_rows
from .layout import SEP_LINE, Layout, find_layout

__all__ = [
    "EXPORT_ERROR_COLUMN",
    "MAX_RECORD_BYTES",
    "Manifest",
    "ReadingConfig",
    "escape_formula",
    "unescape_formula",
]

EXPORT_ERROR_COLUMN = "ae_import_error"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A signed number or phone number is data, not a formula: left as it is.
_NUMBERISH = re.compile(r"^[+-]?[\d\s().,/-]*\d[\d\s().,/-]*$")


def escape_formula(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (not to +1 415 or -2.5).

    A cell that already reads ``'=...`` gets one more ``'``, so that ``unescape_formula``
    gives it back as it was.
    """
    bare = cell.lstrip("'")
    if bare.startswith(_FORMULA_START) and (bare != cell or not _NUMBERISH.match(cell)):
        return "'" + cell
    return cell


def unescape_formula(cell: str) -> str:
    """Undo ``escape_formula``: one ``'`` off a cell that is quotes, then a formula."""
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START):
        return cell[1:]
    return cell


_PEEK_LINES = 64  # lines read ahead to find the header and the delimiter
_PEEK_BYTES = 1 << 20

MAX_RECORD_BYTES = 16 * 1024 * 1024
"""The most one record may hold: 16 MB of UTF-8 text.

A valid record is far smaller (``transcript_text`` takes at most 950,000 bytes): the cap
only keeps a runaway record from taking the memory of the machine. Counted in bytes, not
characters, so that four-byte characters cannot make a record take four times as much.
"""


csv.field_size_limit(2**31 - 1)
_STRUCTURED = ("json", "excel", "parquet")  # not read as lines of text
_NOT_TEXT = {
    "json": "JSON is UTF-8 text",
    "excel": "a workbook holds cells, not bytes of text",
    "parquet": "Parquet holds typed columns",
}


@dataclass(frozen=True)
class ReadingConfig:
    """How to read the manifest file (``manifest:``)."""

    encoding: str = "auto"  # a Python codec, or auto: BOM, UTF-16, UTF-8, else cp1252
    delimiter: str | None = None  # None: Excel's sep= line, else found (reading.layout)
    skip_lines: int | None = None  # lines before the header or first record; None: found
    sheet: str | None = None  # a workbook's sheet; None: the first visible one
    records: str | None = None  # JSON: the dotted path to the records' array; None: found


def _size(cap: int) -> str:
    """Say how big ``cap`` bytes are: ``16 MB``."""
    return f"{cap >> 20} MB" if cap % (1 << 20) == 0 else f"{cap:,} bytes"


class Manifest:
    """An open manifest: its name, format and (for CSV) header; iterate it for records.

    Nothing is read until the header or a record is asked for, so that the mapping's
    ``manifest:`` section (``use``) can say how to read it first.
    """

    def __init__(
        self,
        name: str,
        fmt: str,
        stream: IO[bytes],
        owned: bool,
        max_record: int | None = None,
        reading: ReadingConfig | None = None,
        *,
        path: Path | None = None,
        reopen: Callable[[], IO[bytes]] | None = None,
        cleanup: list[Callable[[], None]] | None = None,
    ) -> None:
        """Keep the stream; with ``reading`` (encoding, delimiter, skip_lines), start at once.

        ``max_record`` is the most bytes one record may hold (``MAX_RECORD_BYTES``). A
        workbook or Parquet file is read from ``path``; ``reopen`` gives the stream again
        from its start (a JSON object searched for its records); ``cleanup`` runs on close.
        """
        self._path = path
        self._reopen = reopen
        self._cleanup = cleanup or []
        self._source: Any = None  # the reader of a workbook, a JSON document or Parquet
        self.sheet: str | None = None  # the sheet read, for a workbook
        self.title_rows = 0  # a workbook's rows above its header
        self.name = name
        self.format = fmt
        self._stream = stream
        self._owned = owned
        self._raw = getattr(stream, "fileobj", None) or stream  # gzip: position in the file
        self.size: int | None = None
        try:
            self.size = os.fstat(self._raw.fileno()).st_size if owned else None
        except (OSError, ValueError, AttributeError):
            self.size = None
        self._cap = MAX_RECORD_BYTES if max_record is None else max_record
        self._reading = reading
        self._lines: Lines | None = None
        self._columns: tuple[str, ...] | None = None
        self._delimiter: str | None = None
        self._header_line = 0
        self.layout: Layout | None = None  # delimited files: how the header was found
        self.sep_line = False
        self._reader: Any = None
        if reading is not None:
            self._start()

    def use(self, reading: ReadingConfig) -> None:
        """Read the file as ``reading`` says, unless reading has already begun."""
        if self._lines is None and self._source is None:
            self._reading = reading

    @property
    def records_path(self) -> str | None:
        """Return where a JSON document's records were found ('' the top level), once read."""
        return getattr(self._source, "path", None)

    @property
    def records_note(self) -> str:
        """Say which array of a wrapping JSON object was taken, and which others there are."""
        return getattr(self._source, "note", "")

    @property
    def columns(self) -> tuple[str, ...] | None:
        """Return the CSV header's column names (None for JSONL)."""
        self._start()
        return self._columns

    @property
    def delimiter(self) -> str | None:
        """Return the CSV delimiter in use (None for JSONL)."""
        self._start()
        return self._delimiter

    @property
    def codec(self) -> str:
        """Return the codec read so far, as ``manifest: encoding:`` would name it."""
        self._start()
        if self._lines is None:
            return str(getattr(self._source, "codec", "utf-8"))
        return self._lines.codec

    @property
    def encoding_reason(self) -> str:
        """Say why that codec was chosen."""
        self._start()
        if self._lines is None:
            return _NOT_TEXT.get(self.format, "")
        return self._lines.reason

    @property
    def encoding_note(self) -> str | None:
        """Say which encoding ``auto`` chose and why, when it did not read plain UTF-8."""
        return self._lines.note if self._lines is not None else None

    def _start(self) -> None:
        """Open the text layer, skip the lines before the header, and read the header."""
        if self._lines is not None or self._source is not None:
            return
        if self.format in _STRUCTURED:
            self._open_structured()
            return
        encoding = self._reading.encoding if self._reading is not None else "auto"
        self._lines = Lines(
            self.name, self._stream, self._owned, self._cap, self.format != "jsonl", encoding
        )
        skip = self._reading.skip_lines if self._reading is not None else None
        skip = skip or 0
        try:
            for _ in range(skip):
                if next(self._lines, None) is None:
                    break
        except TooLarge as big:
            raise ManifestError(
                f"{self.name}: line {big.last}: a line before the header (skip_lines: {skip}) "
                f"is over {_size(self._cap)}; is skip_lines right?"
            ) from None
        if self.format in ("csv", "tsv"):
            self._open_csv()

    def _open_structured(self) -> None:
        """Open the reader of a workbook, a JSON document or a Parquet file."""
        # Each is imported when its format is met: a CSV compiles none of their patterns (8 ms).
        reading = self._reading or ReadingConfig()
        if self.format == "excel":
            from .excel import ExcelSheet

            assert self._path is not None
            sheet = ExcelSheet(self.name, self._path, reading.sheet, reading.skip_lines)
            self._source, self._columns = sheet, sheet.columns
            self.sheet, self.title_rows = sheet.sheet, sheet.title_rows
            self._header_line = sheet.header_line
        elif self.format == "json":
            from .jsonarray import JsonRecords

            assert self._reopen is not None
            self._source = JsonRecords(
                self.name, self._stream, self._cap, reading.records, _size(self._cap), self._reopen
            )
        else:
            from .parquet import ParquetRows

            assert self._path is not None
            self._source = ParquetRows(self.name, self._path)

    def _find_layout(self) -> Layout:
        """Find the delimiter and the title lines from the first lines (``reading.layout``)."""
        lines = self._lines
        assert lines is not None
        reading = self._reading
        head = lines.peek(_PEEK_LINES, min(self._cap, _PEEK_BYTES))
        sep = SEP_LINE.match(head[0]) if head else None
        configured = reading.delimiter if reading is not None else None
        self.layout = find_layout(
            head[1:] if sep else head,
            tsv=self.format == "tsv",
            delimiter=configured or (sep.group(1) if sep else None),
            # configured title lines were skipped already (Manifest._start)
            skip_lines=0 if reading is not None and reading.skip_lines is not None else None,
            sep_line=sep is not None and configured is None,
        )
        self.sep_line = sep is not None
        self._delimiter = self.layout.delimiter
        return self.layout

    def _first_line(self) -> str | None:
        """Return the header's line, past Excel's ``sep=X`` line and any title lines."""
        lines = self._lines
        assert lines is not None
        layout = self._find_layout()
        titles = layout.skip_lines + (1 if self.sep_line else 0)
        try:
            first = next(lines, None)
            if first is not None:
                lines.check_first(first)
            for _ in range(titles):
                first = next(lines, None)
            if titles and first is not None:
                lines.check_first(first)
        except TooLarge as big:
            size = _size(self._cap)
            if big.last == lines.number and not big.open_quote:
                raise ManifestError(
                    f"{self.name}: line {big.last} is over {size}: it cannot be a header row; "
                    "a CSV manifest starts with a line of column names"
                ) from None
            raise
        self._header_line = lines.number
        return first

    def _open_csv(self) -> None:
        lines = self._lines
        assert lines is not None
        size = _size(self._cap)
        first = self._first_line()
        if first is None or not first.strip():
            raise ManifestError(
                f"{self.name}: the file is empty; a CSV manifest starts with a header row"
            )
        assert self._delimiter is not None
        self._reader = csv.reader(
            itertools.chain((first,), lines), delimiter=self._delimiter, strict=True
        )
        at = f"line {self._header_line}"
        try:
            header = next(self._reader)
        except csv.Error as exc:
            raise ManifestError(f"{self.name}: {at}: the header is not valid CSV: {exc}") from None
        except TooLarge as big:
            raise ManifestError(
                f"{self.name}: {at}: the header runs over {size}, to line {big.last}; "
                'a quote in it never closes: close it, or double it ("") inside a name'
            ) from None
        names = tuple(h.strip() for h in header)
        seen: dict[str, int] = {}
        for index, col in enumerate(names, start=1):
            if col and col in seen:
                raise ManifestError(
                    f"{self.name}: {at}: column '{col}' appears twice in the header "
                    f"(columns {seen[col]} and {index}); rename one"
                )
            seen[col] = index
        self._columns = names

    def position(self) -> tuple[int, int | None]:
        """Return (bytes read so far, file size or None): how far a reader has got."""
        try:
            done = self._raw.tell()
        except (OSError, ValueError):
            done = 0
        return done, self.size

    def __enter__(self) -> Manifest:
        """Return the manifest itself."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close the stream if this manifest opened it."""
        self.close()

    def close(self) -> None:
        """Close the underlying file unless it is stdin; remove any temporary copy."""
        if self._lines is not None:
            self._lines.close()
        elif self._owned:
            self._stream.close()
        if self._source is not None and hasattr(self._source, "close"):
            self._source.close()
        while self._cleanup:
            self._cleanup.pop()()

    def __iter__(self) -> Iterator[Row]:
        """Yield the records one by one, in file order, each as a new Row."""
        self._start()
        if self._source is not None:
            return iter(self._source)
        if self.format == "jsonl":
            return self._jsonl()
        return self._csv()

    def _too_large(self, start: int, big: TooLarge) -> Problem:
        """Return the problem of a CSV record over the cap, from line ``start``."""
        size = _size(self._cap)
        if big.open_quote:
            message = (
                f"record over {size}: a quoted value that opens in it never closes, so it "
                f"runs to the end of the file (line {big.last}); close the quote, and "
                'double any quote inside a value ("")'
            )
        else:
            lines = f" (lines {start} to {big.last})" if big.last != start else ""
            message = (
                f"record over {size}{lines}, the most one record may hold; it was skipped: "
                "shorten its fields"
            )
        return Problem("", "record_too_large", message)

    def _csv(self) -> Iterator[Row]:
        reader = self._reader
        lines = self._lines
        assert lines is not None
        columns = self._columns or ()
        width = len(columns)
        exported = EXPORT_ERROR_COLUMN in columns
        record = 1  # the header is row 1, as a spreadsheet numbers it
        while True:
            start = lines.number + 1
            record += 1
            sheet = record if record != start else None
            lines.used = 0
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = f'malformed CSV: {exc}; a quote inside a value must be doubled ("")'
                yield Row(start, {}, (Problem("", "bad_csv", message),), sheet_row=sheet)
                continue
            except TooLarge as big:
                yield Row(start, {}, (self._too_large(start, big),), sheet_row=sheet)
                continue
            if not row:
                continue
            joined = "".join(row)
            if not joined or joined.isspace():
                continue
            if "\x00" in joined or not joined.isascii():
                bad = bad_text(joined, lines.encoding)
                if bad is not None:
                    yield self._undecodable(start, sheet, row, columns, bad)
                    continue
            if len(row) != width:
                extra = row[width:]
                if len(row) < width or any(cell.strip() for cell in extra):
                    message = (
                        f"{len(row)} fields, but the header has {width}; "
                        f"a value holding '{self.delimiter}' or a newline must be quoted"
                    )
                    problem = Problem("", "bad_row_shape", message)
                    yield Row(start, {}, (problem,), sheet_row=sheet, cells=tuple(row))
                    continue
            if exported:
                row = [unescape_formula(cell) for cell in row]
            record_row = Row(start, dict(zip(columns, row, strict=False)))
            if sheet is not None:  # only after multi-line records (a keyword costs)
                record_row.sheet_row = sheet
            yield record_row

    def _undecodable(
        self, start: int, sheet: int | None, row: list[str], columns: tuple[str, ...], bad: str
    ) -> Row:
        """Return a record holding bytes the encoding cannot read: its fields, one problem."""
        assert self._lines is not None
        where = "this record"
        fields: dict[str, str] = {}
        if len(row) == len(columns):
            fields = dict(zip(columns, row, strict=True))
            where = next(
                (f"column '{c}'" for c, v in fields.items() if bad_text(v) is not None), where
            )
        message = f"{where} {bad}" + ("" if "NUL" in bad else f"; {self._encoding_hint()}")
        return Row(start, fields, (Problem("", "bad_encoding", message),), sheet_row=sheet)

    def _encoding_hint(self) -> str:
        """Say how to read a byte the chosen encoding cannot."""
        assert self._lines is not None
        if self._lines.encoding == "UTF-8":
            return (
                "if Excel saved the file on Windows, set manifest: encoding: cp1252 in the "
                f"config; else {REENCODE}"
            )
        return f"check manifest: encoding in the config, or {REENCODE}"

    def _jsonl(self) -> Iterator[Row]:
        assert self._lines is not None
        return jsonl_rows(self._lines, _size(self._cap), self._encoding_hint)
