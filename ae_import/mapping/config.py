"""The mapping part of the config file: how a manifest is read and its rows become requests.

Pure: ``parse_mapping`` checks the parsed YAML and returns frozen dataclasses; every
unknown key is an error naming it and, where one is close, the key probably meant. The
forms (``docs/mapping.md``):

- ``manifest:`` how to read the file: ``encoding`` (a codec or ``auto``), ``delimiter``,
  ``skip_lines``;
- ``timezone``, ``timestamp_formats``, ``ambiguous``, ``phone_region``: how timestamps and
  phones are read;
- ``timezone`` may be ``{column: Timezone, default: America/Chicago}``: each row's zone;
- ``columns:`` per API field a source (a column, a JSONL key path, a ``{column}``
  template), or a mapping of the source (``column`` or ``template``; ``join`` with
  ``item`` and ``with`` for an array made one text; ``file`` for ``transcript_text``)
  with its options (``map``, ``default``, ``format``, ``timezone``, ``ambiguous``,
  ``truncate``);
- ``defaults:`` per API field a value for rows that have none;
- ``participants:`` (``people_config``) the ``owner``, a ``list``, JSONL ``items``.

The mapping decides (``MappingConfig.decides``): once it maps columns or participants, a
column or key that merely shares an API field's name is data, never sent unless mapped.
"""

from __future__ import annotations

import codecs
import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ae_import.errors import ConfigError
from ae_import.options import parse_bool
from ae_import.reading import ReadingConfig
from ae_import.text import shown

from .checks import (
    ambiguous_of,
    check_keys,
    formats_of,
    mapping_of,
    source_of,
    string_of,
    zones_of,
)
from .join import Join
from .people_config import ItemsConfig, OwnerColumns, ParticipantsConfig, parse_participants
from .phones import is_region
from .sources import Source
from .validation import (
    FIELDS,
    LENGTHS,
    OWN_VALUE_FIELDS,
    REQUEST_FIELDS,
    TRANSCRIPT_MAX_CHARS,
    TYPES,
)

__all__ = [
    "EMPTY_MAPPING",
    "FieldSpec",
    "ItemsConfig",
    "MappingConfig",
    "OwnerColumns",
    "ParticipantsConfig",
    "check_keys",
    "mapping_of",
    "parse_mapping",
    "string_of",
]

TOP_KEYS = (
    "ambiguous",
    "api",
    "cloud",
    "columns",
    "defaults",
    "external_id_prefix",
    "manifest",
    "participants",
    "phone_region",
    "run",
    "timestamp_formats",
    "timezone",
)
_NOT_MAPPING = ("api", "run", "cloud")
_READING_KEYS = ("delimiter", "encoding", "skip_lines", "sheet", "records")
_FIELD_KEYS = ("ambiguous", "column", "default", "file", "format", "map", "timezone", "truncate")
# Every key of a field's mapping: join's, and template (column's synonym) besides.
_FORM_KEYS = (*_FIELD_KEYS, "item", "join", "template", "with")
_SOURCE_KEYS = ("column", "template", "file", "join")  # a field reads exactly one of them
_JOIN_FIELDS = ("title", "source_system", "transcript_text")
_DELIMITER_WORDS = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}


@dataclass(frozen=True)
class FieldSpec:
    """Where one API field comes from, and how its value is turned into the field's."""

    source: Source | None = None  # a column, key path or template
    file: Source | None = None  # transcript_text: the column naming a transcript file
    value_map: Mapping[str, Any] | None = None
    default: Any = None  # sent when the value is empty or not in value_map
    formats: tuple[str, ...] | None = None  # start_at: its own timestamp_formats
    timezone: str | None = None  # start_at: its own zone
    ambiguous: str | None = None  # start_at: its own rule for DST gaps and folds
    truncate: bool = False  # title, transcript_text: cut at the limit instead of refusing
    join: Join | None = None  # an array joined into one text ({join: path, item:, with:})
    zone_column: Source | None = None  # start_at: each row's zone ({column:, default:})

    @property
    def text(self) -> str:
        """Return the source as the config writes it."""
        found = self.source or self.file or (self.join.path if self.join else None)
        assert found is not None
        return found.text


@dataclass(frozen=True)
class MappingConfig:
    """How a manifest is read and how each of its rows becomes a create request."""

    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    external_id_prefix: str = ""
    timezone: str = "UTC"
    participants: ParticipantsConfig = field(default_factory=ParticipantsConfig)
    fields: Mapping[str, FieldSpec] = field(default_factory=lambda: MappingProxyType({}))
    reading: ReadingConfig = field(default_factory=ReadingConfig)
    timestamp_formats: tuple[str, ...] = ()
    phone_region: str | None = None
    ambiguous: str | None = None
    zone_column: Source | None = None  # timezone: {column: ...}: each row's zone, else timezone

    def column_for(self, api_field: str) -> str:
        """Return the manifest column that feeds ``api_field`` (its own name when unmapped)."""
        return self.columns.get(api_field, api_field)

    @property
    def decides(self) -> bool:
        """Tell whether the mapping decides every source: it maps columns or participants.

        Then a column or key that merely shares an API field's name is data, never passed
        on unless mapped; only a mapping that maps nothing passes API-named keys through.
        """
        parts = self.participants
        return bool(self.fields) or any(
            (
                parts.owner is not None,
                parts.owner_person is not None,
                parts.list_column is not None,
                parts.items is not None,
            )
        )


EMPTY_MAPPING = MappingConfig()


def field_value(name: str, value: Any) -> tuple[Any, str | None]:
    """Return a config value (a map's or a default) as field ``name`` takes it, or a reason."""
    if FIELDS[name].kind == "boolean":
        try:
            return parse_bool(value), None
        except ValueError:
            return None, f"{shown(value)} is not a boolean; use true or false"
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, f"{shown(value)} is not text; quote it in the YAML"
    text = str(value).strip()
    if name == "type":
        text = text.upper()
        if text not in TYPES:
            return None, f"'{value}' is not one of {', '.join(TYPES)}"
    if not text:
        return None, "is empty"
    return text, None


def _value_map(src: str, where: str, name: str, raw: Any) -> Mapping[str, Any]:
    found: dict[str, Any] = {}
    for key, value in mapping_of(src, where, raw).items():
        if isinstance(key, bool) or key is None or isinstance(key, float):
            raise ConfigError(
                f"{src}: {where}: YAML read a key as {shown(key)}, not as the text written; "
                "quote it ('Yes': ..., '1.50': ...)"
            )
        converted, wrong = field_value(name, value)
        if wrong is not None:
            raise ConfigError(f"{src}: {where}.{key}: {wrong}")
        found[str(key).strip()] = converted
    if not found:
        raise ConfigError(f"{src}: {where} is empty; give it 'value in the export: value sent'")
    return MappingProxyType(found)


def _only_for(src: str, name: str, data: Mapping[str, Any]) -> None:
    """Refuse options that mean nothing for field ``name``."""
    rules = (
        (("format", "timezone", "ambiguous"), ("start_at",)),
        (("file",), ("transcript_text",)),
        (("truncate",), ("title", "transcript_text")),
        (("join", "item", "with"), _JOIN_FIELDS),
    )
    for keys, fields in rules:
        for key in keys:
            if key in data and name not in fields:
                raise ConfigError(
                    f"{src}: columns.{name}: '{key}' applies only to {' and '.join(fields)}"
                )
    for key in ("map", "default"):
        if key in data and name in OWN_VALUE_FIELDS:
            raise ConfigError(f"{src}: columns.{name}: '{key}' cannot be used for {name}")


def _join(src: str, where: str, name: str, raw: Mapping[str, Any]) -> Join:
    """Read ``{join: PATH, item: TEMPLATE, with: TEXT}`` of field ``name``."""
    path = source_of(src, f"{where}.join", raw["join"])
    if path.is_template:
        raise ConfigError(
            f"{src}: {where}.join names the array (a column or key path such as sentences), "
            "not a template; the template of each element goes in item"
        )
    item = source_of(src, f"{where}.item", raw["item"]) if "item" in raw else None
    separator = raw.get("with", "\n")
    if not isinstance(separator, str):
        raise ConfigError(f"{src}: {where}.with must be text, got {shown(separator)}; quote it")
    limit = TRANSCRIPT_MAX_CHARS if name == "transcript_text" else LENGTHS[name][1]
    return Join(path, item, separator, limit)


def _field(src: str, name: str, raw: Any) -> FieldSpec:
    where = f"columns.{name}"
    if not isinstance(raw, dict):
        return FieldSpec(source=source_of(src, where, raw))
    check_keys(src, where, raw, _FORM_KEYS)
    _only_for(src, name, raw)
    given = [key for key in _SOURCE_KEYS if key in raw]
    if len(given) != 1:
        want = "column (or template)"
        if name in _JOIN_FIELDS:
            want = "column (or template, join" + (", file)" if name == "transcript_text" else ")")
        reason = "needs" if not given else f"has {' and '.join(given)}: give only one, as"
        raise ConfigError(f"{src}: {where} {reason} {want}: where its value is read from")
    for key in ("item", "with"):
        if key in raw and "join" not in raw:
            raise ConfigError(f"{src}: {where}.{key} applies only with join: the array to join")
    spec: dict[str, Any] = {}
    for key in ("column", "template"):
        if key in raw:
            spec["source"] = source_of(src, f"{where}.{key}", raw[key])
    if "join" in raw:
        spec["join"] = _join(src, where, name, raw)
    if "file" in raw:
        spec["file"] = source_of(src, f"{where}.file", raw["file"])
    if "map" in raw:
        spec["value_map"] = _value_map(src, f"{where}.map", name, raw["map"])
    if "default" in raw:
        spec["default"], wrong = field_value(name, raw["default"])
        if wrong is not None:
            raise ConfigError(f"{src}: {where}.default: {wrong}")
    if "format" in raw:
        spec["formats"] = formats_of(src, f"{where}.format", raw["format"])
    if "timezone" in raw:
        spec["timezone"], spec["zone_column"] = zones_of(src, f"{where}.timezone", raw["timezone"])
    if "ambiguous" in raw:
        spec["ambiguous"] = ambiguous_of(src, f"{where}.ambiguous", raw["ambiguous"])
    if "truncate" in raw:
        if not isinstance(raw["truncate"], bool):
            raise ConfigError(f"{src}: {where}.truncate must be true or false")
        spec["truncate"] = raw["truncate"]
    return FieldSpec(**spec)


def _reading(src: str, raw: Any) -> ReadingConfig:
    data = mapping_of(src, "manifest", raw)
    check_keys(src, "manifest", data, _READING_KEYS)
    found: dict[str, Any] = {}
    if data.get("encoding") is not None:
        name = string_of(src, "manifest.encoding", data["encoding"]).strip().lower()
        if name != "auto":
            try:
                text_codec = codecs.lookup(name)._is_text_encoding
            except LookupError:
                text_codec = False
            if not text_codec:
                raise ConfigError(
                    f"{src}: manifest.encoding: unknown encoding '{data['encoding']}'; use a "
                    "Python codec such as utf-8, cp1252, latin-1 or utf-16, or auto"
                )
        found["encoding"] = name
    if data.get("delimiter") is not None:
        text = string_of(src, "manifest.delimiter", data["delimiter"])
        text = _DELIMITER_WORDS.get(text.lower(), text)
        if len(text) != 1 or text in '"\r\n':
            raise ConfigError(
                f"{src}: manifest.delimiter must be one character (such as ';' or '|') or "
                f"tab, got {shown(data['delimiter'])}"
            )
        found["delimiter"] = text
    if data.get("skip_lines") is not None:
        skip = data["skip_lines"]
        if isinstance(skip, bool) or not isinstance(skip, int) or skip < 0:
            got = shown(skip)
            raise ConfigError(f"{src}: manifest.skip_lines must be a whole number, got {got}")
        found["skip_lines"] = skip
    for key in ("sheet", "records"):
        if data.get(key) is not None:
            text = string_of(src, f"manifest.{key}", data[key]).strip()
            if not text or (key == "records" and "" in text.split(".")):
                what = "a sheet's name" if key == "sheet" else "a key path such as data.items"
                raise ConfigError(f"{src}: manifest.{key} must be {what}, got {shown(data[key])}")
            found[key] = text
    return ReadingConfig(**found)


def _defaults(src: str, raw: Any) -> dict[str, Any]:
    defaults = dict(mapping_of(src, "defaults", raw))
    check_keys(src, "defaults", defaults, REQUEST_FIELDS)
    for key, value in defaults.items():
        if key in OWN_VALUE_FIELDS:
            raise ConfigError(f"{src}: '{key}' cannot have a default; each row needs its own")
        if isinstance(value, datetime.datetime):
            defaults[key] = value.isoformat()  # YAML read an unquoted timestamp: keep its text
        elif isinstance(value, datetime.date):
            raise ConfigError(
                f"{src}: defaults.{key}: {value} is a date without a time; write a full "
                f"timestamp in quotes, e.g. '{value}T09:00:00Z'"
            )
        elif not isinstance(value, str | bool | int):
            raise ConfigError(
                f"{src}: defaults.{key} must be a plain value, got {shown(value)}; "
                "quote it in the YAML"
            )
    return defaults


def parse_mapping(src: str, data: Mapping[str, Any]) -> MappingConfig:
    """Build a MappingConfig from the parsed YAML ``data``; ``src`` names it in errors."""
    check_keys(src, "", data, TOP_KEYS)
    data = {k: v for k, v in data.items() if k not in _NOT_MAPPING}
    columns = mapping_of(src, "columns", data.get("columns"))
    check_keys(src, "columns", columns, REQUEST_FIELDS)
    fields = {name: _field(src, name, raw) for name, raw in columns.items()}
    prefix = data.get("external_id_prefix")
    prefix = "" if prefix is None else string_of(src, "external_id_prefix", prefix)
    tz: str | None = "UTC"
    zone_column = None
    if data.get("timezone") is not None:
        tz, zone_column = zones_of(src, "timezone", data["timezone"])
    formats: tuple[str, ...] = ()
    if data.get("timestamp_formats") is not None:
        formats = formats_of(src, "timestamp_formats", data["timestamp_formats"])
    region = None
    if data.get("phone_region") is not None:
        region = string_of(src, "phone_region", data["phone_region"]).upper()
        if not is_region(region):
            raise ConfigError(
                f"{src}: unknown phone_region '{data['phone_region']}'; use a two-letter "
                "country code such as US, GB or DE"
            )
    ambiguous = None
    if data.get("ambiguous") is not None:
        ambiguous = ambiguous_of(src, "ambiguous", data["ambiguous"])
    return MappingConfig(
        columns=MappingProxyType({name: spec.text for name, spec in fields.items()}),
        defaults=MappingProxyType(_defaults(src, data.get("defaults"))),
        external_id_prefix=prefix,
        timezone=tz or "UTC",
        participants=parse_participants(src, data.get("participants")),
        fields=MappingProxyType(fields),
        reading=_reading(src, data.get("manifest")),
        timestamp_formats=formats,
        phone_region=region,
        ambiguous=ambiguous,
        zone_column=zone_column,
    )
