"""From an open manifest to checked rows: read, map, validate, find repeated ids.

Pure apart from reading the manifest it is handed. Shared by ``validate`` and ``run``,
so both judge a row the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from .manifest import Manifest, Record
from .mapping import Mapped, Mapper
from .validation import Problem, SeenIds, validate_body

__all__ = ["CheckedRow", "check_rows"]


class CheckedRow(NamedTuple):
    """One manifest record after checking: its body when valid, else its problems."""

    line: int
    external_id: str | None
    body: dict[str, Any] | None
    problems: tuple[Problem, ...]
    fields: dict[str, Any]

    @property
    def valid(self) -> bool:
        """Tell whether the row can be sent."""
        return not self.problems


def _column(record: Record, mapper: Mapper, mapped: Mapped, field: str) -> str | None:
    top, _, sub = field.partition(".")
    if top.startswith("participants["):
        try:
            source = mapped.participant_columns[int(top[len("participants[") : -1]) - 1]
        except (ValueError, IndexError):
            return None
        return source.get(sub) or source.get("")
    column = mapper.column_of(top.split("[", 1)[0])
    return column if column in record.fields else None


def check_record(record: Record, mapper: Mapper) -> CheckedRow:
    """Map and validate one record, attributing each problem to its source column."""
    if record.error is not None:
        return CheckedRow(record.line, None, None, (record.error,), record.fields)
    mapped = mapper.map(record.fields)
    problems = mapped.problems
    found = validate_body(mapped.body)
    if found:
        converted = {p.field for p in problems}
        for problem in found:
            if problem.field in converted:
                continue
            column = _column(record, mapper, mapped, problem.field)
            problems.append(Problem(problem.field, problem.code, problem.message, column))
    ext = mapped.body.get("external_id")
    external_id = ext if isinstance(ext, str) else None
    body = None if problems else mapped.body
    return CheckedRow(record.line, external_id, body, tuple(problems), record.fields)


def check_rows(
    manifest: Manifest, mapper: Mapper, seen: SeenIds | None = None
) -> Iterator[CheckedRow]:
    """Yield every record of ``manifest`` checked; later repeats of an external_id are flagged."""
    if manifest.columns is not None:
        mapper.check_columns(manifest.name, manifest.columns)
    seen = SeenIds() if seen is None else seen
    id_column = mapper.column_of("external_id")
    for record in manifest:
        row = check_record(record, mapper)
        if row.external_id is not None:
            first = seen.add(row.external_id, row.line)
            if first is not None:
                dup = Problem(
                    "external_id",
                    "duplicate_external_id",
                    f"'{row.external_id}' already appears on line {first}; "
                    "each row needs its own external_id",
                    id_column if id_column in record.fields else None,
                )
                row = CheckedRow(row.line, row.external_id, None, (*row.problems, dup), row.fields)
        yield row
