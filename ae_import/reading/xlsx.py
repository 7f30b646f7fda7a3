"""A streaming reader of .xlsx/.xlsm sheets: one row in memory at a time, strings spilled to disk.

Hand-written, for a measured reason (docs/dependencies.md, docs/benchmarks.md): on a
1,000,000-row report, python-calamine held the whole sheet (1,035 MB peak RSS, against
115 MB at 100,000 rows) and openpyxl's read-only mode, which streams, read 2,500 rows/s,
a twentieth of the CSV reader; ElementTree's and lxml's iterparse read 10,000 and 4,300
rows/s. The sheet's XML is machine-written and regular, so it is cut into rows and cells
by regular expressions over 1 MB of text at a time (any namespace prefix, attributes in
any order, self-closing cells, inline strings, formulas' cached values).

Shared strings (``sharedStrings.xml``) are read once, first; past ``SPILL_BYTES`` of XML
they are written to a temporary file, their offsets to another, and read back by offset
(``os.pread``), with the most recent ones cached: memory holds neither, however many.
Numbers stay exact text; a cell whose style is a date, time or duration format becomes
that value (1900 or 1904 date system), as calamine gives it. ``.xls`` and ``.ods``, and any
workbook this reader does not understand, are read by calamine instead (``excel``).
"""

from __future__ import annotations

import codecs
import html
import os
import re
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from ae_import.errors import ManifestError

__all__ = ["SPILL_BYTES", "XlsxBook"]

SPILL_BYTES = 16 << 20  # sharedStrings.xml larger than this goes to a temporary file
MAX_ROW_CHARS = 16 << 20  # a row that does not end within this much text is refused
_CHUNK = 1 << 20
_OFFSET = struct.Struct("<Q")
_BOUNDS = struct.Struct("<QQ")
_CACHE = 65_536  # shared strings kept in memory once read back
_P = r"(?:[\w.-]+:)?"  # any namespace prefix
_ROW = re.compile(rf"<{_P}row\b([^>]*?)(?:/>|>(.*?)</{_P}row>)", re.DOTALL)
_CELL = re.compile(rf"<{_P}c\b([^>]*?)(?:/>|>(.*?)</{_P}c>)", re.DOTALL)
# A cell as Excel, LibreOffice and openpyxl write it: r, then s and t, then one <v> or none.
_PLAIN_CELL = re.compile(
    r'<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*(?:/>|>(?:<v>([^<]*)</v>)?</c>)'
)
# Row starts, row ends and plain cells: a block of rows is read by one findall when every
# cell in it has that form (the count of "<c" says so), else row by row by _ROW and _CELL.
_TOKENS = re.compile(
    r'<row r="(\d+)"[^>]*?(/?)>|(</row>)'
    r'|<c r="([A-Z]{1,3})\d+"(?: s="(\d+)")?(?: t="(\w+)")?\s*(?:/>|>(?:<v>([^<]*)</v>)?</c>)'
)
_DATA_START = re.compile(rf"<{_P}sheetData\b[^>]*?(/?)>")
_DATA_END = re.compile(rf"</{_P}sheetData>")
_ROW_END = re.compile(rf"</{_P}row>")
_ATTR = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
_VALUE = re.compile(rf"<{_P}v(?:\s[^>]*)?>([^<]*)</{_P}v>")
_TEXT = re.compile(rf"<{_P}t(?:\s[^>]*)?>([^<]*)</{_P}t>")
_PHONETIC = re.compile(rf"<{_P}rPh\b.*?</{_P}rPh>", re.DOTALL)
_SI = re.compile(rf"<{_P}si\b[^>]*?(?:/>|>(.*?)</{_P}si>)", re.DOTALL)
_ESCAPED = re.compile(r"_x([0-9A-Fa-f]{4})_")
_REF = re.compile(r"[A-Z]+")
_DIGITS = re.compile(r"-?\d{1,15}")
_TAG = re.compile(rf"<{_P}(\w+)\b([^>]*?)/?>")
# Built-in number formats that are dates, times or durations (ECMA-376 18.8.30, CJK ones)
_DATE_IDS = {14, 15, 16, 17, 22, *range(27, 37), *range(50, 59)}
_TIME_IDS = {18, 19, 20, 21, 45, 47}
_DURATION_IDS = {46}
_QUOTED = re.compile(r'"[^"]*"|\\.|\[(?!h\]|hh\]|m\]|mm\]|s\]|ss\])[^\]]*\]')


def _unescape(text: str) -> str:
    """Undo XML's entities and OOXML's ``_xHHHH_`` escapes."""
    if "&" in text:
        text = html.unescape(text)
    if "_x" in text:
        text = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)
    return text


def _kind_of_format(code: str) -> str | None:
    """Say whether a number format shows a date, a time, a duration, or a number (None)."""
    bare = _QUOTED.sub("", code).lower()
    if re.search(r"\[(h+|m+|s+)\]", bare):
        return "duration"
    if "y" in bare or "d" in bare:
        return "date"
    if "h" in bare or "s" in bare:
        return "time"
    return None


def _column(letters: str, cache: dict[str, int]) -> int:
    """Return the index of column ``letters`` (A: 0)."""
    index = cache.get(letters)
    if index is None:
        index = 0
        for char in letters:
            index = index * 26 + ord(char) - 64
        index -= 1
        cache[letters] = index
    return index


class _Strings:
    """The shared strings: a list, or (when large) a temporary file read back by offset."""

    def __init__(self, archive: zipfile.ZipFile, member: str | None) -> None:
        """Read ``member`` (None: no shared strings)."""
        self.list: list[str] = []
        self.spilled = False
        self._fd: int | None = None
        self._index_fd: int | None = None
        self.cache: dict[int, str] = {}
        if member is None:
            return
        info = archive.getinfo(member)
        self.spilled = info.file_size > SPILL_BYTES
        out = index = None
        if self.spilled:  # strings in one temporary file, their end offsets in another
            self._fd, self._index_fd = _scratch(), _scratch()
            out = os.fdopen(os.dup(self._fd), "wb", buffering=1 << 20)
            index = os.fdopen(os.dup(self._index_fd), "wb", buffering=1 << 16)
            index.write(_OFFSET.pack(0))
        try:
            end = 0
            for item in _items(archive.open(info), _SI):
                text = item.group(1) or ""
                if text.startswith("<t") and text.count("<") == 2:  # one plain run: the usual
                    value = text[text.index(">") + 1 : -4]
                    if "&" in value or "_x" in value:
                        value = _unescape(value)
                else:
                    value = _unescape("".join(_TEXT.findall(_PHONETIC.sub("", text))))
                if out is None or index is None:
                    self.list.append(value)
                else:
                    data = value.encode("utf-8", "surrogatepass")
                    out.write(data)
                    end += len(data)
                    index.write(_OFFSET.pack(end))
        finally:
            for stream in (out, index):
                if stream is not None:
                    stream.close()

    def __getitem__(self, index: int) -> str:
        """Return shared string ``index``."""
        if self._fd is None or self._index_fd is None:
            return self.list[index]
        found = self.cache.get(index)
        if found is None:
            bounds = os.pread(self._index_fd, 16, index * 8)
            if len(bounds) < 16:
                raise IndexError(index)
            start, end = _BOUNDS.unpack(bounds)
            found = os.pread(self._fd, end - start, start).decode("utf-8", "surrogatepass")
            if len(self.cache) >= _CACHE:
                self.cache.clear()
            self.cache[index] = found
        return found

    def close(self) -> None:
        """Close the temporary files."""
        for fd in (self._fd, self._index_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._index_fd = None


def _scratch() -> int:
    """Open a temporary file that is gone when closed, whatever happens; return its descriptor."""
    fd, where = tempfile.mkstemp(prefix="ae-import-strings-")
    os.unlink(where)
    return fd


def _items(
    stream: Any, pattern: re.Pattern[str], what: str = "shared string"
) -> Iterator[re.Match[str]]:
    """Yield each ``pattern`` match in a zip member's XML, read 1 MB of text at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    rest = ""
    with stream:
        while True:
            chunk = stream.read(_CHUNK)
            text = rest + decoder.decode(chunk, final=not chunk)
            end = 0
            for match in pattern.finditer(text):
                end = match.end()
                yield match
            rest = text[end:]
            if not chunk:
                return
            if len(rest) > MAX_ROW_CHARS:
                raise ManifestError(f"Excel: a {what} runs past {MAX_ROW_CHARS >> 20} MB of XML")


def _sheet_data(stream: Any) -> Iterator[str]:
    """Yield a sheet's ``sheetData`` as blocks of whole rows, about 1 MB of text each."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    rest = ""
    started = False
    with stream:
        while True:
            chunk = stream.read(_CHUNK)
            text = rest + decoder.decode(chunk, final=not chunk)
            if not started:
                opened = _DATA_START.search(text)
                if opened is None:
                    rest = text[-200:]
                    if not chunk:
                        return
                    continue
                if opened.group(1):  # <sheetData/>: no rows
                    return
                started = True
                text = text[opened.end() :]
            closed = _DATA_END.search(text)
            if closed is not None:
                yield text[: closed.start()]
                return
            if not chunk:
                yield text
                return
            cut = 0
            for end in _ROW_END.finditer(text, max(0, len(text) - _CHUNK // 4)):
                cut = end.end()
            if not cut:  # no row ends in the last quarter: look at the whole text
                for end in _ROW_END.finditer(text):
                    cut = end.end()
            if cut:
                yield text[:cut]
            rest = text[cut:]
            if len(rest) > MAX_ROW_CHARS:
                raise ManifestError(f"Excel: a row runs past {MAX_ROW_CHARS >> 20} MB of XML")


def _attrs(text: str) -> dict[str, str]:
    return {k.rsplit(":", 1)[-1]: v for k, v in _ATTR.findall(text)}


class XlsxBook:
    """An .xlsx or .xlsm workbook: its sheets, and each sheet's rows as text cells."""

    def __init__(self, name: str, archive: zipfile.ZipFile) -> None:
        """Read the workbook's parts (sheets, relationships, styles, shared strings)."""
        self.name = name
        self._archive = archive
        names = set(archive.namelist())
        book = self._part("xl/workbook.xml")
        rels = self._relationships("xl/_rels/workbook.xml.rels")
        self.sheets: list[tuple[str, bool, str]] = []  # (name, visible, member)
        self._date1904 = False
        for tag, attributes in _TAG.findall(book):
            found = _attrs(attributes)
            if tag == "workbookPr":
                self._date1904 = found.get("date1904", "0").lower() in ("1", "true")
            elif tag == "sheet":
                target = rels.get(found.get("id", ""))
                if target is not None and target in names:
                    visible = found.get("state", "visible") == "visible"
                    self.sheets.append((_unescape(found.get("name", "")), visible, target))
        shared = next((t for t in rels.values() if t.endswith("sharedStrings.xml")), None)
        styles = next((t for t in rels.values() if t.endswith("styles.xml")), None)
        self._kinds = self._styles(styles)
        self._strings = _Strings(archive, shared if shared in names else None)
        self._columns: dict[str, int] = {}
        self._epoch = datetime(1904, 1, 1) if self._date1904 else datetime(1899, 12, 30)

    def _part(self, member: str) -> str:
        """Return a small part of the workbook as text."""
        with self._archive.open(member) as stream:
            return stream.read(MAX_ROW_CHARS).decode("utf-8", "replace")

    def _relationships(self, member: str) -> dict[str, str]:
        """Return relationship id -> member path (relative targets resolved from ``xl/``)."""
        found: dict[str, str] = {}
        for tag, attributes in _TAG.findall(self._part(member)):
            if tag != "Relationship":
                continue
            values = _attrs(attributes)
            target = values.get("Target", "")
            if target.startswith("/"):
                path = target.lstrip("/")
            else:
                path = str(PurePosixPath("xl") / target)
                parts: list[str] = []
                for part in path.split("/"):
                    if part == "..":
                        if parts:
                            parts.pop()
                    elif part not in ("", "."):
                        parts.append(part)
                path = "/".join(parts)
            found[values.get("Id", "")] = path
        return found

    def _styles(self, member: str | None) -> list[str | None]:
        """Return, for each cell style index, what its number format shows (date, time...)."""
        if member is None or member not in set(self._archive.namelist()):
            return []
        text = self._part(member)
        codes: dict[int, str] = {}
        for tag, attributes in _TAG.findall(text):
            if tag == "numFmt":
                values = _attrs(attributes)
                if values.get("numFmtId", "").isdigit():
                    codes[int(values["numFmtId"])] = _unescape(values.get("formatCode", ""))
        kinds: list[str | None] = []
        start = re.search(rf"<{_P}cellXfs\b", text)
        end = re.search(rf"</{_P}cellXfs>", text)
        if start is None or end is None:
            return kinds
        for tag, attributes in _TAG.findall(text, start.end(), end.start()):
            if tag != "xf":
                continue
            number = _attrs(attributes).get("numFmtId", "0")
            ident = int(number) if number.isdigit() else 0
            if ident in codes:
                kinds.append(_kind_of_format(codes[ident]))
            elif ident in _DATE_IDS:
                kinds.append("date")
            elif ident in _TIME_IDS:
                kinds.append("time")
            elif ident in _DURATION_IDS:
                kinds.append("duration")
            else:
                kinds.append(None)
        return kinds

    def rows(self, member: str) -> Iterator[tuple[int, list[Any]]]:
        """Yield (row number, cells) of a sheet: text, or a datetime/timedelta for date cells."""
        number = 0
        for block in _sheet_data(self._archive.open(member)):
            tokens = _TOKENS.findall(block)
            if len(tokens) == block.count("<c") + block.count("<row") + block.count("</row>"):
                yield from self._plain(tokens)
                continue
            for match in _ROW.finditer(block):
                head, body = match.groups()
                ref = _attrs(head).get("r", "")
                number = int(ref) if ref.isdigit() else number + 1
                yield number, self._cells(body or "")

    def _plain(self, tokens: list[tuple[str, ...]]) -> Iterator[tuple[int, list[Any]]]:
        """Yield the rows of a block whose every cell has Excel's usual form (fast path)."""
        strings = self._strings
        shared = strings.list if strings.spilled is False else None
        cache = strings.cache
        kinds = self._kinds
        columns = self._columns
        epoch = self._epoch
        number = 0
        cells: list[Any] = []
        for row, closed, end, letters, style, kind, text in tokens:
            if letters:
                at = columns.get(letters)
                if at is None:
                    at = _column(letters, columns)
                if not text:
                    value: Any = ""
                elif kind == "s":
                    index = int(text)
                    if shared is not None:
                        value = shared[index]
                    else:
                        value = cache.get(index)
                        if value is None:
                            value = strings[index]
                elif kind in ("", "n"):
                    shown = kinds[int(style)] if style and int(style) < len(kinds) else None
                    if shown is None and _DIGITS.fullmatch(text):
                        value = text
                    else:
                        value = self._number(text, shown, epoch)
                elif kind == "b":
                    value = "true" if text in ("1", "true") else "false"
                else:
                    value = _unescape(text)
                if at == len(cells):
                    cells.append(value)
                elif at > len(cells):
                    cells.extend([""] * (at - len(cells)))
                    cells.append(value)
                else:
                    cells[at] = value
            elif end:
                yield number, cells
            else:
                number = int(row)
                cells = []
                if closed:
                    yield number, cells

    def _cells(self, body: str) -> list[Any]:
        """Return the cells of one row in any form (prefixes, formulas, inline strings)."""
        strings = self._strings
        kinds = self._kinds
        columns = self._columns
        epoch = self._epoch
        cells: list[Any] = []
        for cell in _CELL.finditer(body):
            attributes, inside = cell.groups()
            found = _attrs(attributes)
            letters = _REF.match(found.get("r", ""))
            at = _column(letters.group(), columns) if letters else len(cells)
            if at > len(cells):
                cells.extend([""] * (at - len(cells)))
            kind = found.get("t", "n")
            value: Any = ""
            if kind == "inlineStr":
                value = _unescape("".join(_TEXT.findall(_PHONETIC.sub("", inside or ""))))
            elif inside:
                raw = _VALUE.search(inside)
                text = raw.group(1) if raw else ""
                if kind == "s" and text.isdigit():
                    value = strings[int(text)]
                elif kind == "b":
                    value = "true" if text.strip() in ("1", "true") else "false"
                elif kind in ("n", "") and text:
                    style = found.get("s", "0")
                    index = int(style) if style.isdigit() else 0
                    shown = kinds[index] if index < len(kinds) else None
                    value = self._number(text, shown, epoch)
                else:
                    value = _unescape(text)
            if at < len(cells):
                cells[at] = value
            else:
                cells.append(value)
        return cells

    @staticmethod
    def _number(text: str, shown: str | None, epoch: datetime) -> Any:
        """Return a number cell: exact text, or the date, time or duration its style shows."""
        if shown is None:
            if _DIGITS.fullmatch(text):
                return text
            try:
                return float(text)
            except ValueError:
                return text
        try:
            serial = float(text)
        except ValueError:
            return text
        if shown == "duration":
            return timedelta(days=serial)
        try:
            moment = epoch + timedelta(days=serial)
        except OverflowError:
            return text
        moment = moment.replace(microsecond=0) + timedelta(seconds=moment.microsecond >= 500_000)
        if shown == "time" and serial < 1:
            return moment.time()
        if shown == "date" and serial == int(serial):
            return moment.date()
        return moment

    def close(self) -> None:
        """Close the shared strings' temporary file and the archive."""
        self._strings.close()
        self._archive.close()
