"""A manifest's physical lines, counted fast, for the progress bar's count of rows to send."""

from __future__ import annotations

from pathlib import Path

__all__ = ["count_lines"]

_BLOCK = 1 << 20
_GZIP = b"\x1f\x8b"


def count_lines(path: Path, limit: int = 64 << 30) -> int | None:
    """Return the lines of the plain file at ``path``; None for gzip, unreadable or over ``limit``.

    Bounded: at most ``limit`` bytes are read, a megabyte at a time (about 1 GB a second).
    """
    try:
        with path.open("rb") as file:
            head = file.read(2)
            if head == _GZIP:
                return None
            lines = head.count(b"\n")
            last = head[-1:]
            read = len(head)
            while block := file.read(_BLOCK):
                lines += block.count(b"\n")
                last = block[-1:]
                read += len(block)
                if read > limit:
                    return None
    except OSError:
        return None
    return lines + (1 if last not in (b"", b"\n") else 0)
