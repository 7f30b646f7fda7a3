"""What the morning report reads and the run meter writes: per-minute series, problems by code.

``Series`` is a part of ``Ledger`` (its base class): the ``run_minutes`` table (migration
``0008_run_minutes``) holds one row a minute for each run, bounded to the series of the
last ``RUN_MINUTES_KEPT`` runs, and the queries ``status --html`` draws from.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .translate import translated

__all__ = ["MINUTE_COUNTS", "RUN_MINUTES_KEPT", "Minute", "Series"]

UNKEYED_KEPT = 10_000  # invalid rows without an id remembered per manifest (--fail-on new)
RUN_MINUTES_KEPT = 100  # runs whose series are kept: a nightly run's 100 nights
MINUTE_COUNTS = (
    "sent",
    "created",
    "existing",
    "failed",
    "invalid",
    "retries",
    "rate_limited",
)


@dataclass
class Minute:
    """One minute of one run: what was sent, how rows ended, the 429s and the pace."""

    minute: int  # minutes since the run started
    started_at: str  # when that minute began (UTC, ISO 8601)
    sent: int = 0  # requests sent (attempts, first or not)
    created: int = 0
    existing: int = 0
    failed: int = 0
    invalid: int = 0
    retries: int = 0  # answers that will be tried again
    rate_limited: int = 0  # 429 answers
    paused_s: float = 0.0  # seconds of this minute every worker was paused by a 429
    max_retry_after: float | None = None  # the longest Retry-After of the minute
    pace: float | None = None  # the pacer's rate at the minute's end (requests/s), if paced

    def as_json(self) -> dict[str, Any]:
        """Return the minute as a dict of its fields."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_UPSERT = f"""INSERT INTO run_minutes (run_id, minute, started_at, {", ".join(MINUTE_COUNTS)},
                                     paused_s, max_retry_after, pace)
    VALUES (:run_id, :minute, :started_at, {", ".join(":" + n for n in MINUTE_COUNTS)},
            :paused_s, :max_retry_after, :pace)
    ON CONFLICT (run_id, minute) DO UPDATE SET
      {", ".join(f"{n} = {n} + excluded.{n}" for n in MINUTE_COUNTS)},
      paused_s = paused_s + excluded.paused_s,
      max_retry_after = max(coalesce(max_retry_after, 0), coalesce(excluded.max_retry_after, 0)),
      pace = coalesce(excluded.pace, pace)"""

_PROBLEMS = """SELECT status, error_code, count(*) FROM rows
    WHERE status IN ({marks}) GROUP BY status, error_code
    ORDER BY count(*) DESC, status, error_code"""
_EXAMPLES = """SELECT status, error_code, external_id, manifest, line, error_detail FROM (
      SELECT *, row_number() OVER (PARTITION BY status, error_code
                                   ORDER BY manifest, line, external_id) AS n
      FROM rows WHERE status IN ({marks}))
    WHERE n <= ? ORDER BY status, error_code, n"""


class Series:
    """The ledger's per-minute series of runs and the morning report's queries."""

    path: Path
    _db: sqlite3.Connection

    @translated
    def add_minutes(self, run_id: int, minutes: Sequence[Minute]) -> None:
        """Add ``minutes`` to the series of ``run_id`` (counts add up; pace is the latest)."""
        if not minutes:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(_UPSERT, [{"run_id": run_id, **m.as_json()} for m in minutes])
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    @translated
    def prune_minutes(self, keep: int = RUN_MINUTES_KEPT) -> int:
        """Delete the series of every run but the last ``keep``; return the rows deleted."""
        cursor = self._db.execute(
            "DELETE FROM run_minutes WHERE run_id NOT IN"
            " (SELECT id FROM runs ORDER BY id DESC LIMIT ?)",
            (keep,),
        )
        return cursor.rowcount

    @translated
    def run_minutes(self, run_id: int) -> list[Minute]:
        """Return the series of ``run_id``, minute by minute (minutes with nothing are absent)."""
        cursor = self._db.execute(
            "SELECT minute, started_at, sent, created, existing, failed, invalid, retries,"
            " rate_limited, paused_s, max_retry_after, pace FROM run_minutes"
            " WHERE run_id = ? ORDER BY minute",
            (run_id,),
        )
        return [Minute(*row) for row in cursor]

    @translated
    def problems(self, statuses: Sequence[str], examples: int = 3) -> list[dict[str, Any]]:
        """Return the rows with ``statuses`` by status and error code: counts, first examples."""
        marks = ",".join("?" * len(statuses))
        found: dict[tuple[str, str | None], dict[str, Any]] = {}
        for status, code, count in self._db.execute(_PROBLEMS.format(marks=marks), statuses):
            found[(status, code)] = {
                "status": status,
                "code": code,
                "count": int(count),
                "examples": [],
            }
        cursor = self._db.execute(_EXAMPLES.format(marks=marks), [*statuses, examples])
        for status, code, external_id, manifest, line, detail in cursor:
            found[(status, code)]["examples"].append(
                {"external_id": external_id, "manifest": manifest, "line": line, "detail": detail}
            )
        return list(found.values())

    @translated
    def unkeyed_invalid(self, manifest: str) -> set[str]:
        """Return the fingerprints of the rows without an external_id that ``manifest`` held."""
        row = self._db.execute(
            "SELECT value FROM meta WHERE key = ?", (f"unkeyed_invalid:{manifest}",)
        ).fetchone()
        return set(json.loads(row[0])) if row else set()

    @translated
    def set_unkeyed_invalid(self, manifest: str, fingerprints: set[str]) -> None:
        """Keep the fingerprints of ``manifest``'s invalid rows without an id (at most 10,000)."""
        kept = sorted(fingerprints)[:UNKEYED_KEPT]
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            (f"unkeyed_invalid:{manifest}", json.dumps(kept)),
        )

    @translated
    def media_summary(self) -> Mapping[str, Any]:
        """Return the good media checks recorded (how many, the newest) and media-refused rows."""
        checked, newest = self._db.execute(
            "SELECT count(*), max(checked_at) FROM media_checks"
        ).fetchone()
        refused = dict(
            self._db.execute(
                "SELECT error_code, count(*) FROM rows WHERE status = 'invalid'"
                " AND error_code LIKE 'media\\_%' ESCAPE '\\' GROUP BY error_code"
            )
        )
        return {"checked": int(checked), "newest": newest, "refused": refused}
