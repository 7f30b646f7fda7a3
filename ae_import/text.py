"""Escaping of data before it is written where a person or a parser reads it.

Manifest cells, file names and servers' answers are data. Before they reach a terminal,
a log line or a JSON line, their control characters, line separators and bidirectional
overrides are escaped here, so that data can neither forge a line nor reorder what a
reader sees. Pure.
"""

from __future__ import annotations

import html
import json
import re
import reprlib
from typing import Any

__all__ = ["html_text", "json_text", "safe_text", "shown"]

# C0 and C1 controls, line separators, and the bidirectional overrides that can make
# text display in another order than it reads ("Trojan Source").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def safe_text(text: str) -> str:
    """Escape control characters (and newlines) so one value stays on one line."""
    text = text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return _CONTROL.sub(_escape, text)


# What json.dumps(ensure_ascii=False) leaves raw and a terminal acts on: DEL, C1
# controls, and the bidirectional marks and overrides (it escapes C0 itself).
_JSON_RAW_CONTROL = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def json_text(value: Any, *, compact: bool = False) -> str:
    """Return ``value`` as one line of JSON (no newline), every control escaped as a u-escape."""
    separators = (",", ":") if compact else None
    text = json.dumps(value, ensure_ascii=False, separators=separators)
    return _JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 40
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = 4
_SHOWN.maxlevel = 2


def shown(value: Any) -> str:
    """Return a value as a message may quote it: its repr, cut short and escaped.

    Bounded in size and in time whatever the value: a nested list shared a million
    times over (a YAML alias bomb) is shown as a few items and ``...``.
    """
    return safe_text(_SHOWN.repr(value))


def html_text(value: Any) -> str:
    """Return ``value`` as HTML text or an attribute value: controls escaped, then ``<>&"'``."""
    return html.escape(safe_text(str(value)), quote=True)
