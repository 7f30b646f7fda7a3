"""The ``participants:`` part of the mapping file: the owner, a list cell, JSONL items.

Pure. ``owner`` is a cell holding one person (``owner: Host``) or the owner's columns
(``{name:, email:, phone:}``); ``list`` a cell of entries split on ``separator``, or an
array (``{join: attendees, item: "{name} <{email}>"}``), one entry per element; ``items``
a list of objects and the key path of each participant field inside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ae_import.errors import ConfigError

from .checks import check_keys, mapping_of, source_of, string_of
from .validation import PARTICIPANT_FIELDS

__all__ = ["ItemsConfig", "OwnerColumns", "ParticipantsConfig", "parse_participants"]

_PARTICIPANT_KEYS = ("items", "list", "owner", "separator")
_LIST_KEYS = ("column", "item", "join", "separator", "template")
_OWNER_KEYS = tuple(f for f in PARTICIPANT_FIELDS if f != "is_owner")
_ITEMS_KEYS = ("path", *_OWNER_KEYS)


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
    owner_person: str | None = None  # owner: COLUMN, a cell holding one person
    list_item: str | None = None  # list: {join: PATH, item: TEMPLATE}, each element an entry


def parse_participants(src: str, raw: Any) -> ParticipantsConfig:
    """Read the ``participants:`` mapping; ``src`` names the file in errors."""
    data = mapping_of(src, "participants", raw)
    check_keys(src, "participants", data, _PARTICIPANT_KEYS)
    owner = owner_person = None
    if isinstance(data.get("owner"), str):  # owner: Host, a cell holding a person
        owner_person = source_of(src, "participants.owner", data["owner"]).text
    elif data.get("owner") is not None:
        owner_raw = mapping_of(src, "participants.owner", data["owner"])
        check_keys(src, "participants.owner", owner_raw, _OWNER_KEYS)
        owner = OwnerColumns(
            **{k: source_of(src, f"participants.owner.{k}", v).text for k, v in owner_raw.items()}
        )
    separator = string_of(src, "participants.separator", data.get("separator", ";"))
    list_column = list_item = None
    listed = data.get("list")
    if isinstance(listed, dict):
        check_keys(src, "participants.list", listed, _LIST_KEYS)
        listed = dict(listed)
        if "separator" in listed:
            separator = string_of(src, "participants.list.separator", listed["separator"])
        if "item" in listed:
            if "join" not in listed:
                raise ConfigError(
                    f"{src}: participants.list.item applies only with join: the array of people"
                )
            list_item = source_of(src, "participants.list.item", listed["item"]).text
        given = [listed[k] for k in ("column", "template", "join") if k in listed]
        if len(given) != 1:
            raise ConfigError(
                f"{src}: participants.list needs column (or template, or join): the cell "
                "(or array) of entries, one of them"
            )
        listed = given[0]
    if listed is not None:
        list_column = source_of(src, "participants.list", listed).text
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
        owner=owner,
        list_column=list_column,
        separator=separator,
        items=items,
        owner_person=owner_person,
        list_item=list_item,
    )
