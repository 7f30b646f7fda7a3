"""``join``: an array in a record made one text (``{join: sentences, item: "{speaker}: {text}"}``).

Pure. ``join`` is a key path holding an array (a JSON array in JSONL, JSON or a CSV cell);
``item`` a template over each element's keys (omitted for an array of strings); ``with``
the separator, a newline unless given. An element that renders empty is left out; a value
that is already text (not a JSON array) is taken as it is. Bounded: at most
``MAX_ITEMS`` elements are read, and joining stops once the text passes the field's
length limit (validation then says it is too long, or ``truncate: true`` cuts it).
``participants.list`` reads the same arrays (``items_of``), one entry per element.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .sources import MISSING, Source, lookup, text_of

__all__ = ["MAX_ITEMS", "Join", "as_array", "items_of"]

MAX_ITEMS = 100_000  # elements of one array; a 16 MB record holds at most a few million


def as_array(value: Any) -> Any:
    """Return a JSON array written as text (a CSV or Excel cell) as a list; else ``value``."""
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _element(index: int, element: Any, item: Source | None) -> tuple[str | None, str | None]:
    """Return one element's text (None to leave it out), or what is wrong with it."""
    if isinstance(element, dict):
        if item is None:
            return None, (
                f"item {index} is an object: give the join an item template over its keys, "
                'such as item: "{speaker}: {text}"'
            )
        return item.render(element), None
    if isinstance(element, list):
        return None, f"item {index} is an array, not an object or text"
    text = text_of(element)
    return (text or None), None


def items_of(
    value: Any, item: Source | None, what: str, limit: int | None = None
) -> tuple[list[str] | None, str | None]:
    """Return the texts of the elements of array ``value`` (None when absent), or a reason.

    With ``limit``, reading stops once the texts hold more than ``limit`` characters.
    """
    value = as_array(value)
    if value is None or value is MISSING:
        return None, None
    if not isinstance(value, list):
        if isinstance(value, dict):
            return None, f"is an object, not an array to {what}"
        text = text_of(value)
        return ([text] if text else None), None
    if len(value) > MAX_ITEMS:
        return None, f"holds {len(value):,} items; at most {MAX_ITEMS:,} are read"
    texts: list[str] = []
    size = 0
    for index, element in enumerate(value):
        rendered, wrong = _element(index, element, item)
        if wrong is not None:
            return None, wrong
        if rendered:
            texts.append(rendered)
            size += len(rendered) + 1
            if limit is not None and size > limit:
                break  # already too long: the field's check (or truncate) says the rest
    return texts, None


@dataclass(frozen=True, slots=True)
class Join:
    """An array at ``path`` joined into one text: each element through ``item``, then ``with``."""

    path: Source
    item: Source | None = None
    separator: str = "\n"
    limit: int = 1_000_000  # characters: joining stops past the field's own limit

    @property
    def text(self) -> str:
        """Return the join as problems name it: its array, and the item template."""
        item = f" item {self.item.text}" if self.item is not None else ""
        return f"join {self.path.text}{item}"

    def read(self, record: Mapping[str, Any]) -> tuple[str | None, str | None]:
        """Return the joined text of ``record`` (None when absent or empty), or a reason."""
        value = as_array(lookup(record, self.path.names[0], self.path.steps[0]))
        if isinstance(value, str):
            return (value if value.strip() else None), None  # already text: taken as it is
        texts, wrong = items_of(value, self.item, "join", self.limit)
        if wrong is not None or not texts:
            return None, wrong
        return self.separator.join(texts), None
