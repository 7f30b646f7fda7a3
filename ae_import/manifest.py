"""Lazy readers for CSV, TSV and JSONL manifests that keep each record's line number.

Pure: they read the stream they are given, one line at a time, and never hold the
whole file. A record's ``line`` is the physical line where it starts. A broken record
(bad JSON, a malformed quote, a line that is not UTF-8) becomes a ``Row`` holding that
one problem and the reader goes on, so one bad line never loses the valid ones. Only a
file that cannot be read at all raises ``ManifestError``.

Files written by ``ae-import export --as-manifest`` carry an ``ae_import_error``
column and have formula-like cells escaped with a leading ``'`` (spreadsheets run
``=``, ``+``, ``-`` and ``@`` cells as formulas); reading such a file undoes that.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import ManifestError
from .problems import Problem
from .rows import Row

__all__ = [
    "EXPORT_ERROR_COLUMN",
    "FORMATS",
    "Manifest",
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
    """Prefix ``'`` to a cell a spreadsheet would run as a formula (not to +1 415 or -2.5)."""
    if cell.startswith(_FORMULA_START) and not _NUMBERISH.match(cell):
        return "'" + cell
    return cell


def unescape_formula(cell: str) -> str:
    """Undo ``escape_formula``."""
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


FORMATS = ("csv", "tsv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_DELIMITERS = (",", ";", "\t", "|")
_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_OTHER = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_REENCODE = "re-save it as UTF-8"

csv.field_size_limit(2**31 - 1)


def detect_format(name: str, forced: str | None) -> str:
    """Return the format of manifest ``name``: ``forced`` when given, else from the extension."""
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
    raise ManifestError(
        f"{name}: cannot tell the format from the file name; pass --format csv, tsv or jsonl"
    )


def _bad_text(text: str) -> str | None:
    """Say why decoded ``text`` is unusable (NUL bytes, bytes that were not UTF-8), if it is."""
    if "\x00" in text:
        return "holds NUL bytes; remove them or re-export the file"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # surrogateescape kept each bad byte as a lone surrogate
        byte = ord(text[exc.start]) - 0xDC00
        return f"holds byte 0x{byte & 0xFF:02X}, which is not UTF-8; {_REENCODE}"
    return None


class _Lines:
    """Physical lines of a binary stream as text; the first line is checked strictly.

    The rest is decoded by one TextIOWrapper with ``surrogateescape``, so a byte that
    is not UTF-8 survives as a lone surrogate that ``_bad_text`` finds in its record.
    """

    def __init__(self, name: str, stream: IO[bytes], owned: bool) -> None:
        self.name = name
        self.number = 0
        self._owned = owned
        first = stream.readline()
        for bom, label in _BOMS_OTHER.items():
            if first.startswith(bom):
                raise ManifestError(f"{name}: the file is {label}, not UTF-8; {_REENCODE}")
        if first.startswith(_BOM_UTF8):
            first = first[len(_BOM_UTF8) :]
        if b"\x00" in first:
            raise ManifestError(f"{name}: line 1 holds NUL bytes: this is not a text manifest")
        try:
            self.first: str | None = first.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ManifestError(
                f"{name}: line 1 is not UTF-8 (byte 0x{first[exc.start]:02X} at column "
                f"{exc.start + 1}); {_REENCODE}"
            ) from None
        if not first:
            self.first = None
        self._text = io.TextIOWrapper(
            stream, encoding="utf-8", errors="surrogateescape", newline=""
        )

    def __iter__(self) -> Iterator[str]:
        if self.first is None:
            return
        self.number = 1
        yield self.first
        for line in self._text:
            self.number += 1
            yield line

    def close(self) -> None:
        """Close the stream if it is ours; else only let go of it (stdin stays open)."""
        if self._owned:
            self._text.close()
        else:
            self._text.detach()


def _pick_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


class Manifest:
    """An open manifest: its name, format and (for CSV) header; iterate it for records."""

    def __init__(self, name: str, fmt: str, stream: IO[bytes], owned: bool) -> None:
        """Read what must be known before the first record: the header of a CSV file."""
        self.name = name
        self.format = fmt
        self._raw = getattr(stream, "fileobj", None) or stream  # gzip: position in the file
        self.size: int | None = None
        try:
            self.size = os.fstat(self._raw.fileno()).st_size if owned else None
        except (OSError, ValueError, AttributeError):
            self.size = None
        self._lines = _Lines(name, stream, owned)
        self.columns: tuple[str, ...] | None = None
        self.delimiter: str | None = None
        self._reader: Any = None
        if fmt in ("csv", "tsv"):
            self._open_csv()

    def _open_csv(self) -> None:
        first = self._lines.first
        if first is None or not first.strip():
            raise ManifestError(
                f"{self.name}: the file is empty; a CSV manifest starts with a header row"
            )
        self.delimiter = "\t" if self.format == "tsv" else _pick_delimiter(first)
        self._reader = csv.reader(iter(self._lines), delimiter=self.delimiter, strict=True)
        try:
            header = next(self._reader)
        except csv.Error as exc:
            raise ManifestError(
                f"{self.name}: line 1: the header is not valid CSV: {exc}"
            ) from None
        names = tuple(h.strip() for h in header)
        seen: dict[str, int] = {}
        for index, col in enumerate(names, start=1):
            if col and col in seen:
                raise ManifestError(
                    f"{self.name}: line 1: column '{col}' appears twice in the header "
                    f"(columns {seen[col]} and {index}); rename one"
                )
            seen[col] = index
        self.columns = names

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
        self._lines.close()

    def __iter__(self) -> Iterator[Row]:
        """Yield the records one by one, in file order, each as a new Row."""
        if self.format == "jsonl":
            return self._jsonl()
        return self._csv()

    def _csv(self) -> Iterator[Row]:
        reader = self._reader
        columns = self.columns or ()
        width = len(columns)
        exported = EXPORT_ERROR_COLUMN in columns
        end = reader.line_num
        while True:
            start = end + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                end = reader.line_num
                message = f'malformed CSV: {exc}; a quote inside a value must be doubled ("")'
                yield Row(start, {}, (Problem("", "bad_csv", message),))
                continue
            end = reader.line_num
            if not row:
                continue
            joined = "".join(row)
            if not joined or joined.isspace():
                continue
            bad = _bad_text(joined)
            if bad is not None:
                yield Row(start, {}, (Problem("", "bad_encoding", f"this record {bad}"),))
                continue
            if len(row) != width:
                extra = row[width:]
                if len(row) < width or any(cell.strip() for cell in extra):
                    message = (
                        f"{len(row)} fields, but the header has {width}; "
                        f"a value holding '{self.delimiter}' or a newline must be quoted"
                    )
                    yield Row(start, {}, (Problem("", "bad_row_shape", message),))
                    continue
            if exported:
                row = [unescape_formula(cell) for cell in row]
            yield Row(start, dict(zip(columns, row, strict=False)))

    def _jsonl(self) -> Iterator[Row]:
        lines = self._lines
        decode = json.loads
        for text in lines:
            number = lines.number
            if not text or text.isspace():
                continue
            bad = _bad_text(text)
            if bad is not None:
                yield Row(number, {}, (Problem("", "bad_encoding", f"this line {bad}"),))
                continue
            try:
                value = decode(text)
            except ValueError as exc:
                msg = getattr(exc, "msg", str(exc))
                col = getattr(exc, "colno", None)
                at = f" at column {col}" if col else ""
                bad_json = Problem("", "bad_json", f"not valid JSON: {msg}{at}")
                yield Row(number, {}, (bad_json,))
                continue
            if not isinstance(value, dict):
                kind = "array" if isinstance(value, list) else type(value).__name__
                if value is None:
                    kind = "null"
                elif isinstance(value, str):
                    kind = "string"
                message = f"each line must be a JSON object, got {kind}"
                yield Row(number, {}, (Problem("", "not_object", message),))
                continue
            yield Row(number, value)


def open_manifest(name: str, forced_format: str | None = None) -> Manifest:
    """Open the manifest ``name`` (``-`` for stdin; ``.gz`` is read through gzip)."""
    if name == "-":
        stream: IO[bytes] = sys.stdin.buffer
        fmt = forced_format
        if fmt is None:
            peek = getattr(stream, "peek", None)
            head = peek(64).lstrip() if peek is not None else b""
            fmt = "jsonl" if head.startswith(b"{") else "csv"
        return Manifest("<stdin>", detect_format("-", fmt), stream, owned=False)
    fmt = detect_format(name, forced_format)
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
        return Manifest(name, fmt, raw, owned=True)
    except (OSError, EOFError) as exc:
        raw.close()
        raise ManifestError(f"{name}: cannot read the manifest: {exc}") from None
    except ManifestError:
        raw.close()
        raise
