"""From an open manifest to checked rows: read, map, validate, find repeated ids.

Pure apart from reading the manifest it is handed. Shared by ``validate`` and ``run``,
so both judge a row the same way.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

from .manifest import Manifest, Record
from .mapping import Mapped, Mapper
from .problems import Problem
from .redact import REDACTED_QUERY
from .seen import SeenIds
from .validation import validate_body

__all__ = [
    "CheckedRow",
    "PendingRow",
    "RowSource",
    "check_record",
    "check_rows",
    "shard_of",
]


def shard_of(external_id: str, count: int) -> int:
    """Return the shard (1 to ``count``) of an external_id: a stable hash, mod ``count``, plus 1."""
    return zlib.crc32(external_id.encode("utf-8", "surrogatepass")) % count + 1


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
    media = mapped.body.get("media_url")
    if isinstance(media, str) and REDACTED_QUERY in media:
        problems.append(
            Problem(
                "media_url",
                "url_redacted",
                "its query string was redacted by ae-import export (signatures are secret); "
                "put the signed URL back, or sign it again",
                _column(record, mapper, mapped, "media_url"),
            )
        )
    ext = mapped.body.get("external_id")
    external_id = ext if isinstance(ext, str) else None
    body = None if problems else mapped.body
    return CheckedRow(record.line, external_id, body, tuple(problems), record.fields)


class PendingRow:
    """A record read, its external_id known, its full check deferred until asked for.

    A resumed run skips rows the ledger already holds without mapping or validating
    them: the external_id and a fingerprint of the raw record are enough to know.
    """

    __slots__ = ("_checked", "_fp", "_source", "external_id", "first_line", "record")

    def __init__(
        self,
        source: RowSource,
        record: Record,
        external_id: str | None,
        first_line: int | None,
    ) -> None:
        """Keep what was learnt while reading; nothing is mapped yet."""
        self._source = source
        self._checked: CheckedRow | None = None
        self.record = record
        self.external_id = external_id
        self.first_line = first_line
        self._fp: str | None = None

    @property
    def source_fp(self) -> str:
        """Return the fingerprint of the raw record and its mapping (made on first use)."""
        if self._fp is None:
            self._fp = self._source.fingerprint(self.record)
        return self._fp

    @property
    def line(self) -> int:
        """Return the record's first line."""
        return self.record.line

    def checked(self) -> CheckedRow:
        """Map and validate the row (once)."""
        if self._checked is None:
            self._checked = self._source.check(self)
        return self._checked


class RowSource:
    """Reads a manifest into PendingRows, flagging repeated external_ids as it goes."""

    def __init__(
        self,
        manifest: Manifest,
        mapper: Mapper,
        seen: SeenIds | None = None,
        shard: tuple[int, int] | None = None,
    ) -> None:
        """Check the header against the mapping; nothing else is read yet.

        With ``shard`` (K, N), only rows whose external_id falls in shard K are
        yielded; rows without a readable external_id go to shard 1, so that each
        such problem is reported once. ``other_shards`` counts the rows passed over.
        """
        if manifest.columns is not None:
            mapper.check_columns(manifest.name, manifest.columns)
        self.manifest = manifest
        self.mapper = mapper
        self.seen = SeenIds() if seen is None else seen
        self._salted = hashlib.blake2b(mapper.salt, digest_size=16)
        self._id_column = mapper.column_of("external_id")
        self.shard = shard
        self.other_shards = 0

    def fingerprint(self, record: Record) -> str:
        """Hash the raw record together with the mapping that turns it into a body."""
        digest = self._salted.copy()
        # repr of the parsed record: deterministic, and cheaper than JSON-encoding it
        digest.update(repr(record.fields).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def records(self) -> Iterator[tuple[Record, str | None, int | None]]:
        """Yield (record, its external_id, the line where that id first appeared if before)."""
        quick = self.mapper.quick_external_id
        seen = self.seen
        index, count = self.shard or (1, 1)
        for record in self.manifest:
            external_id = None if record.error is not None else quick(record.fields)
            if count > 1 and (
                shard_of(external_id, count) != index if external_id is not None else index != 1
            ):
                self.other_shards += 1
                continue
            first = seen.add(external_id, record.line) if external_id is not None else None
            yield record, external_id, first

    def __iter__(self) -> Iterator[PendingRow]:
        """Yield every record as a PendingRow, in file order."""
        for record, external_id, first in self.records():
            yield PendingRow(self, record, external_id, first)

    def check(self, pending: PendingRow) -> CheckedRow:
        """Map and validate one pending row, flagging it if its external_id repeats."""
        return self.check_one(pending.record, pending.external_id, pending.first_line)

    def check_one(self, record: Record, external_id: str | None, first: int | None) -> CheckedRow:
        """Map and validate one record; flag it if its external_id appeared on line ``first``."""
        row = check_record(record, self.mapper)
        if first is None or row.external_id != external_id:
            return row
        dup = Problem(
            "external_id",
            "duplicate_external_id",
            f"'{row.external_id}' already appears on line {first}; "
            "each row needs its own external_id",
            self._id_column if self._id_column in record.fields else None,
        )
        return CheckedRow(row.line, row.external_id, None, (*row.problems, dup), row.fields)


def check_rows(
    manifest: Manifest, mapper: Mapper, seen: SeenIds | None = None
) -> Iterator[CheckedRow]:
    """Yield every record of ``manifest`` checked; later repeats of an external_id are flagged."""
    source = RowSource(manifest, mapper, seen)
    check = source.check_one
    for record, external_id, first in source.records():
        yield check(record, external_id, first)
