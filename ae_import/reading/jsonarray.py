"""JSON records: a top-level array, an array inside a wrapping object, or objects one after another.

Streamed: the text is read 1 MB at a time and each record is decoded on its own by the
stdlib's C decoder (``JSONDecoder.raw_decode``), so a 1 GB array holds one record at a
time and memory stays flat. ijson (3.x) was measured against it: its C backend builds
the same objects but gives no line numbers and cannot go on past a broken record; this
walker knows each record's line, skips one bad or oversized record (``MAX_RECORD_BYTES``)
by counting brackets outside strings, and goes on with the next.

Where the records are: ``manifest: records: calls`` (or ``data.items``) names the array
inside a wrapping object; without it, a top-level array is the records, and a top-level
object is searched (up to ``_SEARCH_DEPTH`` levels) for arrays of objects: the only one,
else the one with the most records. A file of objects one after another (JSONL saved as
``.json``) is read record by record. A record that is not valid JSON, nests too deeply,
holds bytes that are not UTF-8, or is not an object, is one problem, and reading goes on.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from ae_import.errors import ManifestError
from ae_import.records import Problem, Row

from .encoding import bad_text
from .jsonl import has_surrogate

__all__ = ["JsonRecords"]

_CHUNK = 1 << 20  # characters read at a time
_SEARCH_DEPTH = 3  # levels of wrapping objects searched for the records' array
_WS = re.compile(r"[ \t\r\n]*")
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*')  # the inside of a string, as far as it goes
_STRUCTURE = re.compile(r'["\[\]{}]')
_ATOM = re.compile(r"[^,\]}\s]*")
_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
_WHY = "a JSON manifest is an array of objects, one per record ([{...}, {...}])"


class _Stop(Exception):
    """The text cannot be walked further: the message says where and why."""


@dataclass
class _Found:
    """An array of objects inside the wrapping object: its path and how many records."""

    path: tuple[str, ...]
    count: int


class _Text:
    """The manifest's text, read forward in chunks, with the line number of the position."""

    def __init__(self, stream: IO[bytes]) -> None:
        """Read from ``stream``: UTF-8 (with or without a BOM), or UTF-16/32 with its BOM."""
        self._stream = stream
        head = stream.read(4)
        codec = "utf-8-sig"
        for bom, name in (
            (codecs.BOM_UTF32_LE, "utf-32"),
            (codecs.BOM_UTF32_BE, "utf-32"),
            (codecs.BOM_UTF16_LE, "utf-16"),
            (codecs.BOM_UTF16_BE, "utf-16"),
        ):
            if head.startswith(bom):
                codec = name
                break
        self.codec = codec
        self._decoder = codecs.getincrementaldecoder(codec)("surrogateescape")
        self.buf = self._decoder.decode(head)
        self.pos = 0
        self.line = 1
        self.eof = False

    def fill(self) -> bool:
        """Read one more chunk (dropping what was passed); False at the end of the file."""
        if self.eof:
            return False
        if self.pos:
            self.buf = self.buf[self.pos :]
            self.pos = 0
        data = self._stream.read(_CHUNK)
        if not data:
            self.eof = True
            self.buf += self._decoder.decode(b"", final=True)
            return False
        self.buf += self._decoder.decode(data)
        return True

    def advance(self, to: int) -> None:
        """Move to ``to`` in the buffer, counting the lines passed."""
        self.line += self.buf.count("\n", self.pos, to)
        self.pos = to

    def blank(self) -> str:
        """Pass blank space; return the next character ('' at the end of the file)."""
        while True:
            end = _WS.match(self.buf, self.pos)
            assert end is not None
            self.advance(end.end())
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def expect(self, char: str, what: str) -> None:
        """Pass blank space and ``char``, or stop saying ``what`` was expected."""
        found = self.blank()
        if found != char:
            got = f"'{found}'" if found else "the end of the file"
            raise _Stop(f"line {self.line}: expected {what}, found {got}")
        self.advance(self.pos + 1)

    def value(self, decode: Callable[[str, int], tuple[Any, int]], cap: int) -> tuple[Any, str]:
        """Decode the value at the position (at most ``cap`` characters); return it and its text.

        Raises ValueError (bad JSON), RecursionError (too deep) or ``_TooLarge``.
        """
        while True:
            try:
                value, end = decode(self.buf, self.pos)
            except ValueError:
                if len(self.buf) - self.pos < cap and self.fill():
                    continue
                if len(self.buf) - self.pos >= cap:
                    raise _TooLarge from None
                raise
            if end == len(self.buf) and not self.eof and len(self.buf) - self.pos < cap:
                self.fill()  # a number may go on in the next chunk
                continue
            if end - self.pos > cap:
                raise _TooLarge
            text = self.buf[self.pos : end]
            self.advance(end)
            return value, text

    def skip(self) -> None:
        """Pass the value at the position without holding it: brackets counted outside strings."""
        depth = 0
        in_string = False
        self.blank()
        while True:
            if in_string:
                inside = _STRING_BODY.match(self.buf, self.pos)
                assert inside is not None
                end = inside.end()
                if end < len(self.buf) and self.buf[end] == '"':
                    self.advance(end + 1)
                    in_string = False
                    if depth == 0:
                        return
                    continue
                self.advance(end)  # a trailing backslash waits for the next chunk
                if not self.fill():
                    raise _Stop(
                        f"line {self.line}: a string never closes before the end of the file"
                    )
                continue
            found = _STRUCTURE.search(self.buf, self.pos)
            if found is None:
                if depth == 0:  # a number, true, false or null: up to the next , ] }
                    self._atom()
                    if self.pos < len(self.buf) or not self.fill():
                        return
                    continue
                self.advance(len(self.buf))
                if not self.fill():
                    raise _Stop(f"line {self.line}: the file ends inside a record")
                continue
            char = found.group()
            if depth == 0 and found.start() != self.pos:
                self._atom()
                return
            self.advance(found.end())
            if char == '"':
                in_string = True
            elif char in "[{":
                depth += 1
            else:
                depth -= 1
                if depth <= 0:
                    return

    def _atom(self) -> None:
        """Pass a number, literal or stray character at the position (at least one character)."""
        end = _ATOM.match(self.buf, self.pos)
        assert end is not None
        self.advance(max(end.end(), min(self.pos + 1, len(self.buf))))


class _TooLarge(Exception):
    """A value runs past the cap."""


class JsonRecords:
    """The records of a JSON manifest, one ``Row`` each; ``path`` says where they were found."""

    def __init__(
        self,
        name: str,
        stream: IO[bytes],
        cap: int,
        records: str | None,
        size: str,
        rewind: Callable[[], IO[bytes]],
    ) -> None:
        """Read ``stream``; ``records`` is ``manifest: records:`` (a dotted path) or None.

        ``rewind`` gives the stream again from its start, for the search of a wrapping
        object without ``records:``.
        """
        self.name = name
        self._stream = stream
        self._cap = cap
        self._size = size
        self._rewind = rewind
        self._wanted = tuple(records.split(".")) if records else None
        self.path: str | None = None  # where the records were found: '' for the top level
        self.note = ""
        self.codec = "utf-8"
        self._decode = json.JSONDecoder().raw_decode
        self._again: IO[bytes] | None = None  # the stream opened again after the search

    def close(self) -> None:
        """Close the stream opened again for a wrapping object (the manifest closes its own)."""
        if self._again is not None:
            self._again.close()
            self._again = None

    def _fail(self, message: str) -> ManifestError:
        return ManifestError(f"{self.name}: JSON: {message}")

    def __iter__(self) -> Iterator[Row]:
        """Yield every record in file order; problems per record, reading goes on."""
        text = _Text(self._stream)
        self.codec = "utf-8" if text.codec == "utf-8-sig" else text.codec
        first = text.blank()
        if first == "":
            raise self._fail(f"the file is empty; {_WHY}")
        if first == "[":
            if self._wanted:
                raise self._fail(
                    f"manifest: records: {'.'.join(self._wanted)} names a member of an object, "
                    "but the file is an array; remove records: from the config"
                )
            self.path = ""
            text.advance(text.pos + 1)
            yield from self._array(text, "")
            return
        if first != "{":
            raise self._fail(f"line {text.line}: the file starts with '{first}'; {_WHY}")
        wanted = self._wanted
        if wanted is None:
            wanted = self._search(text)
            self._again = self._rewind()
            text = _Text(self._again)
            if wanted is None:  # objects one after another (JSONL saved as .json), or one
                yield from self._objects(text)
                return
            text.blank()
        self.path = ".".join(wanted)
        try:
            self._descend(text, wanted)
        except _Stop as stop:
            raise self._fail(str(stop)) from None
        yield from self._array(text, self.path)

    def _search(self, text: _Text) -> tuple[str, ...] | None:
        """Find the records' array in the wrapping object: the only, else the largest."""
        found = self._walk_object(text, ())
        if text.blank() == "{":  # another object follows: objects one after another
            return None
        if not found:
            return None
        best = max(found, key=lambda f: f.count)
        others = [".".join(f.path) for f in found if f is not best]
        self.note = f"records: {'.'.join(best.path)}" + (
            f" (the largest array of objects; also: {', '.join(others)})" if others else ""
        )
        return best.path

    def _walk_object(self, text: _Text, path: tuple[str, ...]) -> list[_Found]:
        """Pass the object at the position; return the arrays of objects found inside it."""
        text.advance(text.pos + 1)  # {
        found: list[_Found] = []
        try:
            while True:
                char = text.blank()
                if char == "}":
                    text.advance(text.pos + 1)
                    return found
                if char == ",":
                    text.advance(text.pos + 1)
                    continue
                key, _ = text.value(self._decode, self._cap)
                text.expect(":", "':' after a key")
                here = (*path, str(key))
                char = text.blank()
                if char == "[" and len(path) < _SEARCH_DEPTH:
                    count = self._count(text)
                    if count is not None:
                        found.append(_Found(here, count))
                elif char == "{" and len(path) + 1 < _SEARCH_DEPTH:
                    found += self._walk_object(text, here)
                else:
                    text.skip()
        except (_Stop, ValueError, RecursionError, _TooLarge):
            return found

    def _count(self, text: _Text) -> int | None:
        """Pass the array at the position; return its count if it holds objects (or nothing)."""
        text.advance(text.pos + 1)  # [
        count = 0
        while True:
            char = text.blank()
            if char == "]":
                text.advance(text.pos + 1)
                return count
            if char == ",":
                text.advance(text.pos + 1)
                continue
            if char == "":
                raise _Stop(f"line {text.line}: the file ends inside an array")
            if char != "{":
                count = -1  # not records: passed over
            try:
                text.value(self._decode, self._cap)
            except (ValueError, RecursionError, _TooLarge):
                text.skip()
            if count >= 0:
                count += 1
            elif text.blank() == "]":
                text.advance(text.pos + 1)
                return None

    def _descend(self, text: _Text, path: tuple[str, ...]) -> None:
        """Move to just inside the array at ``path`` of the wrapping object at the position."""
        for depth, key in enumerate(path):
            last = depth == len(path) - 1
            text.expect("{", f"an object holding '{key}'")
            while True:
                char = text.blank()
                if char == ",":
                    text.advance(text.pos + 1)
                    continue
                if char in ("}", ""):
                    raise _Stop(
                        f"no member '{'.'.join(path[: depth + 1])}' (manifest: records: "
                        f"{'.'.join(path)}); name the array that holds the records"
                    )
                try:
                    name, _ = text.value(self._decode, self._cap)
                except (ValueError, RecursionError, _TooLarge):
                    raise _Stop(f"line {text.line}: a key is not valid JSON") from None
                text.expect(":", "':' after a key")
                if name == key:
                    break
                text.skip()
            if last:
                text.expect("[", f"an array at '{'.'.join(path)}'")

    def _objects(self, text: _Text) -> Iterator[Row]:
        """Yield objects that follow one another at the top level (JSONL saved as .json)."""
        self.path = ""
        index = 0
        while text.blank():
            index += 1
            yield self._record(text, index)

    def _array(self, text: _Text, where: str) -> Iterator[Row]:
        """Yield the records of the array just opened, one by one, until its ``]``."""
        index = 0
        label = f"the array at '{where}'" if where else "the array"
        while True:
            try:
                char = text.blank()
            except _Stop as stop:
                raise self._fail(str(stop)) from None
            if char == "]":
                return
            if char == "":
                message = (
                    f"{label} never closes: the file ends after record {index}; is it cut short?"
                )
                yield Row(text.line, {}, (Problem("", "bad_json", message),))
                return
            if index and char == ",":
                text.advance(text.pos + 1)
                if text.blank() == "]":  # a trailing comma: tolerated
                    return
            elif index:
                message = (
                    f"expected ',' or ']' after record {index}, found '{char}'; the rest of "
                    f"{label} cannot be read"
                )
                yield Row(text.line, {}, (Problem("", "bad_json", message),))
                return
            index += 1
            row = self._record(text, index)
            yield row
            if row.problems and row.problems[0].code == "unreadable":
                return

    def _record(self, text: _Text, index: int) -> Row:
        """Read record ``index`` at the position: its Row, or the one problem that broke it."""
        line = text.line
        try:
            value, source = text.value(self._decode, self._cap)
        except (ValueError, RecursionError, _TooLarge) as exc:
            if isinstance(exc, _TooLarge):
                code, message = (
                    "record_too_large",
                    (
                        f"record {index} is over {self._size}, the most one record may hold; "
                        "it was skipped: shorten its fields"
                    ),
                )
            elif isinstance(exc, RecursionError):
                code, message = (
                    "bad_json",
                    (
                        f"record {index} is nested too deeply to read; a record is an object of "
                        "plain values"
                    ),
                )
            else:
                msg = getattr(exc, "msg", str(exc))
                code, message = "bad_json", f"record {index} is not valid JSON: {msg}"
            try:
                text.skip()
            except _Stop as stop:
                message += f"; the rest cannot be read ({stop})"
                return Row(line, {}, (Problem("", "unreadable", message),))
            return Row(line, {}, (Problem("", code, message),))
        bad = None if source.isascii() else bad_text(source)
        if bad is not None:
            problem = Problem("", "bad_encoding", f"record {index} {bad}; {_REENCODE}")
            return Row(line, {}, (problem,))
        if "\\u" in source and _LONE_SURROGATE.search(source) and has_surrogate(value):
            message = f"record {index} holds a lone UTF-16 surrogate escape (\\ud800-\\udfff)"
            return Row(line, {}, (Problem("", "bad_encoding", message),))
        if not isinstance(value, dict):
            kind = {list: "array", str: "string", bool: "boolean"}.get(type(value), "number")
            if value is None:
                kind = "null"
            message = f"record {index} must be a JSON object, got {kind}; {_WHY}"
            return Row(line, {}, (Problem("", "not_object", message),))
        return Row(line, value)


_REENCODE = "JSON is UTF-8: re-save the file as UTF-8"
