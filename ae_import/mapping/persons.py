"""A person written in one cell: ``Name <email>``, ``Name (email)``, an email, a phone, a name.

Pure. The one reader of a person cell, used by ``participants.owner: COLUMN``, by each
entry of ``participants.list`` and by a ``name`` cell that carries an address
(``Jane Doe (jane@x.com)`` in a Host column). A quoted name keeps its comma
(``"Doe, Jane" <jane@x.com>``, unquoted with ``email.utils.unquote``), and a list cell
is split on its separator outside quotes and brackets, so the comma of a quoted name
never splits it. Phones become E.164 through ``phones.to_e164``; one that cannot is
returned with what is wrong, the entry keeping it as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import unquote
from typing import Any

from .phones import looks_like_phone, to_e164

__all__ = ["Entry", "has_address", "read_person", "split_entries"]

Entry = tuple[dict[str, Any], str | None]  # a participant, and what is wrong with its phone
_NAME_ANGLE = re.compile(r"^(.*?)\s*<([^<>]*)>$")
_NAME_PAREN = re.compile(r"^(.*?)\s*\(([^()]*)\)$")
_OPENERS = {"<": ">", "(": ")"}


def _address(entry: dict[str, Any], addr: str, region: str | None) -> str | None:
    """Put an email or phone in ``entry``; return what is wrong with a phone, if anything."""
    if addr.lower().startswith("mailto:"):
        addr = addr[len("mailto:") :]
    if "@" in addr:
        entry["email"] = addr
        return None
    phone, wrong = to_e164(addr, region)
    entry["phone"] = phone if phone is not None else addr
    return wrong


def _name(text: str) -> str:
    """Return a display name without its quotes (``"Doe, Jane"`` is ``Doe, Jane``)."""
    name = text.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        return unquote(name).strip()
    return name.strip('"').strip()


def _split_name(text: str) -> tuple[str, str] | None:
    """Return (name, address) of ``Name <addr>`` or ``Name (email or phone)``, else None."""
    match = _NAME_ANGLE.match(text) if text.endswith(">") else None
    if match is not None:
        return match.group(1), match.group(2).strip()
    if text.endswith(")"):
        match = _NAME_PAREN.match(text)
        if match is not None:
            inner = match.group(2).strip()
            if match.group(1).strip() and ("@" in inner or looks_like_phone(inner)):
                return match.group(1), inner
    return None


def has_address(text: str) -> bool:
    """Tell whether a name cell carries an address: ``Name <email>`` or ``Name (phone)``."""
    return _split_name(text.strip()) is not None


def read_person(text: str, region: str | None) -> Entry:
    """Read one person: 'Name <addr>', 'Name (addr)', an email, a phone, or a name."""
    text = text.strip()
    entry: dict[str, Any] = {}
    parts = _split_name(text)
    if parts is not None:
        name, addr = _name(parts[0]), parts[1]
        if name:
            entry["name"] = name
        return entry, (_address(entry, addr, region) if addr else None)
    if "@" in text or looks_like_phone(text):
        return entry, _address(entry, text, region)
    return {"name": _name(text)}, None


def split_entries(cell: str, separator: str) -> Iterator[str]:
    """Yield the entries of a list cell: split on ``separator`` outside quotes and brackets."""
    if '"' not in cell:
        for part in cell.split(separator):
            if part.strip():
                yield part.strip()
        return
    start = 0
    position = 0
    closing: str | None = None  # the quote or bracket being read through
    size = len(separator)
    while position < len(cell):
        char = cell[position]
        if closing is not None:
            if char == "\\" and closing == '"':
                position += 2
                continue
            if char == closing:
                closing = None
        elif char == '"':
            closing = '"'
        elif char in _OPENERS and separator not in _OPENERS.values():
            closing = _OPENERS[char]
        elif cell.startswith(separator, position):
            part = cell[start:position].strip()
            if part:
                yield part
            position += size
            start = position
            continue
        position += 1
    part = cell[start:].strip()
    if part:
        yield part
