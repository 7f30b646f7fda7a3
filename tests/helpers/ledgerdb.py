"""Reading a ledger file in tests the way an operator would: plain sqlite3, no importer API."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

from ae_import.ledger.db import Ledger
from ae_import.records import Row


def ledger_row(ledger: Ledger | Path, external_id: str) -> dict[str, Any] | None:
    """Return the ledger's row for ``external_id`` as a dict of its columns, or None."""
    path = ledger.path if isinstance(ledger, Ledger) else ledger
    with contextlib.closing(sqlite3.connect(path)) as db:
        cursor = db.execute("SELECT * FROM rows WHERE external_id = ?", (external_id,))
        found = cursor.fetchone()
        if found is None:
            return None
        return dict(zip([c[0] for c in cursor.description], found, strict=True))


def integrity_ok(ledger: Ledger | Path) -> bool:
    """Tell whether SQLite's integrity check passes on the ledger file."""
    path = ledger.path if isinstance(ledger, Ledger) else ledger
    with contextlib.closing(sqlite3.connect(path)) as db:
        return bool(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok")


def pending_row(external_id: str, line: int, fingerprint: str, media_url: str | None = None) -> Row:
    """Return a row as the engine marks it pending: its id, line, fingerprint and media URL."""
    body = {"media_url": media_url} if media_url is not None else {}
    return Row(line, {}, external_id=external_id, body=body, fingerprint=fingerprint)
