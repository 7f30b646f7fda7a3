"""JSONL records: one JSON object a line, each line its own record and its own problems.

A line that is not JSON, nests past what can be read, holds a lone surrogate escape or
bytes the encoding cannot read, or is not an object, is one problem; reading goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from ae_import.records import Problem, Row

from .encoding import Lines, TooLarge, bad_text

__all__ = ["has_surrogate", "jsonl_rows"]

_LONE_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


def jsonl_rows(lines: Lines, size: str, hint: Callable[[], str]) -> Iterator[Row]:
    """Yield every line's record; a line over the cap (``size``) is one problem, then on.

    ``hint`` says how to read a byte the chosen encoding cannot.
    """
    while True:
        try:
            yield from _records(lines, hint)
            return
        except TooLarge as big:
            message = (
                f"line over {size}, the most one record may hold; it was skipped: "
                "shorten its fields"
            )
            yield Row(big.last, {}, (Problem("", "record_too_large", message),))


def _records(lines: Lines, hint: Callable[[], str]) -> Iterator[Row]:
    """Yield the records of the lines left, until the end or a line over the cap."""
    decode = json.loads
    for text in lines:
        number = lines.number
        if not text or text.isspace():
            continue
        if number == 1:
            lines.check_first(text)
        bad = None
        if "\x00" in text or not text.isascii():
            bad = bad_text(text, lines.encoding)
        if bad is not None:
            message = f"this line {bad}" + ("" if "NUL" in bad else f"; {hint()}")
            yield Row(number, {}, (Problem("", "bad_encoding", message),))
            continue
        try:
            value = decode(text)
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            col = getattr(exc, "colno", None)
            at = f" at column {col}" if col else ""
            yield Row(number, {}, (Problem("", "bad_json", f"not valid JSON: {msg}{at}"),))
            continue
        except RecursionError:  # [[[[... a thousand levels deep: data, not a crash
            message = "JSON nested too deeply to read; a record is an object of plain values"
            yield Row(number, {}, (Problem("", "bad_json", message),))
            continue
        if "\\u" in text and _LONE_SURROGATE.search(text) and has_surrogate(value):
            # \ud800 alone decodes to a character no UTF-8 request can carry
            message = "this line holds a lone UTF-16 surrogate escape (\\ud800-\\udfff)"
            yield Row(number, {}, (Problem("", "bad_encoding", message),))
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


def has_surrogate(value: object) -> bool:
    """Tell whether a decoded JSON value holds a lone surrogate anywhere (a pair decodes whole)."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
