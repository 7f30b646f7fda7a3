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
import gzip
import itertools
import os
import re
import sys
from collections.abc import Iterator
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
    "FORMATS",
    "MAX_RECORD_BYTES",
    "Manifest",
    "ReadingConfig",
    "detect_format",
    "escape_formula",
    "open_manifest",
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


FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SNIFF_BYTES = 512  # bytes looked at to tell the format when the name does not
_PEEK_LINES = 64  # lines read ahead to find the header and the delimiter
_PEEK_BYTES = 1 << 20

MAX_RECORD_BYTES = 16 * 1024 * 1024
"""The most one record may hold: 16 MB of UTF-8 text.

A valid record is far smaller (``transcript_text`` takes at most 950,000 bytes): the cap
only keeps a runaway record from taking the memory of the machine. Counted in bytes, not
characters, so that four-byte characters cannot make a record take four times as much.
"""


csv.field_size_limit(2**31 - 1)


@dataclass(frozen=True)
class ReadingConfig:
    """How to read the manifest file (``manifest:``)."""

    encoding: str = "auto"  # a Python codec, or auto: BOM, UTF-16, UTF-8, else cp1252
    delimiter: str | None = None  # None: Excel's sep= line, else found (reading.layout)
    skip_lines: int | None = None  # lines before the header or first record; None: found


def sniff_format(head: bytes) -> str:
    """Tell a manifest's format from its first bytes: JSONL when it starts with ``{``, else CSV.

    Byte-order marks, NUL bytes (UTF-16) and blank space before the first character are
    passed over.
    """
    text = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    return "jsonl" if text.startswith(b"{") else "csv"


def detect_format(name: str, forced: str | None, head: bytes | None = None) -> str:
    """Return the format of manifest ``name``: ``forced`` when given, else from the extension.

    With ``head`` (the file's first bytes), a name that does not say is read by content.
    """
    if forced is not None:
        fmt = forced.lower()
        if fmt == "ndjson":
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise ManifestError(f"unknown --format '{forced}'; use csv, tsv or jsonl")
        return fmt
    suffixes = [s.lower() for s in Path(name).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    if suffixes and suffixes[-1] in _EXTENSIONS:
        return _EXTENSIONS[suffixes[-1]]
    if head is not None:
        return sniff_format(head)
    raise ManifestError(
        f"{name}: cannot tell the format from the file name; pass --format csv, tsv or jsonl"
    )


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
    ) -> None:
        """Keep the stream; with ``reading`` (encoding, delimiter, skip_lines), start at once.

        ``max_record`` is the most bytes one record may hold (``MAX_RECORD_BYTES``).
        """
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
        if self._lines is None:
            self._reading = reading

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
        assert self._lines is not None
        return self._lines.codec

    @property
    def encoding_reason(self) -> str:
        """Say why that codec was chosen."""
        self._start()
        assert self._lines is not None
        return self._lines.reason

    @property
    def encoding_note(self) -> str | None:
        """Say which encoding ``auto`` chose and why, when it did not read plain UTF-8."""
        return self._lines.note if self._lines is not None else None

    def _start(self) -> None:
        """Open the text layer, skip the lines before the header, and read the header."""
        if self._lines is not None:
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
        """Close the underlying file unless it is stdin."""
        if self._lines is not None:
            self._lines.close()
        elif self._owned:
            self._stream.close()

    def __iter__(self) -> Iterator[Row]:
        """Yield the records one by one, in file order, each as a new Row."""
        self._start()
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


def open_manifest(
    name: str,
    forced_format: str | None = None,
    *,
    max_record: int | None = None,
    reading: ReadingConfig | None = None,
) -> Manifest:
    """Open the manifest ``name`` (``-`` for stdin; ``.gz`` is read through gzip).

    ``max_record`` is the most bytes one record may hold (``MAX_RECORD_BYTES``);
    ``reading`` is the mapping's ``manifest:`` section (else ``RowSource`` gives it, or
    the file is read with the defaults: encoding auto, delimiter detected).
    """
    if name == "-":
        stream: IO[bytes] = sys.stdin.buffer
        peek = getattr(stream, "peek", None)
        head = peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if peek is not None else b""
        fmt = detect_format("-", forced_format, head)
        return Manifest("<stdin>", fmt, stream, False, max_record, reading)
    path = Path(name)
    try:
        raw: IO[bytes] = path.open("rb")
    except FileNotFoundError:
        raise ManifestError(f"{name}: no such file; check the manifest path") from None
    except IsADirectoryError:
        raise ManifestError(f"{name}: is a directory; pass a CSV or JSONL file") from None
    except OSError as exc:
        raise ManifestError(f"{name}: cannot read the manifest: {exc.strerror}") from None
    if name.lower().endswith(".gz"):
        raw = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    try:
        head = raw.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]  # type: ignore[attr-defined]
        fmt = detect_format(name, forced_format, head)
        return Manifest(name, fmt, raw, True, max_record, reading)
    except (OSError, EOFError) as exc:
        raw.close()
        raise ManifestError(f"{name}: cannot read the manifest: {exc}") from None
    except ManifestError:
        raw.close()
        raise
