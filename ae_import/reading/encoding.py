"""Physical lines of a manifest as text, no record over a cap: the readers' bottom layer.

Pure: it reads the stream it is given, one line (or one piece of a long line) at a time,
and never holds more than one record. ``Lines`` is iterated by the CSV reader and the
JSONL reader of ``manifest.py``; ``TooLarge`` tells them a record passed the cap and was
read past.

Bytes become text in the manifest's encoding (``manifest: encoding:``), a Python codec,
or ``auto``, the default: a byte-order mark (UTF-8, UTF-16, UTF-32), else UTF-16 when
every other byte of the start is NUL, else UTF-8 until the first byte that is not
ASCII, which decides: valid UTF-8 keeps UTF-8, anything else reads the whole file as
Windows-1252 (what Excel saves on Windows; its first 127 characters are ASCII, so the
lines before are read alike). A byte the chosen encoding cannot read survives as a lone
surrogate that the reader finds in its record (``bad_text``), and reading goes on.
"""

from __future__ import annotations

import codecs
import io
import re
from collections import deque
from typing import IO, NoReturn

from ae_import.errors import ManifestError

__all__ = ["REENCODE", "Lines", "TooLarge", "bad_text", "utf8_size", "utf16_without_bom"]

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32 (its byte-order mark)"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32 (its byte-order mark)"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16 (its byte-order mark)"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16 (its byte-order mark)"),
)
_UTF8 = ("utf-8", "utf8", "utf_8", "u8", "utf-8-sig", "utf_8_sig")
_NOT_ASCII = re.compile(rb"[\x80-\xff]")
_HEAD = 4096  # bytes read first, to find a byte-order mark or UTF-16 without one
_NAMES = {"cp1252": "Windows-1252", "utf-8": "UTF-8"}
REENCODE = "re-save it as UTF-8"
_PIECE = 1 << 20  # characters read at a time from a long line
_CARRY = 1 << 20  # bytes of a line without an end held back while Windows-1252 is read


def utf8_size(text: str) -> int:
    """Return the length of ``text`` in UTF-8 (a lone surrogate counted as 3 bytes)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def utf16_without_bom(head: bytes) -> str | None:
    """Return utf-16-le or utf-16-be when ``head`` reads as UTF-16 text without a BOM, else None.

    Latin text has a NUL at every other byte. Text in another script (Cyrillic, Greek,
    CJK) has none, so for it the test is that the line ends sit where UTF-16 puts them
    and that the whole head decodes, in that byte order, to printable text.
    """
    head = head[:4096]
    if len(head) < 4:
        return None
    sample = head[:200]
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    for codec, newline in (("utf-16-le", b"\n\x00"), ("utf-16-be", b"\x00\n")):
        at = head.find(newline)
        if at < 0 or at % 2:
            continue
        text = head[: len(head) - len(head) % 2].decode(codec, "replace")
        printable = sum(c.isprintable() or c in "\r\n\t" for c in text)
        if "\ufffd" not in text[:-1] and printable >= 0.98 * len(text):
            return codec
    return None


def _keep_bad_bytes(exc: UnicodeError) -> tuple[str, int]:
    """Keep each byte a codec cannot read as a lone surrogate, as surrogateescape does.

    surrogateescape refuses bytes under 0x80, which is what a UTF-16 or UTF-32 file cut
    in the middle of a character ends with ("truncated data"): here they are kept too,
    so that the cut record is one problem (``bad_text``) and the rows before it are read.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), exc.end


_KEEP_BAD_BYTES = "ae_import.keep_bad_bytes"
codecs.register_error(_KEEP_BAD_BYTES, _keep_bad_bytes)


class _Bytes(io.RawIOBase):
    """The manifest's bytes, as UTF-8 when ``auto`` finds Windows-1252 (else as they are).

    While every byte so far is ASCII, bytes pass as they are and line ends are counted;
    the first chunk holding another byte decides between UTF-8 and Windows-1252. Once
    Windows-1252 is chosen, each line is transcoded to UTF-8 on its own, unless it is
    valid UTF-8 holding multi-byte characters (an export appended to by another tool):
    such a line is UTF-8 already, and is kept, never turned into mojibake.
    """

    def __init__(self, stream: IO[bytes], owned: bool, head: bytes, guess: bool) -> None:
        """Read ``stream`` after ``head`` (already read); ``guess`` UTF-8 or Windows-1252."""
        super().__init__()
        self._stream = stream
        self._owned = owned
        self._head = head
        self._pending = b""
        self._guess = guess
        self._cp1252 = False
        self._lines = 1  # the line being read while undecided
        self._carry = b""  # Windows-1252: the start of a line whose end is not read yet
        self.reason = ""  # why Windows-1252 was chosen
        self.utf8_lines = 0  # Windows-1252: lines found to be UTF-8, kept as such

    def readable(self) -> bool:
        """Tell that the stream can be read."""
        return True

    def _next_chunk(self, size: int) -> bytes:
        if self._pending:  # transcoded bytes left over from the last call
            chunk, self._pending = self._pending, b""
            return chunk
        if self._head:
            chunk, self._head = self._head, b""
        else:
            chunk = self._stream.read(size)
        if self._guess and chunk:
            self._decide(chunk)
        if self._cp1252:
            return self._per_line(chunk)
        return chunk

    def _per_line(self, chunk: bytes) -> bytes:
        """Transcode the whole lines of ``chunk`` (and any line carried over) to UTF-8."""
        data = self._carry + chunk
        end = data.rfind(b"\n") + 1 if chunk else len(data)
        if not end and len(data) > _CARRY:  # no line end for a megabyte: take it as it is
            end = len(data)
        self._carry = data[end:]
        out = bytearray()
        for line in data[:end].splitlines(keepends=True):
            if line.isascii():
                out += line
                continue
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                out += line.decode("cp1252", "surrogateescape").encode("utf-8", "surrogateescape")
                continue
            self.utf8_lines += 1
            out += line
        return bytes(out) if out or not chunk else self._next_chunk(_CARRY)

    def _decide(self, chunk: bytes) -> None:
        """Decide UTF-8 or Windows-1252 at the first byte that is not ASCII."""
        found = None if chunk.isascii() else _NOT_ASCII.search(chunk)
        if found is None:
            self._lines += chunk.count(b"\n")
            return
        self._guess = False
        start = found.start()
        try:
            codecs.getincrementaldecoder("utf-8")().decode(chunk[start:], final=False)
        except UnicodeDecodeError as exc:
            if exc.start == 0:  # the first such byte does not start UTF-8
                self._cp1252 = True
                line = self._lines + chunk.count(b"\n", 0, start)
                self.reason = f"byte 0x{chunk[start]:02X} on line {line} is not UTF-8"

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` with the next bytes; 0 at the end."""
        size = len(buffer)
        chunk = self._next_chunk(size)
        if len(chunk) > size:
            chunk, self._pending = chunk[:size], chunk[size:]
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        """Close the stream if it is ours (stdin stays open)."""
        if not self.closed and self._owned:
            self._stream.close()
        super().close()


def bad_text(text: str, encoding: str = "UTF-8") -> str | None:
    """Say why decoded ``text`` is unusable (NUL bytes, bytes ``encoding`` cannot read)."""
    if "\x00" in text:
        return "holds NUL bytes; remove them or re-export the file"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # surrogateescape kept each bad byte as a lone surrogate
        byte = ord(text[exc.start]) - 0xDC00
        cut = " (a file cut short in the middle of a character ends so)" if byte < 0x80 else ""
        return f"holds byte 0x{byte & 0xFF:02X}, which is not {encoding}{cut}"
    return None


class TooLarge(Exception):
    """A record passed the cap; it was read past up to line ``last``."""

    def __init__(self, last: int, open_quote: bool) -> None:
        """Say where the skipped record ended, and whether it ended inside quotes."""
        super().__init__(last)
        self.last = last
        self.open_quote = open_quote  # it ran to the end of the file inside quotes


class Lines:
    """Physical lines of a binary stream as text, no record over ``cap`` bytes of UTF-8.

    Decoded by one TextIOWrapper (see the module's docstring for the encoding) that keeps
    a byte the encoding cannot read as a lone surrogate, which ``bad_text`` finds in its
    record; line 1 is checked strictly. A line is read at most
    ``cap`` characters at a time; when the record would pass ``cap`` bytes, the rest of it
    is read in pieces and dropped, and ``TooLarge`` is raised (this iterator goes on
    after it). With ``quoted`` (CSV), a record ends at a line end outside quotes, and
    ``used`` counts the current record's bytes: the reader zeroes it at each
    record. The csv module asks for another line of a record only inside a quoted
    value, so a skip that starts on a record's later line starts inside quotes.
    Without ``quoted`` (JSONL), each line is a record.
    """

    def __init__(
        self,
        name: str,
        stream: IO[bytes],
        owned: bool,
        cap: int,
        quoted: bool,
        encoding: str = "auto",
    ) -> None:
        """Choose the encoding of ``stream`` (``auto`` or a codec); lines are read as asked for."""
        self.name = name
        self.number = 0
        self.cap = cap
        self.used = 0
        # Lines read ahead by ``peek``: (text, UTF-8 size, number), or the TooLarge to raise.
        self._ahead: deque[tuple[str, int, int] | tuple[TooLarge, int, int]] = deque()
        self._quoted = quoted
        self._owned = owned
        codec = encoding.lower()
        head = b""
        guess = False
        self._reason = ""  # why auto chose the encoding, when it did not read UTF-8
        if codec == "auto":
            head = stream.read(_HEAD)
            codec, guess = "utf-8", True
            for bom, found, why in _BOMS:
                if head.startswith(bom):
                    codec, guess, self._reason = found, False, why
                    break
            else:
                bare = utf16_without_bom(head)
                if bare is not None:
                    codec, guess = bare, False
                    self._reason = "UTF-16 without a byte-order mark (NUL bytes)"
                elif b"\x00" in head.split(b"\n", 1)[0]:
                    raise ManifestError(
                        f"{name}: line 1 holds NUL bytes: this is not a text manifest"
                    )
        elif codec in _UTF8:
            head = stream.read(_HEAD)
            for bom, found, _why in _BOMS[1:]:
                if head.startswith(bom):
                    label = found.upper()
                    raise ManifestError(
                        f"{name}: the file is {label}, not UTF-8; set manifest: encoding: "
                        f"auto in the config, or {REENCODE}"
                    )
            codec = "utf-8-sig"
        self._bytes = _Bytes(stream, owned, head, guess)
        self._codec = codec
        self._text = io.TextIOWrapper(
            io.BufferedReader(self._bytes, 1 << 16),
            encoding="utf-8" if guess else codec,
            errors=_KEEP_BAD_BYTES,
            newline="",
        )

    @property
    def codec(self) -> str:
        """Return the codec read, as a mapping's ``manifest: encoding:`` would name it."""
        if self._bytes.reason:
            return "cp1252"
        return "utf-8" if self._codec == "utf-8-sig" else self._codec

    @property
    def reason(self) -> str:
        """Say why the codec was chosen (a byte-order mark, NUL bytes, a byte not UTF-8)."""
        return self._bytes.reason or self._reason or "valid UTF-8"

    @property
    def encoding(self) -> str:
        """Return the encoding read so far, by name: UTF-8, Windows-1252, utf-16..."""
        if self._bytes.reason:
            return "Windows-1252"
        return _NAMES.get(self._codec.replace("-sig", ""), self._codec)

    @property
    def note(self) -> str | None:
        """Say which encoding ``auto`` chose and why, when it is not plain UTF-8."""
        if self._bytes.reason:
            kept = self._bytes.utf8_lines
            lines = ""
            if kept:
                lines = f"; {kept} line{'' if kept == 1 else 's'} that are UTF-8 kept as UTF-8"
            return f"read as Windows-1252: {self._bytes.reason}{lines}"
        if self._reason and self._codec != "utf-8-sig":
            return f"read as {self._codec}: {self._reason}"
        return None

    def __iter__(self) -> Lines:
        """Return the lines themselves."""
        return self

    def __next__(self) -> str:
        """Return the next physical line, with its line end (first those ``peek`` read)."""
        if self._ahead:
            item, size, number = self._ahead.popleft()
            self.number = number
            if isinstance(item, TooLarge):
                self.used = 0
                raise item
            if self._quoted:
                self.used += size
            return item
        return self._read()

    def peek(self, count: int, budget: int) -> list[str]:
        """Read up to ``count`` lines ahead (about ``budget`` bytes at most), to read them again.

        The reader finds a file's layout (title lines, delimiter) from them before it
        reads the header; ``__next__`` then gives the same lines, numbers and errors. A
        record that quotes across lines is capped as a whole, as when read straight on.
        """
        start, used = self.number, self.used
        taken: list[str] = []
        total = quotes = 0
        while len(taken) < count and total < budget:
            before = self.used
            try:
                line = self._read()
            except TooLarge as big:
                self._ahead.append((big, 0, self.number))
                break
            except StopIteration:
                break
            size = self.used - before if self._quoted else utf8_size(line)
            self._ahead.append((line, size, self.number))
            taken.append(line)
            total += size
            quotes += line.count('"')
            if not quotes % 2:  # the record ends here, as the csv module would end it
                self.used = quotes = 0
        self.number, self.used = start, used
        return taken

    def _read(self) -> str:
        """Read the next physical line from the stream (see the class's docstring)."""
        room = self.cap - self.used
        limit = room + 1 if room < _PIECE else _PIECE
        line = self._text.readline(limit)
        if not line:
            raise StopIteration
        self.number += 1
        if len(line) == limit and line[-1] != "\n":
            line, size = self._long_line(line, room)
        else:
            size = len(line) if line.isascii() else utf8_size(line)
            if size > room:
                self._skip(self._quotes_in(line), ended=True)
        if self._quoted:
            self.used += size
        return line

    def check_first(self, line: str) -> None:
        """Refuse a first line holding NUL bytes or bytes the encoding cannot read."""
        if "\x00" in line:
            raise ManifestError(f"{self.name}: line 1 holds NUL bytes: this is not a text manifest")
        wrong = bad_text(line, self.encoding)
        if wrong is not None:
            column = next(i for i, c in enumerate(line) if 0xD800 <= ord(c) <= 0xDFFF) + 1
            raise ManifestError(
                f"{self.name}: line {self.number} {wrong} (at column "
                f"{column}); set manifest: encoding in the config, or {REENCODE}"
            )

    def _long_line(self, line: str, room: int) -> tuple[str, int]:
        """Read the rest of a line longer than one piece, and its size; skip it past ``room``."""
        # A piece that ends in CR at its full length may be a CR LF cut in two: read on. (A
        # lone CR line end falling exactly there is taken as part of the line.)
        pieces = [line]
        size = utf8_size(line)
        ended = False
        while size <= room and not ended:
            piece = self._text.readline(_PIECE)
            ended = len(piece) < _PIECE or piece.endswith("\n")
            pieces.append(piece)
            size += utf8_size(piece)
        if size > room:
            quotes = self._quotes_in(*pieces)
            del pieces
            self._skip(quotes, ended)
        return "".join(pieces), size

    def _quotes_in(self, *texts: str) -> int:
        """Count the quotes of ``texts`` (CSV), plus 1 on a record's later line (inside quotes)."""
        if not self._quoted:
            return 0
        return (1 if self.used else 0) + sum(text.count('"') for text in texts)

    def _skip(self, quotes: int, ended: bool) -> NoReturn:
        """Read past the rest of a record over the cap, a piece at a time, and raise.

        ``quotes`` were counted in the text of it read so far (with 1 for a record's later
        line, which starts inside quotes), and ``ended`` tells whether that text ends a line.
        """
        read = self._text.readline
        while not ended or (self._quoted and quotes % 2):
            piece = read(_PIECE)
            if not piece:
                break
            if ended:
                self.number += 1
            if self._quoted:
                quotes += piece.count('"')
            ended = len(piece) < _PIECE or piece.endswith("\n")
        self.used = 0
        raise TooLarge(self.number, bool(quotes % 2))

    def close(self) -> None:
        """Close the stream if it is ours; else only let go of it (stdin stays open)."""
        if self._owned:
            self._text.close()
        else:
            self._text.detach()
