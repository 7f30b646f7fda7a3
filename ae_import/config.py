"""Settings and the YAML mapping file, as frozen dataclasses.

The file is read with ``yaml.safe_load`` only: tags such as ``!!python/object`` are
refused. Every key is checked; an unknown key is an error that names it and, where one
is close, the key that was probably meant.
"""

from __future__ import annotations

import datetime
import difflib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml

from .cloud import AzureConfig, CloudConfig, GcsConfig, S3Config
from .errors import ConfigError
from .options import section_keys
from .validation import PARTICIPANT_FIELDS, REQUEST_FIELDS

__all__ = [
    "EMPTY_MAPPING",
    "Config",
    "MappingConfig",
    "OwnerColumns",
    "ParticipantsConfig",
    "load_config",
]

_TOP_KEYS = (
    "api",
    "cloud",
    "columns",
    "defaults",
    "external_id_prefix",
    "participants",
    "run",
    "timezone",
)
SECTIONS: tuple[Literal["api", "run"], ...] = ("api", "run")
_PARTICIPANT_KEYS = ("list", "owner", "separator")
_OWNER_KEYS = tuple(f for f in PARTICIPANT_FIELDS if f != "is_owner")
_CLOUD_KEYS = {
    "s3": ("addressing_style", "endpoint_url", "profile", "region"),
    "gs": ("credentials_file", "endpoint_url", "service_account"),
    "az": ("account", "endpoint_url"),
}
_NOT_MAPPING = ("api", "run", "cloud")
# A default for these would give every row the same value, which the API forbids.
_NO_DEFAULT = ("external_id", "participants", "transcript_text")


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
class ParticipantsConfig:
    """How participants are read from flat (CSV) rows."""

    owner: OwnerColumns | None = None
    list_column: str | None = None
    separator: str = ";"


@dataclass(frozen=True)
class MappingConfig:
    """How a manifest row becomes a create request."""

    columns: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    external_id_prefix: str = ""
    timezone: str = "UTC"
    participants: ParticipantsConfig = field(default_factory=ParticipantsConfig)

    def column_for(self, api_field: str) -> str:
        """Return the manifest column that feeds ``api_field`` (its own name when unmapped)."""
        return self.columns.get(api_field, api_field)


EMPTY_MAPPING = MappingConfig()


@dataclass(frozen=True)
class Config:
    """Everything read from one config file."""

    path: Path | None = None
    mapping: MappingConfig = EMPTY_MAPPING
    api: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    run: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    cloud: CloudConfig = field(default_factory=CloudConfig)


def _suggest(key: str, known: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"{hint}; known keys: {', '.join(known)}"


def _check_keys(src: str, where: str, data: Mapping[str, Any], known: tuple[str, ...]) -> None:
    for key in data:
        if key not in known:
            place = f" under {where}" if where else ""
            raise ConfigError(f"{src}: unknown key '{key}'{place}{_suggest(str(key), known)}")


def _mapping(src: str, where: str, value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{src}: '{where}' must be a mapping of keys to values, got {value!r}")
    return value


def _string(src: str, where: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(
            f"{src}: '{where}' must be a non-empty string, got {value!r}; quote it in the YAML"
        )
    return value


def _parse_participants(src: str, raw: Any) -> ParticipantsConfig:
    data = _mapping(src, "participants", raw)
    _check_keys(src, "participants", data, _PARTICIPANT_KEYS)
    owner = None
    if data.get("owner") is not None:
        owner_raw = _mapping(src, "participants.owner", data["owner"])
        _check_keys(src, "participants.owner", owner_raw, _OWNER_KEYS)
        owner = OwnerColumns(
            **{k: _string(src, f"participants.owner.{k}", v) for k, v in owner_raw.items()}
        )
    list_column = None
    if data.get("list") is not None:
        list_column = _string(src, "participants.list", data["list"])
    separator = _string(src, "participants.separator", data.get("separator", ";"))
    return ParticipantsConfig(owner=owner, list_column=list_column, separator=separator)


def parse_mapping(src: str, data: Mapping[str, Any]) -> MappingConfig:
    """Build a MappingConfig from the parsed YAML ``data``; ``src`` names it in errors."""
    _check_keys(src, "", data, _TOP_KEYS)
    data = {k: v for k, v in data.items() if k not in _NOT_MAPPING}
    columns = _mapping(src, "columns", data.get("columns"))
    _check_keys(src, "columns", columns, REQUEST_FIELDS)
    checked_columns = {k: _string(src, f"columns.{k}", v) for k, v in columns.items()}
    defaults = _mapping(src, "defaults", data.get("defaults"))
    _check_keys(src, "defaults", defaults, REQUEST_FIELDS)
    defaults = dict(defaults)
    for key, value in defaults.items():
        if key in _NO_DEFAULT:
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
                f"{src}: defaults.{key} must be a plain value, got {value!r}; quote it in the YAML"
            )
    prefix = data.get("external_id_prefix")
    prefix = "" if prefix is None else _string(src, "external_id_prefix", prefix)
    tz = data.get("timezone")
    tz = "UTC" if tz is None else _string(src, "timezone", tz)
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{src}: unknown timezone '{tz}'; use an IANA name such as UTC or America/Denver"
        ) from None
    return MappingConfig(
        columns=MappingProxyType(checked_columns),
        defaults=MappingProxyType(dict(defaults)),
        external_id_prefix=prefix,
        timezone=tz,
        participants=_parse_participants(src, data.get("participants")),
    )


def _parse_cloud(src: str, raw: Any) -> CloudConfig:
    """Read the ``cloud:`` section: per scheme (s3, gs, az), the settings that sign references."""
    data = _mapping(src, "cloud", raw)
    _check_keys(src, "cloud", data, tuple(_CLOUD_KEYS))
    found: dict[str, dict[str, Any]] = {}
    for scheme, keys in _CLOUD_KEYS.items():
        section = _mapping(src, f"cloud.{scheme}", data.get(scheme))
        _check_keys(src, f"cloud.{scheme}", section, keys)
        found[scheme] = {
            k: _string(src, f"cloud.{scheme}.{k}", v) for k, v in section.items() if v is not None
        }
    style = found["s3"].get("addressing_style")
    if style not in (None, "auto", "path", "virtual"):
        raise ConfigError(f"{src}: cloud.s3.addressing_style must be auto, path or virtual")
    gs = dict(found["gs"])
    if "credentials_file" in gs:
        gs["credentials_file"] = Path(gs["credentials_file"]).expanduser()
    return CloudConfig(
        s3=S3Config(**found["s3"]), gs=GcsConfig(**gs), az=AzureConfig(**found["az"])
    )


def _yaml_error(src: str, exc: yaml.YAMLError) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{src}:{mark.line + 1}" if mark is not None else src
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.constructor.ConstructorError) and "tag" in problem:
        return ConfigError(
            f"{where}: YAML tags such as !!python are not allowed; write plain values only"
        )
    return ConfigError(f"{where}: not valid YAML: {problem}; check the indentation and quoting")


def load_config(path: Path | None) -> Config:
    """Read and check the YAML config at ``path``; ``None`` gives the empty config."""
    if path is None:
        return Config()
    src = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{src}: no such config file; check the --config path") from None
    except IsADirectoryError:
        raise ConfigError(f"{src}: is a directory; --config takes a YAML file") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{src}: not UTF-8 text; save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{src}: cannot read the config: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(src, exc) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{src}: the config must be a YAML mapping (key: value lines)")
    sections = {}
    for name in SECTIONS:
        section = _mapping(src, name, data.get(name))
        _check_keys(src, name, section, section_keys(name))
        sections[name] = MappingProxyType(dict(section))
    mapping_data = {k: v for k, v in data.items() if k not in ("api", "run")}
    return Config(
        path=path,
        mapping=parse_mapping(src, mapping_data),
        api=sections["api"],
        run=sections["run"],
        cloud=_parse_cloud(src, data.get("cloud")),
    )
