"""Participants from a row: the owner, a list cell or array, JSONL items, a JSON array.

Pure. The owner (``participants.owner``: a cell holding a person, or the owner's
columns) is sent first, with ``is_owner: true``. A list cell (``participants.list``)
holds entries split on the separator; a list that is an array (JSONL, or ``join`` with an
``item`` template) gives one entry per element. Every entry is read by
``persons.read_person``: ``Name <email>``, ``Name (email)``, ``Name <phone>``, a bare
email, a phone, or a bare name; so is a ``name`` cell of the owner's columns or of an
item that carries an address. JSONL ``items`` are a list of objects, each a participant,
their keys read as paths (``user.displayName``, ``phone.id``). An entry repeating the
owner's email or phone is dropped (exports list the host among the attendees). Phones
become E.164 through ``phones.to_e164`` with the mapping's ``phone_region``; one that
cannot is a ``bad_phone`` problem, the entry kept as written so the others keep their
places.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ae_import.records import Problem

from .config import MappingConfig
from .join import as_array, items_of
from .persons import Entry, has_address, read_person, split_entries
from .phones import to_e164
from .sources import MISSING, Source, lookup, parse_source, text_of

__all__ = ["People"]

_CACHE_SIZE = 4096


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` for ``key``; start over past _CACHE_SIZE keys (memory stays flat)."""
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


def _person(cells: list[tuple[str, str]], region: str | None) -> Entry:
    """Build a participant from (field, cell) pairs; a name cell may carry an address."""
    entry: dict[str, Any] = {}
    wrong = None
    for field, cell in cells:
        if field == "phone":
            phone, wrong = to_e164(cell, region)
            entry[field] = phone if phone is not None else cell
        elif field == "name" and has_address(cell):  # Host: "Jane Doe (jane@x.com)"
            person, address_wrong = read_person(cell, region)
            for key, value in person.items():
                entry.setdefault(key, value)
            wrong = wrong or address_wrong
        else:
            entry[field] = cell
    return entry, wrong


class People:
    """Builds the ``participants`` of a row, following one MappingConfig."""

    def __init__(self, config: MappingConfig, strip: bool, native: Source | None) -> None:
        """Compile the owner, list and items sources; ``native`` is the participants field's."""
        parts = config.participants
        self.region = config.phone_region
        self.strip = strip
        owner = parts.owner.items() if parts.owner else []
        if parts.owner_person is not None:
            owner = [("", parts.owner_person)]  # one cell holding the whole person
        self.owner = [(field, parse_source(text)) for field, text in owner]
        self.owner_labels: Mapping[str, str] = {f: s.text for f, s in self.owner}
        if parts.owner_person is not None:
            label = self.owner[0][1].text
            self.owner_labels = {f: label for f in ("", "name", "email", "phone")}
        self.listed = parse_source(parts.list_column) if parts.list_column else None
        self.list_item = parse_source(parts.list_item) if parts.list_item else None
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
        self.sources += [native] if native is not None else []
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
            if self.owner[0][0] == "":  # owner: COLUMN, one person in one cell
                cached = read_person(cells[0], self.region) if cells[0] else ({}, None)
            else:
                filled = [(f, c) for (f, _src), c in zip(self.owner, cells, strict=True) if c]
                cached = _person(filled, self.region)
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
                column = label.get("phone") or label.get("name") or label.get("")
                problems.append(Problem(place, "bad_phone", wrong, column))

        field, source = self.owner[0] if self.owner else ("-", None)
        if field == "" and source is not None and isinstance(source.read(row), dict | list):
            key = source.text
            message = (
                f"is an object, not a person cell; map its keys: owner: {{name: {key}.name, "
                f"email: {key}.email}}"
            )
            problems.append(Problem("participants", "bad_participant", message, key))
        elif self.owner:
            owner, wrong = self._owner(row)
            if owner:
                owner["is_owner"] = True
                people.append(owner)
                labels.append(self.owner_labels)
                if wrong is not None:
                    label = self.owner_labels.get("phone") or self.owner_labels.get("name")
                    problems.append(Problem("participants[1].phone", "bad_phone", wrong, label))
                owner_email = str(owner.get("email") or "").casefold()
                owner_phone = str(owner.get("phone") or "")
        if self.listed is not None:
            for part in self._listed(row, problems):
                known = self._entries.get(part)
                if known is None:
                    known = read_person(part, self.region)
                    _remember(self._entries, part, known)
                add(dict(known[0]), known[1], self.list_labels)
        if self.items is not None:
            self._items(row, add, problems)
        self._native(row, people, labels, problems)
        return (people or None), labels

    def _listed(self, row: Mapping[str, Any], problems: list[Problem]) -> list[str]:
        """Return the entries of the list: a cell split on the separator, or an array's."""
        assert self.listed is not None
        cell = as_array(self.listed.read(row))
        if isinstance(cell, str):  # a cell of entries (not a JSON array): split it
            return list(split_entries(cell, self.separator))
        texts, wrong = items_of(cell, self.list_item, "read as people")
        if wrong is not None:
            problems.append(Problem("participants", "bad_participant", wrong, self.listed.text))
        return [t.strip() for t in texts or () if t.strip()]

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
            label: dict[str, str] = {}
            cells: list[tuple[str, str]] = []
            for field, key in keys:
                value = self._text(key.read(item))
                if not value:
                    continue
                label[field] = f"{path.text}[{index}].{key.text}"
                cells.append((field, value))
            entry, wrong = _person(cells, self.region)
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
        if self.native is None:
            return
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
