"""YAML text with comments, as ``ae-import init`` writes mapping files.

Pure. Written by hand so that every key can carry the comment that explains it. What
comes from the manifest (headers, cells, its file name) is data, and goes through one
escaping each way: comments through ``text.safe_text`` (YAML reads U+0085, U+2028 and
U+2029 as line breaks even inside a comment, so a cell could otherwise add keys); a scalar
is left plain only when it is printable as it is and ``yaml.safe_load`` reads it back as
the same string, else it is written as a double-quoted scalar with every control, line
separator and bidi mark as a u-escape (``text.json_text``). Then ``reads_back``
checks the whole file: ``init`` writes nothing that does not parse to the mapping it meant.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import yaml

from ae_import.text import json_text, safe_text

from .guess import Line

__all__ = ["comment_block", "intended", "reads_back", "render_section", "scalar"]

_WIDTH = 100
_ALIGN = 40


def scalar(value: Any) -> str:
    """Return ``value`` as a YAML scalar, a flow mapping for a dict, a flow sequence for a list."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{scalar(str(k))}: {scalar(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list):  # a flow sequence: start_at's patterns for mixed formats
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    text = str(value)
    return text if _plain(text) else json_text(text)


def _block(indent: str, key: str, value: dict[str, Any]) -> list[str]:
    """Return a mapping in block style: ``key:`` then one line per item."""
    return [f"{indent}{key}:"] + [f"{indent}  {k}: {scalar(v)}" for k, v in value.items()]


def _plain(text: str) -> bool:
    """Tell whether ``text`` reads back unchanged as a plain scalar, in flow context too."""
    if not text or text != text.strip() or safe_text(text) != text or "#" in text:
        return False
    if not any(c.isalnum() for c in text):  # a lone ";" reads back, but looks like syntax
        return False
    try:
        loaded = yaml.safe_load("{k: " + text + "}")
    except yaml.YAMLError:
        return False
    return isinstance(loaded, dict) and loaded.get("k") == text


def comment_block(text: str, indent: str = "", first: str = "") -> list[str]:
    """Return ``text`` as comment lines of at most 100 characters (``first`` starts the first).

    The text is escaped first: no character in it can end the comment.
    """
    text = safe_text(text)
    lead = f"{indent}# {safe_text(first)}"
    rest = f"{indent}#   " if first else f"{indent}# "
    return textwrap.wrap(
        text, width=_WIDTH, initial_indent=lead, subsequent_indent=rest, break_on_hyphens=False
    ) or [lead.rstrip()]


def render_section(name: str | None, lines: Sequence[Line]) -> list[str]:
    """Return the YAML lines of one section (``name:`` then its keys), or of top-level keys."""
    if not lines:
        return []
    indent = "  " if name else ""
    out = [f"{name}:"] if name else []
    bodies = [f"{indent}{line.key}: {scalar(line.value)}" for line in lines if not line.todo]
    fitting = [len(b) for b in bodies if len(b) <= _ALIGN]
    width = max(fitting, default=0)
    for line in lines:
        if line.todo:
            out += comment_block(line.comment, indent, f"TODO {line.key}: ")
            continue
        body = f"{indent}{line.key}: {scalar(line.value)}"
        if not line.comment:
            out.append(body)
            continue
        single = f"{body.ljust(width)}  # {safe_text(line.comment)}"
        if len(single) <= _WIDTH:
            out.append(single)
        elif isinstance(line.value, dict) and len(body) > _WIDTH:
            out += comment_block(line.comment, indent)
            out += _block(indent, line.key, line.value)
        else:
            out += comment_block(line.comment, indent)
            out.append(body)
    return out


def intended(sections: Sequence[tuple[str | None, Sequence[Line]]]) -> dict[str, Any]:
    """Return the mapping that ``render_section`` of each (name, lines) should read back as."""
    found: dict[str, Any] = {}
    for name, lines in sections:
        values = {line.key: line.value for line in lines if not line.todo}
        if name is None:
            found.update(values)
        elif lines:  # a section of TODOs only reads back as empty
            found[name] = values or None
    return found


def reads_back(text: str, meant: dict[str, Any]) -> bool:
    """Tell whether ``text`` parses, with ``yaml.safe_load``, to exactly ``meant``."""
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError:
        return False
    return (loaded or {}) == meant
