"""Mapping of one manifest row to one create-engagement request body.

Pure: no I/O. The mapper converts leniently (booleans written as yes/no, naive
timestamps, flat participant cells) and passes through values that are already
valid unchanged, so a JSONL line that is a valid request maps to exactly itself. It
never invents a field the spec does not define. What cannot be converted becomes a
``Problem``; everything else is judged by ``validation.validate_body``.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

from .config import MappingConfig
from .errors import ConfigError, ManifestError
from .problems import Problem
from .validation import REQUEST_FIELDS, REQUIRED_FIELDS, is_rfc3339, validate_body

__all__ = ["Mapped", "Mapper", "encode_body", "parse_bool", "parse_timestamp"]

_TRUE = frozenset({"true", "yes", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "0", "n", "f"})
_BOOL_FIELDS = ("run_workflows", "is_private")
_TIMESTAMP = re.compile(
    r"^(\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](\d{2}:\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?\s*([Zz]|[+-]\d{2}:?\d{2})?)?$"
)
_NAME_ADDR = re.compile(r"^(.*?)\s*<([^<>]*)>$")
_PHONEISH = re.compile(r"^\+[\d\s().\-/]+$")
_PHONE_JUNK = re.compile(r"[\s().\-/]")


_CACHE_SIZE = 4096
K = TypeVar("K")
V = TypeVar("V")


def _remember(cache: dict[K, V], key: K, value: V) -> None:
    """Keep ``value`` for ``key``; start over past _CACHE_SIZE keys (memory stays flat)."""
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[key] = value


# How the mapper treats each field; _PLAIN strings pass through as they are.
_PLAIN, _CONVERT, _TRANSCRIPT, _PARTICIPANTS = range(4)


def _kind(name: str, config: MappingConfig) -> int:
    if name == "participants":
        return _PARTICIPANTS
    if name == "transcript_text":
        return _TRANSCRIPT
    if name in ("type", "start_at", "run_workflows", "is_private"):
        return _CONVERT
    if name == "external_id" and config.external_id_prefix:
        return _CONVERT
    return _PLAIN


def parse_bool(value: Any) -> bool | None:
    """Read true/false/yes/no/1/0 in any case (or a JSON boolean); None when unreadable."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def parse_timestamp(text: str, zone: tzinfo) -> str | None:
    """Return ``text`` as RFC 3339 with an offset, reading naive times in ``zone``; else None."""
    text = text.strip()
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    day, hm, sec, frac, offset = match.groups()
    if offset and sec and is_rfc3339(text):
        return text
    iso = f"{day}T{hm or '00:00'}:{sec or '00'}"
    if frac:
        iso += "." + frac[:6].ljust(6, "0")
    if offset:
        iso += "+00:00" if offset in ("Z", "z") else offset
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    offset_delta = moment.utcoffset() or timedelta(0)
    if abs(offset_delta) >= timedelta(hours=24):
        return None
    return moment.isoformat()


def _phone(text: str) -> str:
    return _PHONE_JUNK.sub("", text) if _PHONEISH.match(text) else text


def _entry(text: str) -> dict[str, Any]:
    """Read one flat participant entry: 'Name <email>', an email, an E.164 phone, or a name."""
    match = _NAME_ADDR.match(text) if "<" in text else None
    if match is not None:
        name, addr = match.group(1).strip().strip('"').strip(), match.group(2).strip()
        entry: dict[str, Any] = {}
        if name:
            entry["name"] = name
        if addr:
            entry["email" if "@" in addr else "phone"] = addr if "@" in addr else _phone(addr)
        return entry
    if "@" in text:
        return {"email": text}
    if text.startswith("+") or text[:1].isdigit():
        return {"phone": _phone(text)}
    return {"name": text}


@dataclass(slots=True)
class Mapped:
    """A request body built from one row, the problems met on the way, and their sources."""

    body: dict[str, Any]
    problems: list[Problem]
    participant_columns: list[Mapping[str, str]]


class Mapper:
    """Builds request bodies from rows, following one MappingConfig."""

    def __init__(
        self, config: MappingConfig, *, run_workflows: bool = False, strip_cells: bool = True
    ) -> None:
        """Prepare the mapping; ``run_workflows`` is the --run-workflows flag."""
        self.config = config
        self.strip_cells = strip_cells
        self._zone = zoneinfo.ZoneInfo(config.timezone)
        self._columns = {name: config.column_for(name) for name in REQUEST_FIELDS}
        self._plan = [(name, self._columns[name], _kind(name, config)) for name in REQUEST_FIELDS]
        self._defaults: dict[str, Any] = {}
        for name, raw in config.defaults.items():
            value, problem = self._convert(name, raw)
            if problem is not None:
                raise ConfigError(f"defaults.{name}: {problem.message}")
            self._defaults[name] = value
        self._check_defaults()
        if run_workflows:
            self._defaults["run_workflows"] = True
        self._defaults.setdefault("run_workflows", False)
        parts = config.participants
        self._owner = parts.owner.items() if parts.owner is not None else []
        self._list_column = parts.list_column
        self._owner_sources: Mapping[str, str] = dict(self._owner)
        self._list_sources: Mapping[str, str] = {"": parts.list_column or ""}
        self._separator = parts.separator
        # Owners and attendees repeat across an export: parse each distinct cell once.
        self._owners: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._people: dict[tuple[Any, ...], tuple[Any, Any, list[Problem]]] = {}

    def _check_defaults(self) -> None:
        """Refuse a default that no row could send: every row would get the same problem."""
        for problem in validate_body(self._defaults):
            name = problem.field
            if name not in self._defaults or problem.code == "unknown_field":
                continue
            hint = " in the config" if problem.message.endswith("quote it") else ""
            raise ConfigError(f"defaults.{name}: {problem.message}{hint}")

    @property
    def salt(self) -> bytes:
        """Return what, besides a row, decides its body: this mapping and this version."""
        from . import __version__

        return f"{__version__}|{self.config!r}|{self._defaults!r}|{self.strip_cells}".encode()

    def quick_external_id(self, row: Mapping[str, Any]) -> str | None:
        """Return the external_id ``map`` would give ``row``, without mapping the rest."""
        value = self._cell(row, self._columns["external_id"])
        if not isinstance(value, str):
            return None
        return self.config.external_id_prefix + value

    def column_of(self, field: str) -> str:
        """Return the manifest column that feeds API field ``field``."""
        return self._columns.get(field, field)

    def check_columns(self, source: str, columns: tuple[str, ...]) -> None:
        """Refuse a header that lacks a configured column or a required field's column."""
        have = set(columns)
        listed = ", ".join(c for c in columns if c) or "none"
        for name, column in self.config.columns.items():
            if column not in have:
                raise ManifestError(
                    f"{source}: the config maps {name} to column '{column}', which the header "
                    f"lacks (columns: {listed}); fix columns.{name} in the config"
                )
        wanted = [c for _f, c in self._owner]
        if self._list_column is not None:
            wanted.append(self._list_column)
        for column in wanted:
            if column not in have:
                raise ManifestError(
                    f"{source}: the config names participant column '{column}', which the "
                    f"header lacks (columns: {listed}); fix participants: in the config"
                )
        for name in REQUIRED_FIELDS:
            if self._columns[name] not in have and name not in self._defaults:
                hint = ""
                if len(columns) == 1:
                    hint = "; the header reads as one column: separate fields with , ; tab or |"
                raise ManifestError(
                    f"{source}: no column for required field '{name}' (columns: {listed}); "
                    f"add a '{name}' column, or map one with columns.{name} in --config{hint}"
                )

    def _convert(self, name: str, value: Any) -> tuple[Any, Problem | None]:
        """Convert one present value of field ``name``; return it, or a problem."""
        if name in _BOOL_FIELDS:
            flag = parse_bool(value)
            if flag is None:
                return None, Problem(
                    name,
                    "bad_boolean",
                    f"'{value}' is not a boolean; use true/false, yes/no or 1/0",
                )
            return flag, None
        if not isinstance(value, str):
            return value, None
        if name == "type":
            return value.strip().upper(), None
        if name == "start_at":
            stamp = parse_timestamp(value, self._zone)
            if stamp is None:
                return None, Problem(
                    name,
                    "bad_timestamp",
                    f"'{value}' is not a timestamp; use RFC 3339 (2024-03-05T14:30:00Z), "
                    "'YYYY-MM-DD HH:MM[:SS]' or 'YYYY-MM-DD'",
                )
            return stamp, None
        if name == "external_id" and self.config.external_id_prefix:
            return self.config.external_id_prefix + value, None
        return value, None

    def _cell(self, row: Mapping[str, Any], column: str) -> Any:
        value = row.get(column)
        if isinstance(value, str):
            if self.strip_cells:
                value = value.strip()
            if not value:
                return None
        return value

    def _participants_cached(
        self, row: Mapping[str, Any], problems: list[Problem]
    ) -> tuple[list[Any] | None, list[Mapping[str, str]]]:
        """Map the participant cells, parsing each distinct combination of them once."""
        key = (
            tuple(row.get(column) for _field, column in self._owner),
            row.get(self._list_column) if self._list_column is not None else None,
            row.get(self._columns["participants"]),
        )
        try:
            hit = self._people.get(key)
        except TypeError:  # a JSON cell holding a list or object: not hashable, not cached
            return self._participants(row, problems)
        if hit is None:
            found: list[Problem] = []
            people, sources = self._participants(row, found)
            hit = (people, sources, found)
            _remember(self._people, key, hit)
        people, sources, found = hit
        problems.extend(found)
        if people is None:
            return None, sources
        # Each row gets its own participant dicts: a body is never shared.
        return [dict(p) if isinstance(p, dict) else p for p in people], sources

    def _participants(
        self, row: Mapping[str, Any], problems: list[Problem]
    ) -> tuple[list[Any] | None, list[Mapping[str, str]]]:
        people: list[Any] = []
        sources: list[Mapping[str, str]] = []
        owner_email = owner_phone = ""
        if self._owner:
            cells = tuple(self._cell(row, column) for _field, column in self._owner)
            cached = self._owners.get(cells)
            if cached is None:
                cached = {}
                for (field, _column), cell in zip(self._owner, cells, strict=True):
                    if cell is not None:
                        cached[field] = _phone(str(cell)) if field == "phone" else cell
                _remember(self._owners, cells, cached)
            owner: dict[str, Any] = dict(cached)
            if owner:
                owner["is_owner"] = True
                people.append(owner)
                sources.append(self._owner_sources)
                owner_email = str(owner.get("email") or "").casefold()
                owner_phone = str(owner.get("phone") or "")
        if self._list_column is not None:
            cell = self._cell(row, self._list_column)
            if isinstance(cell, str):
                for raw_part in cell.split(self._separator):
                    part = raw_part.strip()
                    if not part:
                        continue
                    known = self._entries.get(part)
                    if known is None:
                        known = _entry(part)
                        _remember(self._entries, part, known)
                    entry = dict(known)  # each row gets its own dicts
                    # Exports often list the owner among the attendees: send them once.
                    if owner_email and str(entry.get("email", "")).casefold() == owner_email:
                        continue
                    if owner_phone and entry.get("phone") == owner_phone:
                        continue
                    people.append(entry)
                    sources.append(self._list_sources)
        column = self._columns["participants"]
        native = self._cell(row, column)
        if isinstance(native, str):
            try:
                native = json.loads(native)
            except ValueError:
                problems.append(
                    Problem(
                        "participants",
                        "bad_participant",
                        "the cell is not a JSON array of participant objects",
                        column,
                    )
                )
                native = None
        if native is not None:
            if not isinstance(native, list):
                problems.append(
                    Problem(
                        "participants", "bad_participant", "must be an array of objects", column
                    )
                )
            else:
                people.extend(native)
                sources.extend([{"": column}] * len(native))
        return (people or None), sources

    def map(self, row: Mapping[str, Any]) -> Mapped:
        """Build the request body for ``row``, with the problems met while converting."""
        body: dict[str, Any] = {}
        problems: list[Problem] = []
        sources: list[Mapping[str, str]] = []
        get = row.get
        strip = self.strip_cells
        defaults = self._defaults
        for name, column, kind in self._plan:
            if kind == _PARTICIPANTS:
                people, sources = self._participants_cached(row, problems)
                if people is not None:
                    body[name] = people
                continue
            raw = get(column)
            if isinstance(raw, str):
                if strip:
                    raw = raw.strip()
                if not raw:
                    raw = None
            if raw is None:
                if name in defaults:
                    body[name] = defaults[name]
                continue
            if kind == _PLAIN and isinstance(raw, str):
                body[name] = raw
                continue
            if kind == _TRANSCRIPT:
                body[name] = get(column)
                continue
            value, problem = self._convert(name, raw)
            if problem is not None:
                problems.append(Problem(problem.field, problem.code, problem.message, column))
            else:
                body[name] = value
        return Mapped(body=body, problems=problems, participant_columns=sources)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Return the exact bytes sent for ``body``: compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
