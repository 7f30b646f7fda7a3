"""The checks of the mapping file's values: keys, mappings, strings, sources, zones, patterns.

Pure. Each refuses a wrong value with a ``ConfigError`` naming the file, where the value
is, what it got and what to write instead; an unknown key is named with the key probably
meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from ae_import.errors import ConfigError
from ae_import.text import shown

from .sources import Source, parse_source
from .timestamps import check_format, check_zone

__all__ = [
    "ambiguous_of",
    "check_keys",
    "formats_of",
    "mapping_of",
    "source_of",
    "string_of",
    "zone_of",
    "zones_of",
]

_ZONE_KEYS = ("column", "default", "template")
_AMBIGUOUS = ("earlier", "later")


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


def source_of(src: str, where: str, value: Any) -> Source:
    """Return ``value`` compiled as a source (a column, key path or template)."""
    try:
        return parse_source(string_of(src, where, value))
    except ValueError as exc:
        raise ConfigError(f"{src}: {where}: {exc}") from None


def zone_of(src: str, where: str, value: Any) -> str:
    """Return ``value`` as a zone name the timestamps read; refuse an unknown one."""
    name = string_of(src, where, value)
    wrong = check_zone(name)
    if wrong is not None:
        raise ConfigError(f"{src}: {where}: {wrong}")
    return name


def zones_of(src: str, where: str, value: Any) -> tuple[str | None, Source | None]:
    """Read a zone: a name, or ``{column: COLUMN, default: NAME}`` (each row's own zone)."""
    if not isinstance(value, dict):
        return zone_of(src, where, value), None
    check_keys(src, where, value, _ZONE_KEYS)
    if ("column" in value) == ("template" in value):
        raise ConfigError(
            f"{src}: {where} needs column: the column of each row's zone (and default: a zone "
            "for rows without one)"
        )
    key = "column" if "column" in value else "template"
    column = source_of(src, f"{where}.{key}", value[key])
    default = None
    if value.get("default") is not None:
        default = zone_of(src, f"{where}.default", value["default"])
    return default, column


def ambiguous_of(src: str, where: str, value: Any) -> str:
    """Return ``value`` as earlier or later; refuse anything else."""
    if value not in _AMBIGUOUS:
        raise ConfigError(f"{src}: {where} must be earlier or later, got {shown(value)}")
    return str(value)


def formats_of(src: str, where: str, value: Any) -> tuple[str, ...]:
    """Return ``value`` as timestamp patterns (one, or a list); refuse a broken one."""
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
