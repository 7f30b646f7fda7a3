"""The ledger: one SQLite file, one row per external_id. The only module that touches sqlite3.

WAL mode, one writer (the run's event loop), autocommit: every call that changes a
row is its own committed transaction, so a row is ``pending`` on disk before its
request goes out and final on disk once its answer is in. A process killed at any
moment loses nothing: ``pending`` rows are sent again on the next run.

The schema moves forward through ``MIGRATIONS`` (``migrations.py``), an ordered list
of named functions; each applied name is recorded in ``migrations``. A ledger written
by a newer ae-import (a migration name this one does not know) is refused, and so is
an existing file that is not a ledger at all, before anything is written to it.

A ledger is bound to one target (a base URL, or ``sandbox``), once that target has
answered a request (``confirm_target``): a wrong base URL that never answered does not
claim it. It never stores the token or transcript text; media URLs are stored without
their query string.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ae_import.errors import UsageError
from ae_import.records import Prior, Row
from ae_import.redact import redact_url

from .migrations import MIGRATIONS, refuse_foreign
from .series import Series
from .translate import translated as _translated

__all__ = ["ALL_STATUSES", "DISMISSED", "MIGRATIONS", "STATUSES", "Ledger", "StagedCopy", "reading"]

# What a run leaves a row in; ``dismissed`` is set by ``ae-import dismiss`` only.
STATUSES = ("pending", "created", "existing", "failed", "invalid", "retryable")
DISMISSED = "dismissed"
ALL_STATUSES = (*STATUSES, DISMISSED)
_LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class StagedCopy:
    """A staged object: its size, the source file's mtime, checksum, reference and type."""

    size: int
    mtime_ns: int | None
    sha256: str
    ref: str
    content_type: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger(Series):
    """An open ledger bound to one target."""

    def __init__(
        self,
        path: Path,
        target: str | None,
        *,
        create: bool = True,
        shard: str | None = None,
    ) -> None:
        """Open (or create) the ledger at ``path`` for ``target``; migrate it; check the binding.

        ``target`` None opens an existing ledger for reading (``status``, ``export``),
        whatever it is bound to.
        """
        self.path = path
        if not create and not path.exists():
            raise FileNotFoundError(path)
        refuse_foreign(path)
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
            self._bind(target, shard or "")
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                f"{path}: not an ae-import ledger ({exc}); pass another --ledger"
            ) from None

    def _migrate(self) -> None:
        db = self._db
        db.execute(
            "CREATE TABLE IF NOT EXISTS migrations"
            " (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in db.execute("SELECT name FROM migrations")}
        known = {name for name, _ in MIGRATIONS}
        unknown = sorted(applied - known)
        if unknown:
            raise UsageError(
                f"{self.path}: written by a newer ae-import (migration {unknown[-1]}); "
                "upgrade ae-import"
            )
        for name, migrate in MIGRATIONS:
            if name in applied:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                migrate(db)
                db.execute("INSERT INTO migrations VALUES (?, ?)", (name, _now()))
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _bind(self, target: str | None, shard: str) -> None:
        bound = self._meta("target")
        self._confirmed = False
        self._reader = target is None
        if target is None:
            self.target = bound or ""
            self.shard = self._meta("shard") or ""
            return
        self.check_target(target)
        self.target = target
        self._confirmed = bound is not None
        held = self._meta("shard")
        if held is None:
            # A ledger that has never seen a shard option holds every row.
            fresh = bound is None
            self._db.execute("INSERT INTO meta VALUES ('shard', ?)", (shard if fresh else "",))
            held = shard if fresh else ""
        if held != shard:
            have = f"shard {held}" if held else "every row (no --shard)"
            want = f"shard {shard}" if shard else "every row (no --shard)"
            raise UsageError(
                f"{self.path}: this ledger holds {have}, not {want}; "
                "each shard needs its own ledger: pass another --ledger"
            )
        self.shard = shard

    def check_target(self, target: str) -> None:
        """Refuse a ledger bound to another target than ``target`` (a base URL, or sandbox)."""
        bound = self._meta("target")
        if bound is not None and bound != target:
            raise UsageError(
                f"{self.path}: this ledger belongs to {redact_url(bound)}, "
                f"not {redact_url(target)}; pass another --ledger for this target"
            )

    @_translated
    def confirm_target(self) -> None:
        """Bind a ledger not bound yet to its target (call once the target has answered)."""
        if self._confirmed:
            return
        if self._reader:
            raise ValueError("a ledger opened without a target cannot be bound")
        self._db.execute("INSERT OR IGNORE INTO meta VALUES ('target', ?)", (self.target,))
        self._confirmed = True

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Group many writes into one commit (bulk tools; a run commits row by row)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @_translated
    def lookup(self, external_ids: Sequence[str]) -> dict[str, Prior]:
        """Return what the ledger knows of each of ``external_ids`` (unknown ones are absent)."""
        found: dict[str, Prior] = {}
        for start in range(0, len(external_ids), _LOOKUP_CHUNK):
            chunk = external_ids[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                "SELECT external_id, status, fingerprint, source_fingerprint FROM rows"
                f" WHERE external_id IN ({marks})",
                chunk,
            )
            for external_id, status, fingerprint, source in rows:
                found[external_id] = Prior(status, fingerprint, source)
        return found

    _PENDING_SQL = """INSERT INTO rows (external_id, status, manifest, line, fingerprint,
                 media_url, source_fingerprint, attempts, created_at, updated_at)
               VALUES (:external_id, 'pending', :manifest, :line, :fingerprint, :media_url,
                       :source_fingerprint, 0, :now, :now)
               ON CONFLICT (external_id) DO UPDATE SET
                 status = 'pending', manifest = excluded.manifest, line = excluded.line,
                 fingerprint = excluded.fingerprint, media_url = excluded.media_url,
                 source_fingerprint = excluded.source_fingerprint,
                 attempts = 0, error_code = NULL, error_detail = NULL, errors = NULL,
                 dismissed_at = NULL, updated_at = excluded.updated_at"""

    @_translated
    def mark_pending(self, rows: Sequence[Row], manifest: str) -> None:
        """Commit rows of ``manifest`` as pending in one transaction, before their requests."""
        if not rows:
            return
        now = _now()
        params = [
            {
                "external_id": row.external_id,
                "manifest": manifest,
                "line": row.line,
                "fingerprint": row.fingerprint,
                "media_url": redact_url(row.media_url) if row.media_url else None,
                "source_fingerprint": row.source_fp,
                "now": now,
            }
            for row in rows
        ]
        if len(params) == 1:
            self._db.execute(self._PENDING_SQL, params[0])
            return
        with self.transaction():
            self._db.executemany(self._PENDING_SQL, params)

    @_translated
    def finish(
        self,
        external_id: str,
        status: str,
        *,
        attempts: int,
        http_status: int | None = None,
        engagement_id: str | None = None,
        error_code: str | None = None,
        error_detail: str | None = None,
        errors: str | None = None,
        request_id: str | None = None,
    ) -> None:
        """Commit the final state of ``external_id`` after its last attempt."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self._db.execute(
            """UPDATE rows SET status = ?, attempts = ?, http_status = ?, engagement_id = ?,
                 error_code = ?, error_detail = ?, errors = ?, request_id = ?, updated_at = ?
               WHERE external_id = ?""",
            (
                status,
                attempts,
                http_status,
                engagement_id,
                error_code,
                error_detail,
                errors,
                request_id,
                _now(),
                external_id,
            ),
        )

    @_translated
    def record_invalid(
        self, external_id: str, manifest: str, line: int, fingerprint: str, code: str, detail: str
    ) -> None:
        """Commit ``external_id`` as invalid (it failed local validation; it was not sent)."""
        now = _now()
        self._db.execute(
            """INSERT INTO rows (external_id, status, manifest, line, fingerprint, error_code,
                                 error_detail, created_at, updated_at)
               VALUES (?, 'invalid', ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (external_id) DO UPDATE SET
                 status = 'invalid', manifest = excluded.manifest, line = excluded.line,
                 fingerprint = excluded.fingerprint, error_code = excluded.error_code,
                 error_detail = excluded.error_detail, dismissed_at = NULL,
                 updated_at = excluded.updated_at
               WHERE rows.status != 'dismissed' OR rows.fingerprint IS NOT excluded.fingerprint""",
            (external_id, manifest, line, fingerprint, code, detail, now, now),
        )

    @_translated
    def set_source_fingerprints(self, rows: Sequence[Row]) -> None:
        """Record the source fingerprint of each of ``rows`` (done rows), in one commit."""
        if not rows:
            return
        with self.transaction():
            self._db.executemany(
                "UPDATE rows SET source_fingerprint = ? WHERE external_id = ?",
                [(row.source_fp, row.external_id) for row in rows],
            )

    @_translated
    def release_pending(self, external_ids: Iterable[str]) -> None:
        """Turn these rows from pending into retryable (their answers never came)."""
        self._db.executemany(
            "UPDATE rows SET status = 'retryable', updated_at = ? "
            "WHERE external_id = ? AND status = 'pending'",
            [(_now(), external_id) for external_id in external_ids],
        )

    @_translated
    def is_empty(self) -> bool:
        """Tell whether no row was ever recorded here: a first import, not a resume."""
        return self._db.execute("SELECT 1 FROM rows LIMIT 1").fetchone() is None

    @_translated
    def counts(self) -> dict[str, int]:
        """Return how many rows have each status (``dismissed`` last)."""
        found = dict(self._db.execute("SELECT status, count(*) FROM rows GROUP BY status"))
        return {status: int(found.get(status, 0)) for status in ALL_STATUSES}

    def _selected(
        self, statuses: Sequence[str], before: str | None, ids: Sequence[str] | None
    ) -> Iterator[tuple[str, list[Any]]]:
        """Yield (WHERE clause, parameters) that pick the rows to dismiss, in id chunks."""
        where = f"status IN ({','.join('?' * len(statuses))})"
        params: list[Any] = list(statuses)
        if before is not None:
            where += " AND updated_at < ?"
            params.append(before)
        if ids is None:
            yield where, params
            return
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = list(ids[start : start + _LOOKUP_CHUNK])
            marks = ",".join("?" * len(chunk))
            yield f"{where} AND external_id IN ({marks})", params + chunk

    def dismissable(
        self, statuses: Sequence[str], before: str | None, ids: Sequence[str] | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """Yield (external_id, status, updated_at, error_code) of the rows dismiss would retire."""
        for where, params in self._selected(statuses, before, ids):
            cursor = self._execute(
                "SELECT external_id, status, updated_at, error_code FROM rows"
                f" WHERE {where} ORDER BY manifest, line, external_id",
                params,
            )
            while batch := self._fetch(cursor):
                yield from batch

    @_translated
    def dismiss(
        self, statuses: Sequence[str], before: str | None, ids: Sequence[str] | None = None
    ) -> int:
        """Retire the rows with ``statuses`` (older than ``before``, among ``ids``); count them."""
        count = 0
        now = _now()
        with self.transaction():
            for where, params in self._selected(statuses, before, ids):
                cursor = self._db.execute(
                    f"UPDATE rows SET status = '{DISMISSED}', dismissed_at = ? WHERE {where}",
                    [now, *params],
                )
                count += cursor.rowcount
        return count

    @_translated
    def start_run(self, info: dict[str, Any]) -> int:
        """Record the start of a run; return its id."""
        cursor = self._db.execute(
            """INSERT INTO runs (started_at, pid, host, version, manifest, manifest_path,
                                 config_path, arguments)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                _now(),
                info["pid"],
                info["host"],
                info["version"],
                info["manifest"],
                info.get("manifest_path"),
                info.get("config_path"),
                json.dumps(info.get("arguments", [])),
            ),
        )
        return int(cursor.lastrowid or 0)

    @_translated
    def end_run(
        self, run_id: int, counts: dict[str, Any], exit_code: int, stopped: str | None
    ) -> None:
        """Record how a run ended."""
        self._db.execute(
            "UPDATE runs SET ended_at = ?, counts = ?, exit_code = ?, stopped = ? WHERE id = ?",
            (_now(), json.dumps(counts), exit_code, stopped, run_id),
        )

    @_translated
    def runs(self, last: int = 10) -> list[dict[str, Any]]:
        """Return the ``last`` runs, newest first, as dicts (arguments and counts decoded)."""
        cursor = self._db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (last,))
        names = [c[0] for c in cursor.description]
        found = []
        for row in cursor:
            run = dict(zip(names, row, strict=True))
            run["arguments"] = json.loads(run["arguments"] or "[]")
            run["counts"] = json.loads(run["counts"]) if run["counts"] else None
            found.append(run)
        return found

    @_translated
    def latest_run_of(self, manifest: str) -> dict[str, Any] | None:
        """Return the newest run that read ``manifest`` (as the rows name it), or None."""
        cursor = self._db.execute(
            "SELECT * FROM runs WHERE manifest = ? ORDER BY id DESC LIMIT 1", (manifest,)
        )
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([c[0] for c in cursor.description], row, strict=True))

    _ERROR_SQL = """SELECT external_id, status, http_status, error_code, error_detail,
                           request_id, manifest, line, updated_at
                    FROM rows WHERE error_code IS NOT NULL
                      AND status NOT IN ('created', 'existing', 'dismissed')
                    ORDER BY updated_at {order}, manifest {order}, line {order} LIMIT 1"""

    @_translated
    def first_and_last_error(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Return the rows holding the oldest and the newest error still standing."""
        found: list[dict[str, Any] | None] = []
        for order in ("ASC", "DESC"):
            cursor = self._db.execute(self._ERROR_SQL.format(order=order))
            row = cursor.fetchone()
            names = [c[0] for c in cursor.description]
            found.append(None if row is None else dict(zip(names, row, strict=True)))
        return found[0], found[1]

    @_translated
    def media_checked(self, key: str, since: str) -> bool:
        """Tell whether a good media check of ``key`` is recorded at ``since`` or later."""
        sql = "SELECT 1 FROM media_checks WHERE key = ? AND checked_at >= ?"
        return self._db.execute(sql, (key, since)).fetchone() is not None

    @_translated
    def record_media_check(
        self, key: str, media: str, content_type: str, size: int | None, at: str
    ) -> None:
        """Record a good media check of ``key`` (``media`` shown without its query) made ``at``."""
        self._db.execute(
            "INSERT OR REPLACE INTO media_checks VALUES (?, ?, ?, ?, ?)",
            (key, redact_url(media), content_type, size, at),
        )

    @_translated
    def forget_media_checks(self, before: str) -> None:
        """Delete the media checks made before ``before`` (they are stale)."""
        self._db.execute("DELETE FROM media_checks WHERE checked_at < ?", (before,))

    @_translated
    def staged_copy(self, source: str) -> StagedCopy | None:
        """Return what ``source`` was staged as (``staged`` table), or None."""
        found = self._db.execute(
            "SELECT size, mtime_ns, sha256, ref, content_type FROM staged WHERE source = ?",
            (source,),
        ).fetchone()
        return None if found is None else StagedCopy(*found)

    @_translated
    def record_staged(self, source: str, copy: StagedCopy) -> None:
        """Record that ``source`` is staged as ``copy`` (a reference, never a signed URL)."""
        self._db.execute(
            "INSERT OR REPLACE INTO staged VALUES (?, ?, ?, ?, ?, ?, ?)",
            (source, copy.size, copy.mtime_ns, copy.sha256, copy.ref, copy.content_type, _now()),
        )

    @_translated
    def mark_staged(self, external_id: str, ref: str, sha256: str) -> None:
        """Keep on a row the reference and checksum its media is sent as."""
        self._db.execute(
            "UPDATE rows SET staged_ref = ?, staged_sha256 = ? WHERE external_id = ?",
            (ref, sha256, external_id),
        )

    @_translated
    def forget_staged(self, ref: str) -> None:
        """Forget the sources staged as ``ref`` (deleted by --stage-cleanup)."""
        self._db.execute("DELETE FROM staged WHERE ref = ?", (ref,))

    EXPORT_COLUMNS = (
        "external_id",
        "status",
        "engagement_id",
        "http_status",
        "attempts",
        "error_code",
        "error_detail",
        "request_id",
        "manifest",
        "line",
        "dismissed_at",
    )

    def export_rows(self, statuses: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """Yield EXPORT_COLUMNS of every row with one of ``statuses``, by manifest and line."""
        marks = ",".join("?" * len(statuses))
        sql = (
            f"SELECT {', '.join(self.EXPORT_COLUMNS)} FROM rows WHERE status IN ({marks})"
            " ORDER BY manifest, line, external_id"
        )
        cursor = self._execute(sql, list(statuses))
        while batch := self._fetch(cursor):
            yield from batch

    @_translated
    def _execute(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        return self._db.execute(sql, params)

    @_translated
    def _fetch(self, cursor: sqlite3.Cursor) -> list[Any]:
        return cursor.fetchmany(1000)

    def close(self) -> None:
        """Checkpoint and close."""
        self._db.close()


@contextlib.contextmanager
def reading(path: Path) -> Iterator[Ledger]:
    """Open the existing ledger at ``path`` to read it, whatever its target; close it after."""
    if not path.exists():
        raise UsageError(f"{path}: no such ledger; pass --ledger PATH")
    ledger = Ledger(path, None, create=False)
    try:
        yield ledger
    finally:
        ledger.close()
