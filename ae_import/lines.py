"""Physical lines of a manifest as text, no record over a cap: the readers' bottom layer.

Pure: it reads the stream it is given, one line (or one piece of a long line) at a time,
and never holds more than one record. ``Lines`` is iterated by the CSV reader and the
JSONL reader of ``manifest.py``; ``TooLarge`` tells them a record passed the cap and was
read past.
"""

from __future__ import annotations

import io
from typing import IO, NoReturn

from .errors import ManifestError

__all__ = ["REENCODE", "Lines", "TooLarge", "utf8_size"]

_BOM_UTF8 = b"\xef\xbb\xbf"
_BOMS_OTHER = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
REENCODE = "re-save it as UTF-8"
_PIECE = 1 << 20  # characters read at a time from a long line


def utf8_size(text: str) -> int:
    """Return the length of ``text`` in UTF-8 (a lone surrogate counted as 3 bytes)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class TooLarge(Exception):
    """A record passed the cap; it was read past up to line ``last``."""

    def __init__(self, last: int, open_quote: bool) -> None:
        """Say where the skipped record ended, and whether it ended inside quotes."""
        super().__init__(last)
        self.last = last
        self.open_quote = open_quote  # it ran to the end of the file inside quotes


class Lines:
    """Physical lines of a binary stream as text, no record over ``cap`` bytes of UTF-8.

    The first line is read as bytes and checked strictly. The rest is decoded by one
    TextIOWrapper with ``surrogateescape``, so a byte that is not UTF-8 survives as a
    lone surrogate that ``_bad_text`` finds in its record. A line is read at most
    ``cap`` characters at a time; when the record would pass ``cap`` bytes, the rest of it
    is read in pieces and dropped, and ``TooLarge`` is raised (this iterator goes on
    after it). With ``quoted`` (CSV), a record ends at a line end outside quotes, and
    ``used`` counts the current record's bytes: the reader zeroes it at each
    record. The csv module asks for another line of a record only inside a quoted
    value, so a skip that starts on a record's later line starts inside quotes.
    Without ``quoted`` (JSONL), each line is a record.
    """

    def __init__(self, name: str, stream: IO[bytes], owned: bool, cap: int, quoted: bool) -> None:
        """Read and check line 1 of ``stream``; the rest is read as it is asked for."""
        self.name = name
        self.number = 0
        self.cap = cap
        self.used = 0
        self._quoted = quoted
        self._owned = owned
        first = stream.readline(cap + 1)
        self.first_too_large = len(first) > cap and not first.endswith(b"\n")
        for bom, label in _BOMS_OTHER.items():
            if first.startswith(bom):
                raise ManifestError(f"{name}: the file is {label}, not UTF-8; {REENCODE}")
        if first.startswith(_BOM_UTF8):
            first = first[len(_BOM_UTF8) :]
        if b"\x00" in first:
            raise ManifestError(f"{name}: line 1 holds NUL bytes: this is not a text manifest")
        self.first: str | None = None  # line 1, until it is read
        if first and not self.first_too_large:
            try:
                self.first = first.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ManifestError(
                    f"{name}: line 1 is not UTF-8 (byte 0x{first[exc.start]:02X} at column "
                    f"{exc.start + 1}); {REENCODE}"
                ) from None
        self._text = io.TextIOWrapper(
            stream, encoding="utf-8", errors="surrogateescape", newline=""
        )

    def __iter__(self) -> Lines:
        """Return the lines themselves."""
        return self

    def __next__(self) -> str:
        """Return the next physical line, with its line end."""
        if self.number == 0:
            return self._first_line()
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

    def _first_line(self) -> str:
        """Return line 1, read when the stream was opened (skip it if it is too long)."""
        self.number = 1
        if self.first_too_large:
            self._skip(0, ended=False)
        line, self.first = self.first, None
        if line is None:
            raise StopIteration
        if self._quoted:
            self.used += utf8_size(line)
        return line

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
