"""The ledger: one SQLite file per target, a row per external_id, and the lock on it.

``Ledger`` is the only code of the importer that touches sqlite3 (its schema moves by
named ``MIGRATIONS``); ``RunLock`` keeps two writers apart.
"""

from __future__ import annotations

from .db import ALL_STATUSES, DISMISSED, STATUSES, Ledger, StagedCopy
from .lock import HAS_FLOCK, RunLock, lock_path, real_ledger
from .migrations import MIGRATIONS

__all__ = [
    "ALL_STATUSES",
    "DISMISSED",
    "HAS_FLOCK",
    "MIGRATIONS",
    "STATUSES",
    "Ledger",
    "RunLock",
    "StagedCopy",
    "lock_path",
    "real_ledger",
]
