"""The mapping part of the config file: how a manifest is read and its rows become requests.

Pure: ``parse_mapping`` checks the parsed YAML and returns frozen dataclasses; every
unknown key is an error naming it and, where one is close, the key probably meant. The
forms (``docs/mapping.md``):

- ``manifest:`` how to read the file: ``encoding`` (a codec or ``auto``), ``delimiter``,
  ``skip_lines``;
- ``timezone``, ``timestamp_formats``, ``ambiguous``, ``phone_region``: how timestamps and
  phones are read;
- ``columns:`` per API field a source (a column, a JSONL key path, a ``{column}``
  template), or a mapping of the source with its options (``map``, ``default``,
  ``format``, ``timezone``, ``ambiguous``, ``truncate``, or ``file`` for
  ``transcript_text``);
- ``defaults:`` per API field a value for rows that have none;
- ``participants:`` ``owner`` columns, a ``list`` cell, JSONL ``items``.
"""

from __future__ import annotations

import codecs
import datetime
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ae_import.errors import ConfigError
from ae_import.options import parse_bool
from ae_import.reading import ReadingConfig
from ae_import.text import shown

from .phones import is_region
from .sources import Source, parse_source
from .timestamps import check_format, check_zone
from .validation import FIELDS, OWN_VALUE_FIELDS, PARTICIPANT_FIELDS, REQUEST_FIELDS, TYPES

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
_PARTICIPANT_KEYS = ("items", "list", "owner", "separator")
_LIST_KEYS = ("column", "separator")
_OWNER_KEYS = tuple(f for f in PARTICIPANT_FIELDS if f != "is_owner")
_ITEMS_KEYS = ("path", *_OWNER_KEYS)
_AMBIGUOUS = ("earlier", "later")
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

    @property
    def text(self) -> str:
        """Return the source as the config writes it."""
        found = self.source or self.file
        assert found is not None
        return found.text


@dataclass(frozen=True)
class OwnerColumns:
    """The manifest columns that describe the owner (host) of an engagement."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """Return (participant field, column) for every column that is set."""
        return [(f, c) for f in _OWNER_KEYS if (c := getattr(self, f)) is not None]


@dataclass(frozen=True)
class ItemsConfig:
    """JSONL participants: a list of objects at ``path``, and the key of each field in them."""

    path: str
    keys: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class ParticipantsConfig:
    """How participants are read from rows: owner columns, a list cell, JSONL items."""

    owner: OwnerColumns | None = None
    list_column: str | None = None  # a column or a template
    separator: str = ";"
    items: ItemsConfig | None = None


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

    def column_for(self, api_field: str) -> str:
        """Return the manifest column that feeds ``api_field`` (its own name when unmapped)."""
        return self.columns.get(api_field, api_field)


EMPTY_MAPPING = MappingConfig()


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{hint}; known keys: {', '.join(known)}"


def check_keys(src: str, where: str, data: Mapping[str, Any], known: tuple[str, ...]) -> None:
    """Refuse a key of ``data`` not in ``known``, naming the one probably meant."""
    for key in data:
        if key not in known:
            place = f" under {where}" if where else ""
            raise ConfigError(f"{src}: unknown key '{key}'{place}{_suggest(str(key), known)}")


def mapping_of(src: str, where: str, value: Any) -> Mapping[str, Any]:
    """Return ``value`` as a mapping (None is empty); refuse anything else."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        got = shown(value)
        raise ConfigError(f"{src}: '{where}' must be a mapping of keys to values, got {got}")
    return value


def string_of(src: str, where: str, value: Any) -> str:
    """Return ``value`` as a non-empty string; refuse anything else."""
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{src}: '{where}' must be a non-empty string, got {shown(value)}; quote it in the YAML"
        )
    return value


def _source(src: str, where: str, value: Any) -> Source:
    try:
        return parse_source(string_of(src, where, value))
    except ValueError as exc:
        raise ConfigError(f"{src}: {where}: {exc}") from None


def _zone(src: str, where: str, value: Any) -> str:
    name = string_of(src, where, value)
    wrong = check_zone(name)
    if wrong is not None:
        raise ConfigError(f"{src}: {where}: {wrong}")
    return name


def _ambiguous(src: str, where: str, value: Any) -> str:
    if value not in _AMBIGUOUS:
        raise ConfigError(f"{src}: {where} must be earlier or later, got {shown(value)}")
    return str(value)


def _formats(src: str, where: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
        raise ConfigError(
            f"{src}: {where} must be a list of strftime patterns (or epoch, epoch_ms), "
            f"got {shown(value)}; quote each pattern"
        )
    for item in items:
        wrong = check_format(item)
        if wrong is not None:
            raise ConfigError(f"{src}: {where}: {wrong}")
    return tuple(items)


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


def _field(src: str, name: str, raw: Any) -> FieldSpec:
    where = f"columns.{name}"
    if not isinstance(raw, dict):
        return FieldSpec(source=_source(src, where, raw))
    check_keys(src, where, raw, _FIELD_KEYS)
    _only_for(src, name, raw)
    if ("column" in raw) == ("file" in raw):
        want = "column (or file)" if name == "transcript_text" else "column"
        raise ConfigError(f"{src}: {where} needs {want}: the column it is read from")
    spec: dict[str, Any] = {}
    if "column" in raw:
        spec["source"] = _source(src, f"{where}.column", raw["column"])
    if "file" in raw:
        spec["file"] = _source(src, f"{where}.file", raw["file"])
    if "map" in raw:
        spec["value_map"] = _value_map(src, f"{where}.map", name, raw["map"])
    if "default" in raw:
        spec["default"], wrong = field_value(name, raw["default"])
        if wrong is not None:
            raise ConfigError(f"{src}: {where}.default: {wrong}")
    if "format" in raw:
        spec["formats"] = _formats(src, f"{where}.format", raw["format"])
    if "timezone" in raw:
        spec["timezone"] = _zone(src, f"{where}.timezone", raw["timezone"])
    if "ambiguous" in raw:
        spec["ambiguous"] = _ambiguous(src, f"{where}.ambiguous", raw["ambiguous"])
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


def _participants(src: str, raw: Any) -> ParticipantsConfig:
    data = mapping_of(src, "participants", raw)
    check_keys(src, "participants", data, _PARTICIPANT_KEYS)
    owner = None
    if data.get("owner") is not None:
        owner_raw = mapping_of(src, "participants.owner", data["owner"])
        check_keys(src, "participants.owner", owner_raw, _OWNER_KEYS)
        owner = OwnerColumns(
            **{k: _source(src, f"participants.owner.{k}", v).text for k, v in owner_raw.items()}
        )
    separator = string_of(src, "participants.separator", data.get("separator", ";"))
    list_column = None
    listed = data.get("list")
    if isinstance(listed, dict):
        check_keys(src, "participants.list", listed, _LIST_KEYS)
        listed = dict(listed)
        if "separator" in listed:
            separator = string_of(src, "participants.list.separator", listed["separator"])
        listed = listed.get("column")
        if listed is None:
            raise ConfigError(f"{src}: participants.list needs column: the cell of entries")
    if listed is not None:
        list_column = _source(src, "participants.list", listed).text
    items = None
    if data.get("items") is not None:
        items_raw = mapping_of(src, "participants.items", data["items"])
        check_keys(src, "participants.items", items_raw, _ITEMS_KEYS)
        if "path" not in items_raw:
            raise ConfigError(f"{src}: participants.items needs path: the list of objects")
        keys = {
            k: string_of(src, f"participants.items.{k}", v)
            for k, v in items_raw.items()
            if k != "path"
        }
        path = string_of(src, "participants.items.path", items_raw["path"])
        items = ItemsConfig(path=path, keys=MappingProxyType(keys))
    return ParticipantsConfig(
        owner=owner, list_column=list_column, separator=separator, items=items
    )


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
    tz = "UTC" if data.get("timezone") is None else _zone(src, "timezone", data["timezone"])
    formats: tuple[str, ...] = ()
    if data.get("timestamp_formats") is not None:
        formats = _formats(src, "timestamp_formats", data["timestamp_formats"])
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
        ambiguous = _ambiguous(src, "ambiguous", data["ambiguous"])
    return MappingConfig(
        columns=MappingProxyType({name: spec.text for name, spec in fields.items()}),
        defaults=MappingProxyType(_defaults(src, data.get("defaults"))),
        external_id_prefix=prefix,
        timezone=tz,
        participants=_participants(src, data.get("participants")),
        fields=MappingProxyType(fields),
        reading=_reading(src, data.get("manifest")),
        timestamp_formats=formats,
        phone_region=region,
        ambiguous=ambiguous,
    )
