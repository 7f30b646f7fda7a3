"""The ledger's schema: ordered, named migrations, and the check that a file is a ledger.

``MIGRATIONS`` moves a ledger forward, one named function at a time; ``ledger.py``
applies those not yet recorded in its ``migrations`` table. ``refuse_foreign`` runs
before a ledger is opened for writing or reading: an existing file that is not an
ae-import ledger (another application's SQLite database, a CSV) is refused without a
byte of it, or of the directory around it, changed.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

from ae_import.errors import UsageError
from ae_import.text import safe_text

__all__ = ["MIGRATIONS", "refuse_foreign"]

_SQLITE_HEADER = b"SQLite format 3\x00"


def _m0001_rows(db: sqlite3.Connection) -> None:
    db.execute(
        """CREATE TABLE rows (
            external_id   TEXT PRIMARY KEY,
            status        TEXT NOT NULL,
            engagement_id TEXT,
            http_status   INTEGER,
            attempts      INTEGER NOT NULL DEFAULT 0,
            error_code    TEXT,
            error_detail  TEXT,
            errors        TEXT,
            request_id    TEXT,
            manifest      TEXT,
            line          INTEGER,
            fingerprint   TEXT,
            media_url     TEXT,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX rows_status ON rows (status)")


def _m0002_meta(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")


def _m0003_source_fingerprint(db: sqlite3.Connection) -> None:
    # A hash of the raw manifest row and its mapping: a resumed run skips an unchanged,
    # done row without mapping or validating it.
    db.execute("ALTER TABLE rows ADD COLUMN source_fingerprint TEXT")


def _m0004_runs(db: sqlite3.Connection) -> None:
    # One row per ``ae-import run``: what ``status`` shows, and where ``export
    # --as-manifest`` finds the manifest and config a row came from.
    db.execute(
        """CREATE TABLE runs (
            id            INTEGER PRIMARY KEY,
            started_at    TEXT NOT NULL,
            ended_at      TEXT,
            pid           INTEGER NOT NULL,
            host          TEXT NOT NULL,
            version       TEXT NOT NULL,
            manifest      TEXT NOT NULL,
            manifest_path TEXT,
            config_path   TEXT,
            arguments     TEXT NOT NULL,
            counts        TEXT,
            exit_code     INTEGER,
            stopped       TEXT
        )"""
    )


def _m0005_dismissed(db: sqlite3.Connection) -> None:
    # ``ae-import dismiss`` retires rows fixed elsewhere: status ``dismissed`` and when.
    db.execute("ALTER TABLE rows ADD COLUMN dismissed_at TEXT")


def _m0006_media_checks(db: sqlite3.Connection) -> None:
    # ``--check-media`` keeps its good results for a day (mediacheck.CACHE_TTL_S): ``key``
    # hashes the whole URL or reference, ``media`` shows it without its query.
    db.execute(
        """CREATE TABLE media_checks (
            key          TEXT PRIMARY KEY,
            media        TEXT NOT NULL,
            content_type TEXT,
            size         INTEGER,
            checked_at   TEXT NOT NULL
        ) WITHOUT ROWID"""
    )


def _m0007_staged(db: sqlite3.Connection) -> None:
    # Staging (--stage-to): what each source was staged as, so a re-run neither hashes
    # nor uploads again. ``source`` is "file:" + the real path, or "url:" + the sha256 of
    # the URL (a URL may hold a secret); ``size`` and ``mtime_ns`` tell a changed file.
    # A row keeps the reference and checksum its media was sent as; never a signed URL.
    db.execute(
        """CREATE TABLE staged (
            source       TEXT PRIMARY KEY,
            size         INTEGER NOT NULL,
            mtime_ns     INTEGER,
            sha256       TEXT NOT NULL,
            ref          TEXT NOT NULL,
            content_type TEXT NOT NULL,
            staged_at    TEXT NOT NULL
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX staged_ref ON staged (ref)")
    db.execute("ALTER TABLE rows ADD COLUMN staged_ref TEXT")
    db.execute("ALTER TABLE rows ADD COLUMN staged_sha256 TEXT")


MIGRATIONS: list[tuple[str, Callable[[sqlite3.Connection], None]]] = [
    ("0001_rows", _m0001_rows),
    ("0002_meta", _m0002_meta),
    ("0003_source_fingerprint", _m0003_source_fingerprint),
    ("0004_runs", _m0004_runs),
    ("0005_dismissed", _m0005_dismissed),
    ("0006_media_checks", _m0006_media_checks),
    ("0007_staged", _m0007_staged),
]


def _foreign_reason(path: Path) -> str | None:
    """Return why the existing file at ``path`` is not an ae-import ledger, or None if it is."""
    with path.open("rb") as file:
        header = file.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        return "not a SQLite file"
    # Read without writing: with no -wal beside it, the main file is all there is, and
    # ``immutable`` opens it with no lock, journal or -wal/-shm file; with a -wal (a
    # ledger in use), read-only through it.
    wal = path.with_name(path.name + "-wal").exists()
    uri = path.resolve().as_uri() + ("?mode=ro" if wal else "?immutable=1")
    try:
        db = sqlite3.connect(uri, uri=True)
        try:
            tables = sorted(
                str(row[0])
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                )
            )
            if not tables:
                return None  # an empty database: taken as new
            with contextlib.suppress(sqlite3.DatabaseError):
                applied = [str(row[0]) for row in db.execute("SELECT name FROM migrations")]
                if MIGRATIONS[0][0] in applied or (tables == ["migrations"] and not applied):
                    return None  # a ledger, or one whose creation was cut short
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return f"a SQLite file that cannot be read: {exc}"
    shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    return f"a SQLite database with tables {shown}"


def refuse_foreign(path: Path) -> None:
    """Refuse an existing, non-empty file at ``path`` that is not an ae-import ledger."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    reason = _foreign_reason(path)
    if reason is not None:
        raise UsageError(
            f"{path}: not an ae-import ledger ({safe_text(reason)}); it was left as it is: "
            "pass another --ledger"
        )
