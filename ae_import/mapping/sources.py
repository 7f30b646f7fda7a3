"""Where a mapped value comes from: a column, a key path into a JSON record, or a template.

Pure. A source is written in the mapping file as text:

- a column name (``Subject``), or in JSONL a key, or a dotted path into nested objects
  (``media.audioUrl``, ``parties[0].name``); a key holding a dot is looked up whole first;
- a template, any text holding ``{column}``: ``"{Subject} with {Who.Name}"``; ``{{`` and
  ``}}`` are literal braces. A template's value is absent when every column it names is
  empty; otherwise empty columns read as nothing and the result is trimmed.

JSON numbers are read as their decimal text (an id of 7782342274025937895 stays
exact), booleans as ``true``/``false``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "Source", "key_paths", "lookup", "parse_source", "suggest", "text_of"]

MISSING: Any = object()
_TEMPLATE_PART = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]|(\.)")
_SQUASH = re.compile(r"[\s_\-]+")
Step = str | int


@dataclass(frozen=True, slots=True)
class Source:
    """One source of a value, as the config writes it, compiled."""

    text: str  # as written: a column, a key path or a template
    names: tuple[str, ...]  # the columns (or keys) it reads
    steps: tuple[tuple[Step, ...], ...]  # each name as a path: ("media", "audioUrl")
    pieces: tuple[str, ...] | None = None  # a template's literal text around its names

    @property
    def is_template(self) -> bool:
        """Tell whether the source is a template (``{column}`` text)."""
        return self.pieces is not None

    def read(self, record: Mapping[str, Any]) -> Any:
        """Return the raw value for ``record`` (None when a column or key is absent)."""
        if self.pieces is None:
            value = lookup(record, self.names[0], self.steps[0])
            return None if value is MISSING else value
        return self.render(record)

    def render(self, record: Mapping[str, Any]) -> str | None:
        """Return a template's text for ``record``; None when every column it names is empty."""
        assert self.pieces is not None
        if not self.names:
            return self.pieces[0]  # literal text ({{ and }} are braces)
        out = [self.pieces[0]]
        filled = False
        for name, steps, literal in zip(self.names, self.steps, self.pieces[1:], strict=True):
            value = text_of(lookup(record, name, steps))
            if value:
                filled = True
                out.append(value)
            elif out[-1][-1:].isspace() and literal[:1].isspace():
                out.append(literal[1:])  # "{a} {b} {c}" with b empty: one space, not two
                continue
            out.append(literal)
        return "".join(out).strip() if filled else None


def _path(name: str) -> tuple[Step, ...]:
    """Split a key path: ``parties[0].name`` is ("parties", 0, "name"); a plain key is itself."""
    if "." not in name and "[" not in name:
        return (name,)
    steps: list[Step] = []
    position = 0
    for match in _PATH_STEP.finditer(name):
        if match.start() != position:
            return (name,)  # not a path after all: only ever looked up whole
        position = match.end()
        key, index, _dot = match.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(int(index))
    return tuple(steps) if position == len(name) and steps else (name,)


def parse_source(text: str) -> Source:
    """Compile a source as written in the config; raise ValueError for a broken template."""
    if "{" not in text and "}" not in text:
        return Source(text, (text,), (_path(text),))
    names: list[str] = []
    pieces: list[str] = []
    literal: list[str] = []
    position = 0
    for match in _TEMPLATE_PART.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        part = match.group(0)
        if part in ("{{", "}}"):
            literal.append(part[0])
            continue
        name = match.group(1)
        if name is None:
            raise ValueError(
                f"template '{text}' has a lone '{part}'; write {{{{ or }}}} for a literal brace"
            )
        name = name.strip()
        if not name:
            raise ValueError(f"template '{text}' has an empty {{}}; put a column name inside")
        pieces.append("".join(literal))
        literal = []
        names.append(name)
    literal.append(text[position:])
    pieces.append("".join(literal))
    if not names:  # only literal braces: the same text for every row, braces and all
        return Source(text, (), (), (pieces[0],))
    return Source(text, tuple(names), tuple(_path(n) for n in names), tuple(pieces))


def lookup(record: Mapping[str, Any], name: str, steps: tuple[Step, ...]) -> Any:
    """Return ``record``'s value for key ``name`` (whole first, then as a path), or MISSING."""
    value = record.get(name, MISSING)
    if value is not MISSING or len(steps) == 1:
        return value
    current: Any = record
    for step in steps:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return MISSING
        elif not isinstance(current, dict) or step not in current:
            return MISSING
        current = current[step]
    return current


def text_of(value: Any) -> str:
    """Return a value as text: strings trimmed, numbers in decimal, absent as ``""``."""
    if isinstance(value, str):
        return value.strip()
    if value is None or value is MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _squash(name: str) -> str:
    return _SQUASH.sub("", name).casefold()


def suggest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate ``name`` probably meant (case, spaces, ``_`` and ``-`` aside)."""
    known = [c for c in candidates if c]
    squashed = _squash(name)
    for candidate in known:
        if _squash(candidate) == squashed:
            return candidate
    by_squash = {_squash(c): c for c in known}
    close = difflib.get_close_matches(squashed, list(by_squash), n=1, cutoff=0.8)
    return by_squash[close[0]] if close else None


def key_paths(record: Mapping[str, Any], limit: int = 500) -> Iterator[str]:
    """Yield the keys of a JSON record and the dotted paths into it (first list items only)."""
    stack: list[tuple[str, Any]] = [("", record)]
    count = 0
    while stack and count < limit:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                path = f"{prefix}.{key}" if prefix else str(key)
                count += 1
                yield path
                stack.append((path, inner))
        elif isinstance(value, list) and value:
            stack.append((f"{prefix}[0]", value[0]))
