r"""Cutting text to a length at a grapheme boundary, with an ellipsis.

Pure. A grapheme (a user-perceived character: ``e`` with a combining accent, a flag, a
family emoji joined by zero-width joiners) is never split: the text is cut before the
last whole grapheme that fits, then ``…`` is added. Graphemes are found with the
``regex`` package's ``\X`` (Unicode's extended grapheme clusters, UAX #29).
"""

from __future__ import annotations

__all__ = ["ELLIPSIS", "cut"]

ELLIPSIS = "…"


def _size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def cut(text: str, limit: int, max_bytes: int | None = None) -> str:
    """Return ``text`` if it fits ``limit`` characters (and ``max_bytes``), else cut with ``…``."""
    fits_bytes = max_bytes is None or len(text) * 4 <= max_bytes or _size(text) <= max_bytes
    if len(text) <= limit and fits_bytes:
        return text
    import regex  # on first use: most mappings never cut

    room = limit - len(ELLIPSIS)
    byte_room = None if max_bytes is None else max_bytes - _size(ELLIPSIS)
    kept = 0
    used = 0
    for match in regex.finditer(r"\X", text[: room + 16]):
        end = match.end()
        if end > room:
            break
        if byte_room is not None:
            used += _size(match.group())
            if used > byte_room:
                break
        kept = end
    return text[:kept].rstrip() + ELLIPSIS
