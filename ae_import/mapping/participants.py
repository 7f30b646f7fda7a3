"""Participants from a row: the owner's columns, a list cell, JSONL items, a JSON array.

Pure. The owner (``participants.owner``) is sent first, with ``is_owner: true``. A list
cell (``participants.list``) holds entries split on the separator: ``Name <email>``,
``Name (email)``, ``Name <phone>``, a bare email, a phone, or a bare name. JSONL
``items`` are a list of objects, each a participant. An entry repeating the owner's
email or phone is dropped (exports list the host among the attendees). Phones become
E.164 through ``phones.to_e164`` with the mapping's ``phone_region``; one that cannot
is a ``bad_phone`` problem, the entry kept as written so the others keep their places.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ae_import.records import Problem

from .config import MappingConfig
from .phones import looks_like_phone, to_e164
from .sources import MISSING, Source, lookup, parse_source, text_of

__all__ = ["People"]

_NAME_ANGLE = re.compile(r"^(.*?)\s*<([^<>]*)>$")
_NAME_PAREN = re.compile(r"^(.*?)\s*\(([^()]*)\)$")
_CACHE_SIZE = 4096
Entry = tuple[dict[str, Any], str | None]  # a participant, and what is wrong with its phone


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` for ``key``; start over past _CACHE_SIZE keys (memory stays flat)."""
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


def _address(entry: dict[str, Any], addr: str, region: str | None) -> str | None:
    """Put an email or phone in ``entry``; return what is wrong with a phone, if anything."""
    if "@" in addr:
        entry["email"] = addr
        return None
    phone, wrong = to_e164(addr, region)
    entry["phone"] = phone if phone is not None else addr
    return wrong


def read_entry(text: str, region: str | None) -> Entry:
    """Read one list entry: 'Name <addr>', 'Name (addr)', an email, a phone, or a name."""
    match = _NAME_ANGLE.match(text) if "<" in text else None
    if match is None and text.endswith(")"):
        match = _NAME_PAREN.match(text)
        if match is not None:
            inner = match.group(2).strip()
            if not match.group(1).strip() or ("@" not in inner and not looks_like_phone(inner)):
                match = None
    entry: dict[str, Any] = {}
    if match is not None:
        name, addr = match.group(1).strip().strip('"').strip(), match.group(2).strip()
        if name:
            entry["name"] = name
        return entry, (_address(entry, addr, region) if addr else None)
    if "@" in text or looks_like_phone(text):
        return entry, _address(entry, text, region)
    return {"name": text}, None


class People:
    """Builds the ``participants`` of a row, following one MappingConfig."""

    def __init__(self, config: MappingConfig, strip: bool, native: Source) -> None:
        """Compile the owner, list and items sources; ``native`` is the participants field's."""
        parts = config.participants
        self.region = config.phone_region
        self.strip = strip
        owner = parts.owner.items() if parts.owner else []
        self.owner = [(field, parse_source(text)) for field, text in owner]
        self.owner_labels: Mapping[str, str] = {f: s.text for f, s in self.owner}
        self.listed = parse_source(parts.list_column) if parts.list_column else None
        self.list_labels: Mapping[str, str] = {"": self.listed.text if self.listed else ""}
        self.separator = parts.separator
        self.items = None
        if parts.items is not None:
            keys = [(f, parse_source(k)) for f, k in parts.items.keys.items()]
            self.items = (parse_source(parts.items.path), keys)
        self.native = native
        self.sources = [s for _f, s in self.owner]
        self.sources += [self.listed] if self.listed else []
        self.sources += [self.items[0]] if self.items else []
        self.sources.append(native)
        self._keys = [
            (n, s) for src in self.sources for n, s in zip(src.names, src.steps, strict=True)
        ]
        plain = [n for n, steps in self._keys if len(steps) == 1]
        self._plain = plain if len(plain) == len(self._keys) else None
        self._owners: dict[tuple[Any, ...], tuple[dict[str, Any], str | None]] = {}
        self._entries: dict[str, Entry] = {}
        self._people: dict[tuple[Any, ...], tuple[Any, Any, list[Problem]]] = {}

    def read(
        self, row: Mapping[str, Any], problems: list[Problem]
    ) -> tuple[list[Any] | None, list[Mapping[str, str]]]:
        """Map the participant cells, parsing each distinct combination of them once."""
        try:
            if self._plain is not None:  # every source is a plain column (CSV): C calls
                key = tuple(map(row.get, self._plain))
            else:
                key = tuple(lookup(row, name, steps) for name, steps in self._keys)
            hit = self._people.get(key)
        except TypeError:  # a JSON value holding a list or object: not hashable, not cached
            return self._read(row, problems)
        if hit is None:
            found: list[Problem] = []
            people, labels = self._read(row, found)
            hit = (people, labels, found)
            _remember(self._people, key, hit)
        people, labels, found = hit
        problems.extend(found)
        if people is None:
            return None, labels
        # Each row gets its own participant dicts: a body is never shared.
        return [dict(p) if isinstance(p, dict) else p for p in people], labels

    def _text(self, value: Any) -> str:
        if isinstance(value, str):
            return value.strip() if self.strip else value
        return text_of(value)

    def _owner(self, row: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
        cells = tuple(self._text(src.read(row)) for _field, src in self.owner)
        cached = self._owners.get(cells)
        if cached is None:
            owner: dict[str, Any] = {}
            wrong = None
            for (field, _src), cell in zip(self.owner, cells, strict=True):
                if not cell:
                    continue
                if field == "phone":
                    phone, wrong = to_e164(cell, self.region)
                    owner[field] = phone if phone is not None else cell
                else:
                    owner[field] = cell
            cached = (owner, wrong)
            _remember(self._owners, cells, cached)
        return dict(cached[0]), cached[1]

    def _read(
        self, row: Mapping[str, Any], problems: list[Problem]
    ) -> tuple[list[Any] | None, list[Mapping[str, str]]]:
        people: list[Any] = []
        labels: list[Mapping[str, str]] = []
        owner_email = owner_phone = ""

        def add(entry: dict[str, Any], wrong: str | None, label: Mapping[str, str]) -> None:
            if owner_email and str(entry.get("email", "")).casefold() == owner_email:
                return
            if owner_phone and entry.get("phone") == owner_phone:
                return
            people.append(entry)
            labels.append(label)
            if wrong is not None:
                place = f"participants[{len(people)}].phone"
                column = label.get("phone") or label.get("")
                problems.append(Problem(place, "bad_phone", wrong, column))

        if self.owner:
            owner, wrong = self._owner(row)
            if owner:
                owner["is_owner"] = True
                people.append(owner)
                labels.append(self.owner_labels)
                if wrong is not None:
                    label = self.owner_labels["phone"]
                    problems.append(Problem("participants[1].phone", "bad_phone", wrong, label))
                owner_email = str(owner.get("email") or "").casefold()
                owner_phone = str(owner.get("phone") or "")
        if self.listed is not None:
            cell = self.listed.read(row)
            if isinstance(cell, str):
                for raw_part in cell.split(self.separator):
                    part = raw_part.strip()
                    if not part:
                        continue
                    known = self._entries.get(part)
                    if known is None:
                        known = read_entry(part, self.region)
                        _remember(self._entries, part, known)
                    add(dict(known[0]), known[1], self.list_labels)
        if self.items is not None:
            self._items(row, add, problems)
        self._native(row, people, labels, problems)
        return (people or None), labels

    def _items(self, row: Mapping[str, Any], add: Any, problems: list[Problem]) -> None:
        """Add each object of the JSONL list at ``items.path`` as a participant."""
        assert self.items is not None
        path, keys = self.items
        found = path.read(row)
        if found is MISSING or found is None:
            return
        if not isinstance(found, list):
            problems.append(
                Problem("participants", "bad_participant", "must be a list of objects", path.text)
            )
            return
        for index, item in enumerate(found):
            if not isinstance(item, dict):
                message = f"item {index} is not an object"
                problems.append(Problem("participants", "bad_participant", message, path.text))
                continue
            entry: dict[str, Any] = {}
            label: dict[str, str] = {}
            wrong = None
            for field, key in keys:
                value = self._text(key.read(item))
                if not value:
                    continue
                label[field] = f"{path.text}[{index}].{key.text}"
                if field == "phone":
                    phone, wrong = to_e164(value, self.region)
                    entry[field] = phone if phone is not None else value
                else:
                    entry[field] = value
            if entry:
                add(entry, wrong, label)

    def _native(
        self,
        row: Mapping[str, Any],
        people: list[Any],
        labels: list[Mapping[str, str]],
        problems: list[Problem],
    ) -> None:
        """Add a JSON array of participant objects: a native JSONL array or a CSV cell."""
        column = self.native.text
        native = self.native.read(row)
        if isinstance(native, str):
            native = native.strip()
            if not native:
                return
            try:
                native = json.loads(native)
            except ValueError:
                message = "the cell is not a JSON array of participant objects"
                problems.append(Problem("participants", "bad_participant", message, column))
                return
        if native is None or native is MISSING:
            return
        if not isinstance(native, list):
            message = "must be an array of objects"
            problems.append(Problem("participants", "bad_participant", message, column))
            return
        people.extend(native)
        labels.extend([{"": column}] * len(native))
