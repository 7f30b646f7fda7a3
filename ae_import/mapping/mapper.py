"""Mapping of one manifest row to one create-engagement request body.

Pure apart from ``transcripts.py`` (the files ``transcript_text: {file: ...}`` names). The
mapper converts leniently (booleans written as yes/no, timestamps as exports write them,
numbers where text belongs, value maps, templates, flat participant cells) and passes
through values that are already valid unchanged, so a JSONL line that is a valid request
maps to exactly itself. It never invents a field the spec does not define. What cannot be
converted becomes a ``Problem`` naming its source (column, key path, template or file);
everything else is judged by ``validation.validate_body``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ae_import.errors import ConfigError
from ae_import.options import parse_bool
from ae_import.records import Problem
from ae_import.text import shown

from .config import FieldSpec, MappingConfig
from .join import Join
from .participants import People
from .sources import MISSING, Source, key_paths, lookup, parse_source, suggest, text_of
from .textcut import cut
from .timestamps import StampReader, check_zone, find_zone
from .transcripts import read_transcript
from .validation import (
    FIELDS,
    LENGTHS,
    OWN_VALUE_FIELDS,
    TRANSCRIPT_MAX_BYTES,
    TRANSCRIPT_MAX_CHARS,
    validate_body,
)

__all__ = ["Mapped", "Mapper", "encode_body", "parse_timestamp"]

# How the mapper treats each field; _PLAIN strings pass through as they are, a _STAMP is
# read by the mapping's timestamp reader, a _ZONED one in the zone its row names.
_PLAIN, _CONVERT, _TRANSCRIPT, _PARTICIPANTS, _ZONED, _STAMP = range(6)
# The source of a field the mapping does not map: it reads nothing (a template of no names).
_NOTHING = Source("", (), (), ("",))
_NO_KEY: Any = object()  # a "key" no row has (keys are text): as fast as an absent column


def parse_timestamp(text: str, zone: Any, formats: tuple[str, ...] = ()) -> str | None:
    """Return ``text`` as RFC 3339 with an offset (naive times in ``zone``), else None."""
    value, problem = StampReader(zone, formats).read(text)
    return None if problem else value


@dataclass(slots=True)
class Mapped:
    """A request body built from one row, the problems met on the way, and their sources."""

    body: dict[str, Any]
    problems: list[Problem]
    participant_columns: list[Mapping[str, str]]


@dataclass(slots=True)
class _Plan:
    """How one API field is read: from a plain key (fast) or a source, then converted."""

    name: str
    key: str | None  # a plain column or key, read with row.get
    source: Source  # where the value comes from (also when ``key`` is set)
    kind: int
    strip: bool
    spec: FieldSpec | None
    label: str  # the source as problems name it
    join: Join | None = None  # an array joined into one text: read through it


class Mapper:
    """Builds request bodies from rows, following one MappingConfig."""

    def __init__(
        self,
        config: MappingConfig,
        *,
        run_workflows: bool = False,
        strip_cells: bool = True,
        files_root: Path | None = None,
    ) -> None:
        """Prepare the mapping; ``run_workflows`` is the --run-workflows flag.

        Files the rows name are read only inside the manifest's folder (``base``) or
        ``files_root`` (``--files-root``).
        """
        self.config = config
        self.strip_cells = strip_cells
        self.base = Path(".")  # transcript files are relative to this (the manifest's folder)
        self.roots = (files_root,) if files_root is not None else ()
        self._suggested: dict[str, str | None] = {}
        start = config.fields.get("start_at")
        self._stamps = StampReader(
            (start.timezone if start else None) or config.timezone,
            start.formats if start and start.formats is not None else config.timestamp_formats,
            (start.ambiguous if start else None) or config.ambiguous,
        )
        self._zones = self._zone_column(start)  # each row's zone, when a column gives it
        self._readers: dict[str, StampReader | str] = {}  # a zone cell: its reader, or why not
        self._plans = {name: self._plan_of(name) for name in FIELDS}
        self._plan = list(self._plans.values())
        self._defaults: dict[str, Any] = {}
        for name, raw in config.defaults.items():
            if isinstance(raw, int) and FIELDS[name].kind != "boolean":
                self._defaults[name] = raw  # YAML read a number: validation says to quote it
                continue
            # a default is the field's value itself: no value map applies to it
            value, problem = self._convert(replace(self._plans[name], spec=None), raw)
            if problem is not None:
                raise ConfigError(f"defaults.{name}: {problem.message}")
            self._defaults[name] = value
        self._check_defaults()
        if run_workflows:
            self._defaults["run_workflows"] = True
        self._defaults.setdefault("run_workflows", False)
        native = self._plans["participants"].source
        self._people = People(config, strip_cells, None if native is _NOTHING else native)
        # What map() walks, per field: name, plain key, kind, strip, value when empty, plan.
        self._loop = [
            (p.name, p.key, p.kind, p.strip, self._fallback(p), p) for p in self._plans.values()
        ]
        id_plan = self._plans["external_id"]
        self._id = (id_plan.key, id_plan.source, id_plan.strip)

    def _fallback(self, plan: _Plan) -> Any:
        """Return the value of a field whose source is empty: the column's default, defaults."""
        if plan.spec is not None and plan.spec.default is not None:
            return plan.spec.default
        return self._defaults.get(plan.name, MISSING)

    def _plan_of(self, name: str) -> _Plan:
        spec = self.config.fields.get(name)
        join = spec.join if spec is not None else None
        source = (spec.source or spec.file) if spec is not None else None
        if join is not None:
            source = join.path
        if source is None:
            # The mapping decides: once it maps anything, a key named like the field is data.
            source = _NOTHING if self.config.decides else parse_source(name)
        plain = not source.is_template and len(source.steps[0]) == 1 and join is None
        rule = FIELDS[name].kind
        kind = _PLAIN
        if rule == "people":
            kind = _PARTICIPANTS
        elif rule == "transcript":
            kind = _TRANSCRIPT
        elif name == "start_at" and self._zone_column(spec) is not None:
            kind = _ZONED
        elif name == "start_at" and (spec is None or spec.value_map is None):
            kind = _STAMP
        elif (
            rule in ("enum", "timestamp", "boolean")
            or (spec is not None and (spec.value_map is not None or spec.truncate))
            or (name == "external_id" and self.config.external_id_prefix)
        ):
            kind = _CONVERT
        key = source.names[0] if plain else None
        if source is _NOTHING:
            key = _NO_KEY
        return _Plan(
            name,
            key,
            source,
            kind,
            self.strip_cells or spec is not None,
            spec,
            join.text if join is not None else source.text,
            join,
        )

    def _zone_column(self, spec: FieldSpec | None) -> Source | None:
        """Return the source of each row's zone for start_at: its own, else the mapping's."""
        if spec is not None and spec.zone_column is not None:
            return spec.zone_column
        if spec is not None and spec.timezone is not None:
            return None  # start_at's own fixed zone outranks the mapping's zone column
        return self.config.zone_column

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
        from ae_import.version import version

        return f"{version()}|{self.config!r}|{self._defaults!r}|{self.strip_cells}".encode()

    def quick_external_id(self, row: Mapping[str, Any]) -> str | None:
        """Return the external_id ``map`` would give ``row``, without mapping the rest."""
        key, source, strip = self._id
        raw = row.get(key) if key is not None else source.read(row)
        if isinstance(raw, str):
            if strip:
                raw = raw.strip()
        elif isinstance(raw, int) and not isinstance(raw, bool):
            raw = str(raw)
        elif isinstance(raw, float) and raw.is_integer():
            raw = str(int(raw))
        else:
            return None
        return self.config.external_id_prefix + raw if raw else None

    def column_of(self, field: str) -> str:
        """Return the source (column, key path or template) that feeds API field ``field``."""
        plan = self._plans.get(field)
        return plan.label if plan is not None else field

    def configured_columns(self) -> list[tuple[str, str, str]]:
        """Return (where in the config, source text, column) for every column the config names."""
        found = []
        for name, spec in self.config.fields.items():
            for src in (spec.source, spec.file, spec.join.path if spec.join else None):
                if src is not None:
                    found += [(f"columns.{name}", src.text, column) for column in src.names]
            if spec.zone_column is not None:
                zone = spec.zone_column
                found += [(f"columns.{name}.timezone", zone.text, c) for c in zone.names]
        if self.config.zone_column is not None and self._zones is self.config.zone_column:
            zone = self.config.zone_column
            found += [("timezone.column", zone.text, c) for c in zone.names]
        people = self._people
        for field, src in people.owner:
            where = f"participants.owner.{field}" if field else "participants.owner"
            found += [(where, src.text, c) for c in src.names]
        if people.listed is not None:
            found += [("participants.list", people.listed.text, c) for c in people.listed.names]
        if people.items is not None:
            found += [("participants.items.path", people.items[0].text, people.items[0].text)]
        return found

    def has_default(self, field: str) -> bool:
        """Tell whether ``field`` gets a value when its source is empty."""
        spec = self.config.fields.get(field)
        return field in self._defaults or (spec is not None and spec.default is not None)

    def explain_missing(self, field: str, row: Mapping[str, Any]) -> str:
        """Say why required ``field`` is absent from ``row`` and how to give it one."""
        plan = self._plans[field]
        if field not in self.config.fields:
            if self.config.decides:
                default = "" if field in OWN_VALUE_FIELDS else f", or set defaults.{field}"
                return (
                    f"is required: the config maps no source to it; map one with "
                    f"columns.{field}{default}"
                )
            return "is required"  # a key named like the field: the field says it all
        default = "" if field in OWN_VALUE_FIELDS else f", or set defaults.{field}"
        fix = f"columns.{field}{default}"
        absent = [
            name
            for name, steps in zip(plan.source.names, plan.source.steps, strict=True)
            if lookup(row, name, steps) is MISSING
        ]
        if not absent or (plan.source.is_template and len(absent) < len(plan.source.names)):
            return "is required"
        # "Did you mean" compares with every key of the record: once per missing name.
        if absent[0] not in self._suggested and len(self._suggested) < 256:
            self._suggested[absent[0]] = suggest(absent[0], key_paths(row))
        close = self._suggested.get(absent[0])
        hint = f" (did you mean '{close}'?)" if close else ""
        return f"is required: this record has no key '{absent[0]}'{hint}; map another with {fix}"

    def _convert(self, plan: _Plan, value: Any) -> tuple[Any, Problem | None]:
        """Convert one present value of a field; return it, or a problem."""
        name = plan.name
        if plan.spec is not None and plan.spec.value_map is not None:
            return self._mapped(plan, value)
        if FIELDS[name].kind == "boolean":
            try:
                return parse_bool(value), None
            except ValueError:
                return None, Problem(
                    name,
                    "bad_boolean",
                    f"'{value}' is not a boolean; use true/false, yes/no or 1/0",
                )
        if name == "start_at":  # a default's (a row's is read in map, as a _STAMP)
            return self._stamp(self._stamps, value)
        if value.__class__ is not str:
            if isinstance(value, bool) or not isinstance(value, int | float):
                return value, None  # validation names the wrong type
            if name == "external_id" and isinstance(value, float) and not value.is_integer():
                message = f"{shown(value)} is not a whole number; an id must be one, or text"
                return None, Problem(name, "wrong_type", message)
            value = text_of(value)
        if name == "type":
            return value.strip().upper(), None
        if name == "external_id":
            return self.config.external_id_prefix + value, None
        if plan.spec is not None and plan.spec.truncate and name in LENGTHS:
            return cut(value, LENGTHS[name][1]), None
        return value, None

    def _stamp(self, reader: StampReader, value: Any) -> tuple[Any, Problem | None]:
        """Read a start_at value with ``reader``: RFC 3339 text, or a problem."""
        stamp, wrong = reader.read(value)
        if wrong is not None:
            return None, Problem("start_at", wrong[0], wrong[1])
        return stamp, None

    def _zoned(self, plan: _Plan, value: Any, row: Mapping[str, Any]) -> tuple[Any, Problem | None]:
        """Read start_at in the row's own zone (its zone column), else the mapping's zone."""
        assert self._zones is not None
        cell = text_of(self._zones.read(row))
        if not cell:
            return self._stamp(self._stamps, value)
        reader = self._readers.get(cell)
        if reader is None:
            zone = find_zone(cell)
            if zone is None:
                reader = f"{check_zone(cell)}; fix the row, or map another zone column"
            else:
                stamps = self._stamps
                reader = StampReader(zone, stamps.formats, stamps.ambiguous)
                reader.zone_name = cell
            if len(self._readers) >= 512:
                self._readers.clear()
            if len(cell) <= 64:  # a longer cell is no zone: never kept
                self._readers[cell] = reader
        if isinstance(reader, str):
            return None, Problem(plan.name, "bad_timezone", reader, self._zones.text)
        return self._stamp(reader, value)

    def _mapped(self, plan: _Plan, value: Any) -> tuple[Any, Problem | None]:
        """Look a value up in the field's value map (exactly, then in any case)."""
        spec = plan.spec
        assert spec is not None and spec.value_map is not None
        key = text_of(value)
        if key in spec.value_map:
            return spec.value_map[key], None
        folded = key.casefold()
        for known, mapped in spec.value_map.items():
            if known.casefold() == folded:
                return mapped, None
        if spec.default is not None:
            return spec.default, None
        listed = ", ".join(spec.value_map)
        return None, Problem(
            plan.name,
            "unmapped_value",
            f"'{key}' is not in columns.{plan.name}.map ({listed}); add it to the map, or give "
            f"columns.{plan.name} a default",
        )

    def _transcript(self, plan: _Plan, raw: Any) -> tuple[Any, Problem | None]:
        spec = plan.spec
        if spec is not None and spec.file is not None:
            text, wrong = read_transcript(self.base, text_of(raw), self.roots)
            if wrong is not None:
                return None, Problem(plan.name, "transcript_file", wrong, plan.label)
            raw = text
        if spec is not None and spec.truncate and isinstance(raw, str):
            raw = cut(raw, TRANSCRIPT_MAX_CHARS, max_bytes=TRANSCRIPT_MAX_BYTES)
        return raw, None

    def map(self, row: Mapping[str, Any]) -> Mapped:
        """Build the request body for ``row``, with the problems met while converting."""
        body: dict[str, Any] = {}
        problems: list[Problem] = []
        sources: list[Mapping[str, str]] = []
        get = row.get
        for name, key, kind, strip, fallback, plan in self._loop:
            if kind == _PARTICIPANTS:
                people, sources = self._people.read(row, problems)
                if people is not None:
                    body[name] = people
                continue
            if key is not None:
                raw = get(key)
            elif plan.join is None:
                raw = plan.source.read(row)
            else:
                raw, wrong = plan.join.read(row)
                if wrong is not None:
                    problems.append(Problem(name, "bad_join", wrong, plan.label))
                    continue
            if isinstance(raw, str):
                if strip:  # a transcript is kept exactly, unless it is only spaces
                    stripped = raw.strip()
                    raw = raw if kind == _TRANSCRIPT and stripped else stripped
                if not raw:
                    raw = None
            if raw is None:
                if fallback is not MISSING:
                    body[name] = fallback
                continue
            if kind == _PLAIN and isinstance(raw, str):
                body[name] = raw
                continue
            if kind == _STAMP:
                value, problem = self._stamp(self._stamps, raw)
            elif kind == _TRANSCRIPT:
                value, problem = self._transcript(plan, raw)
            elif kind == _ZONED:
                value, problem = self._zoned(plan, raw, row)
            else:
                value, problem = self._convert(plan, raw)
            if problem is not None:
                column = problem.column or plan.label
                problems.append(Problem(problem.field, problem.code, problem.message, column))
            else:
                body[name] = value
        return Mapped(body=body, problems=problems, participant_columns=sources)


def encode_body(body: Mapping[str, Any]) -> bytes:
    """Return the exact bytes sent for ``body``: compact UTF-8 JSON."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
