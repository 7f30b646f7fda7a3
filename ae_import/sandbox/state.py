"""The sandbox's engagements: in memory, or in SQLite so idempotency survives a restart.

This is the emulated server's own storage, a separate program from the importer: the
rule that only ``ledger.py`` touches sqlite3 is about the importer's side.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Protocol

__all__ = ["MemoryStore", "SqliteStore", "Store", "open_store"]


class Store(Protocol):
    """Where the sandbox keeps engagements, keyed by external_id."""

    def get(self, external_id: str) -> dict[str, Any] | None:
        """Return the engagement created for ``external_id``, if any."""
        ...

    def put(self, external_id: str, engagement: dict[str, Any]) -> None:
        """Store a newly created engagement."""
        ...

    def count(self) -> int:
        """Return how many engagements exist."""
        ...

    def external_ids(self) -> list[str]:
        """Return every stored external_id, in creation order."""
        ...

    def close(self) -> None:
        """Release the storage."""
        ...


class MemoryStore:
    """Engagements in a dict; gone when the process ends."""

    def __init__(self) -> None:
        """Start empty."""
        self._items: dict[str, dict[str, Any]] = {}

    def get(self, external_id: str) -> dict[str, Any] | None:
        """Return the engagement created for ``external_id``, if any."""
        return self._items.get(external_id)

    def put(self, external_id: str, engagement: dict[str, Any]) -> None:
        """Store a newly created engagement."""
        self._items[external_id] = engagement

    def count(self) -> int:
        """Return how many engagements exist."""
        return len(self._items)

    def external_ids(self) -> list[str]:
        """Return every stored external_id, in creation order."""
        return list(self._items)

    def close(self) -> None:
        """Nothing to release."""


class SqliteStore:
    """Engagements in a SQLite file (WAL), so a restarted sandbox still knows them."""

    def __init__(self, path: Path) -> None:
        """Open (or create) the state file."""
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS engagements ("
            " external_id TEXT PRIMARY KEY, engagement TEXT NOT NULL)"
        )

    def get(self, external_id: str) -> dict[str, Any] | None:
        """Return the engagement created for ``external_id``, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT engagement FROM engagements WHERE external_id = ?", (external_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def put(self, external_id: str, engagement: dict[str, Any]) -> None:
        """Store a newly created engagement."""
        with self._lock:
            self._db.execute(
                "INSERT INTO engagements (external_id, engagement) VALUES (?, ?)",
                (external_id, json.dumps(engagement)),
            )

    def count(self) -> int:
        """Return how many engagements exist."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM engagements").fetchone()[0])

    def external_ids(self) -> list[str]:
        """Return every stored external_id, in creation order."""
        with self._lock:
            rows = self._db.execute("SELECT external_id FROM engagements ORDER BY rowid")
            return [str(r[0]) for r in rows]

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


def open_store(path: Path | None) -> Store:
    """Return a SQLite store at ``path``, or a memory store when it is None."""
    return MemoryStore() if path is None else SqliteStore(path)
