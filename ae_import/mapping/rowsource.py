"""From an open manifest to checked rows: read, map, validate, find repeated ids.

Pure apart from reading the manifest it is handed. Shared by ``validate`` and ``run``,
so both judge a row the same way. The reader makes each ``Row``; ``RowSource`` adds its
external_id (and whether it repeats); whoever needs a row mapped and validated calls
``RowSource.check`` on it (the engine then encodes it once: ``sending.decision``).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ae_import.media import expired
from ae_import.reading import Manifest
from ae_import.records import Problem, Row
from ae_import.redact import REDACTED_QUERY

from .headers import check_header
from .mapper import Mapped, Mapper
from .seen import SeenIds
from .validation import validate_body

__all__ = ["MediaRule", "RowSource", "check_rows", "shard_of"]

# Staging's offline rule for a media value (``staging.MediaSources.claim``): None when the
# value is left to the URL rules, else its (code, message) problems in their place.
MediaRule = Callable[[str, Path, Sequence[Path]], list[tuple[str, str]] | None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def shard_of(external_id: str, count: int) -> int:
    """Return the shard (1 to ``count``) of an external_id: a stable hash, mod ``count``, plus 1."""
    return zlib.crc32(external_id.encode("utf-8", "surrogatepass")) % count + 1


def _column(mapper: Mapper, mapped: Mapped, field: str) -> str | None:
    """Return the source (column, key path, template or file column) a problem came from."""
    top, _, sub = field.partition(".")
    if top.startswith("participants["):
        try:
            source = mapped.participant_columns[int(top[len("participants[") : -1]) - 1]
        except (ValueError, IndexError):
            return None
        return source.get(sub) or source.get("")
    return mapper.column_of(top.split("[", 1)[0]) or None  # "" for a field nothing maps


def _record_text(fields: dict[str, Any]) -> str:
    """Return a text that tells records apart: their keys and values, in order.

    Keys and values that are all text and hold no NUL are joined with NUL (a record of n
    keys splits back into its 2n parts); any other record is its repr (deterministic, and
    it holds no raw NUL, so the two forms never meet). The join takes 0.4 us a row of the
    API layout where the repr took 2.3 (2 cores): a tenth of a resume of 100k rows.
    """
    try:
        text = "\x00".join([*fields, *fields.values()])
    except TypeError:  # a value that is not text: a number, a list, a nested object
        return repr(fields)
    if text.count("\x00") != 2 * len(fields) - 1:
        return repr(fields)  # a key or value holds NUL itself
    return text


class RowSource:
    """Reads a manifest into Rows, flagging repeated external_ids as it goes."""

    def __init__(
        self,
        manifest: Manifest,
        mapper: Mapper,
        seen: SeenIds | None = None,
        shard: tuple[int, int] | None = None,
        *,
        fingerprints: bool = True,
        now: Callable[[], datetime] = _utc_now,
        media_rule: MediaRule | None = None,
    ) -> None:
        """Check the header against the mapping; nothing else is read yet.

        With ``shard`` (K, N), only rows whose external_id falls in shard K are
        yielded; rows without a readable external_id go to shard 1, so that each
        such problem is reported once. ``other_shards`` counts the rows passed over.
        With ``fingerprints``, each row comes with the fingerprint of its raw fields
        (a resumed run skips a done, unchanged row on it; ``validate`` needs none).
        ``media_rule`` judges media that is staged (local files, credentialed hosts).
        """
        manifest.use(mapper.config.reading)
        if manifest.name != "<stdin>":
            mapper.base = Path(manifest.name).parent
        if manifest.columns is not None:
            check_header(mapper, manifest.name, manifest.columns)
        self.manifest = manifest
        self.mapper = mapper
        self.seen = SeenIds() if seen is None else seen
        self.fingerprints = fingerprints
        # The salt names the installed version: read only when rows are fingerprinted.
        self._salted = hashlib.blake2b(mapper.salt if fingerprints else b"", digest_size=16)
        self._id_column = mapper.column_of("external_id")
        self.shard = shard
        self.other_shards = 0
        self.media_rule = media_rule
        self._now = now

    def fingerprint(self, row: Row) -> str:
        """Hash the raw record together with the mapping that turns it into a body."""
        digest = self._salted.copy()
        digest.update(_record_text(row.fields).encode("utf-8", "surrogatepass"))
        return digest.hexdigest()

    def __iter__(self) -> Iterator[Row]:
        """Yield every row in file order, its external_id and first line (if repeated) known."""
        quick = self.mapper.quick_external_id
        seen = self.seen
        index, count = self.shard or (1, 1)
        for row in self.manifest:
            external_id = quick(row.fields) if row.fields else None
            if count > 1 and (
                shard_of(external_id, count) != index if external_id is not None else index != 1
            ):
                self.other_shards += 1
                continue
            if external_id is not None:
                row.external_id = external_id
                row.first_line = seen.add(external_id, row.line, row.sheet_row)
            if self.fingerprints:
                row.source_fp = self.fingerprint(row)
            yield row

    def check(self, row: Row) -> Row:
        """Map and validate ``row``: fill in its problems, or its body when it is valid.

        A row the reader could not read keeps its one problem. A row whose external_id
        appeared on an earlier line is flagged as a repeat.
        """
        if row.problems:
            return row
        mapper = self.mapper
        mapped = mapper.map(row.fields)
        problems = mapped.problems
        found = validate_body(mapped.body)
        media = mapped.body.get("media_url")
        if not isinstance(media, str):
            media = None
        staged = None
        if self.media_rule is not None and media is not None:
            staged = self.media_rule(media, mapper.base, mapper.roots)
        if found:
            converted = {p.field for p in problems}
            if staged is not None:
                converted.add("media_url")  # staged: the URL rules do not apply
            for problem in found:
                if problem.field in converted:
                    continue
                message = problem.message
                if problem.code == "missing_field":
                    message = mapper.explain_missing(problem.field, row.fields)
                column = _column(mapper, mapped, problem.field)
                problems.append(Problem(problem.field, problem.code, message, column))
        if staged:
            column = _column(mapper, mapped, "media_url")
            problems.extend(Problem("media_url", code, why, column) for code, why in staged)
        if media is not None and "?" in media:
            if REDACTED_QUERY in media:
                problems.append(
                    Problem(
                        "media_url",
                        "url_redacted",
                        "its query string was redacted by ae-import export (signatures are "
                        "secret); put the signed URL back, or sign it again",
                        _column(mapper, mapped, "media_url"),
                    )
                )
            elif not problems:
                # Known offline: a presigned URL past its expiry is refused, never sent.
                wrong = expired(media, self._now)
                if wrong is not None:
                    column = _column(mapper, mapped, "media_url")
                    problems.append(Problem("media_url", "media_expired", wrong, column))
        ext = mapped.body.get("external_id")
        external_id = ext if isinstance(ext, str) else None
        if (
            row.first_line is not None
            and external_id is not None
            and external_id == row.external_id
        ):
            first_row = self.seen.first_row(external_id)
            where = f" (row {first_row})" if first_row is not None else ""
            problems.append(
                Problem(
                    "external_id",
                    "duplicate_external_id",
                    f"'{external_id}' already appears on line {row.first_line}{where}; "
                    "each row needs its own external_id",
                    self._id_column,
                )
            )
        row.external_id = external_id
        row.problems = tuple(problems)
        row.body = None if problems else mapped.body
        return row


def check_rows(
    manifest: Manifest,
    mapper: Mapper,
    seen: SeenIds | None = None,
    media_rule: MediaRule | None = None,
) -> Iterator[Row]:
    """Yield every row of ``manifest`` checked; later repeats of an external_id are flagged."""
    source = RowSource(manifest, mapper, seen, fingerprints=False, media_rule=media_rule)
    check = source.check
    for row in source:
        yield check(row)
