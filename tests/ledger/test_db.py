"""Tests of the ledger: migrations, binding, statuses, lookups, redaction."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ae_import.errors import LedgerError, UsageError
from ae_import.ledger.db import MIGRATIONS, Ledger
from ae_import.records import Prior
from tests.helpers.ledgerdb import integrity_ok, ledger_row, pending_row


def applied(path: Path) -> list[tuple[str, str]]:
    """Return (name, applied_at) of the migrations recorded in the ledger file, by name."""
    db = sqlite3.connect(path)
    try:
        return list(db.execute("SELECT name, applied_at FROM migrations ORDER BY name"))
    finally:
        db.close()


def test_migrations_apply_in_order_once(tmp_path: Path) -> None:
    """A new ledger gets every migration, by name, in order; reopening applies none again."""
    path = tmp_path / "l.sqlite"
    ledger = Ledger(path, "https://api.example.com/api")
    first = applied(path)
    assert [name for name, _ in first] == [name for name, _ in MIGRATIONS]
    ledger.close()
    again = Ledger(path, "https://api.example.com/api")
    assert applied(path) == first
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again.close()


def test_newer_ledger_is_refused(tmp_path: Path) -> None:
    """A ledger with a migration this version does not know is refused."""
    path = tmp_path / "l.sqlite"
    Ledger(path, "t").close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO migrations VALUES ('9999_future', 'x')")
    db.commit()
    db.close()
    with pytest.raises(UsageError, match="written by a newer ae-import"):
        Ledger(path, "t")


def test_ledger_is_bound_to_one_target(tmp_path: Path) -> None:
    """Opening a ledger bound to another base URL is refused, naming both."""
    path = tmp_path / "l.sqlite"
    ledger = Ledger(path, "https://a.example/api")
    ledger.confirm_target()
    ledger.close()
    with pytest.raises(UsageError) as info:
        Ledger(path, "https://b.example/api")
    assert "belongs to https://a.example/api, not https://b.example/api" in info.value.message


def test_not_a_database_is_a_usage_error(tmp_path: Path) -> None:
    """A file that is not SQLite is a one-line usage error."""
    path = tmp_path / "l.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UsageError, match="not an ae-import ledger"):
        Ledger(path, "t")


def test_pending_then_finished_and_lookup(tmp_path: Path) -> None:
    """A row is pending before its request and final after; lookups give status, fingerprint."""
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    url = "https://h.example/a.mp3?X-Amz-Signature=SECRET"
    ledger.mark_pending([pending_row("e1", 2, "fp1", url)], "m.csv")
    assert ledger.lookup(["e1", "e2"]) == {"e1": Prior("pending", "fp1")}
    ledger.finish(
        "e1", "created", attempts=2, http_status=201, engagement_id="eng_1", request_id="req_1"
    )
    row = ledger_row(ledger, "e1")
    assert row is not None
    assert (row["status"], row["attempts"], row["engagement_id"]) == ("created", 2, "eng_1")
    assert row["media_url"] == "https://h.example/a.mp3?<redacted>"
    assert (row["manifest"], row["line"]) == ("m.csv", 2)
    assert ledger.counts()["created"] == 1
    ledger.close()
    assert b"SECRET" not in b"".join(p.read_bytes() for p in tmp_path.iterdir())


def test_a_ledger_is_empty_until_a_first_row_is_recorded(tmp_path: Path) -> None:
    """A new ledger is empty (a first import); one row recorded, even invalid, makes it not."""
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    assert ledger.is_empty()
    ledger.record_invalid("id1", "m", 2, "fp", "missing_field", "x")
    assert not ledger.is_empty()
    ledger.close()


def test_lookup_in_chunks(tmp_path: Path) -> None:
    """Lookups of more ids than one query holds return every known one."""
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    for n in range(1200):
        ledger.record_invalid(f"id{n}", "m", n, "fp", "missing_field", "x")
    found = ledger.lookup([f"id{n}" for n in range(0, 2400, 2)])
    assert len(found) == 600
    assert found["id1198"] == Prior("invalid", "fp")


def test_release_pending_makes_rows_retryable(tmp_path: Path) -> None:
    """Rows whose answers never came become retryable; others are untouched."""
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    ledger.mark_pending([pending_row("a", 1, "f"), pending_row("b", 2, "f")], "m")
    ledger.finish("b", "created", attempts=1)
    ledger.release_pending(["a", "b"])
    assert ledger.counts() == {
        "pending": 0,
        "created": 1,
        "existing": 0,
        "failed": 0,
        "invalid": 0,
        "retryable": 1,
        "dismissed": 0,
    }
    assert integrity_ok(ledger)


def test_unknown_status_is_refused(tmp_path: Path) -> None:
    """finish() takes only the documented statuses."""
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    ledger.mark_pending([pending_row("a", 1, "f")], "m")
    with pytest.raises(ValueError):
        ledger.finish("a", "done", attempts=1)


def test_sqlite_errors_become_one_line_ledger_errors(tmp_path: Path) -> None:
    """A failing ledger raises LedgerError naming the file, never a raw sqlite3 error."""
    ledger = Ledger(tmp_path / "l.sqlite", "t")
    ledger.close()
    with pytest.raises(LedgerError) as info:
        ledger.counts()
    assert info.value.message.startswith(f"{tmp_path / 'l.sqlite'}: the ledger failed: ")
    assert info.value.exit_code == 1


def test_confirm_target_binds_once_and_is_idempotent(tmp_path: Path) -> None:
    """confirm_target() binds the ledger to its target; again it changes nothing."""
    path = tmp_path / "l.sqlite"
    ledger = Ledger(path, "https://a.example/api")
    ledger.confirm_target()
    ledger.confirm_target()
    ledger.close()
    db = sqlite3.connect(path)
    assert list(db.execute("SELECT value FROM meta WHERE key = 'target'")) == [
        ("https://a.example/api",)
    ]
    db.close()
    with pytest.raises(UsageError, match=r"belongs to https://a\.example/api"):
        Ledger(path, "https://b.example/api")


def test_confirm_target_needs_a_target(tmp_path: Path) -> None:
    """A ledger opened for reading (no target) cannot be bound."""
    path = tmp_path / "l.sqlite"
    Ledger(path, "t").close()
    reader = Ledger(path, None, create=False)
    with pytest.raises(ValueError):
        reader.confirm_target()
    reader.close()


def test_target_mismatch_message_hides_user_info_and_query(tmp_path: Path) -> None:
    """The mismatch message never shows a URL's user-info or query string."""
    path = tmp_path / "l.sqlite"
    first = Ledger(path, "https://u:pw1@a.example/api?key=K1")
    first.confirm_target()
    first.close()
    with pytest.raises(UsageError) as info:
        Ledger(path, "https://v:pw2@b.example/api?key=K2")
    message = info.value.message
    assert "belongs to https://a.example/api?<redacted>, not https://b.example/api?<redacted>" in (
        message
    )
    for secret in ("pw1", "pw2", "K1", "K2", "u:", "v:"):
        assert secret not in message


def _foreign_sqlite(path: Path) -> None:
    """Write a SQLite database of another application (rollback journal, its own tables)."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    db.execute("INSERT INTO customers (name) VALUES ('Ada')")
    db.commit()
    db.close()


def _foreign_laravel(path: Path) -> None:
    """Write a SQLite database with a 'migrations' table of another tool."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, migration TEXT, batch INT)")
    db.execute("INSERT INTO migrations (migration, batch) VALUES ('0001_users', 1)")
    db.commit()
    db.close()


def _foreign_wal(path: Path) -> None:
    """Write a SQLite database of another application in WAL mode, checkpointed and closed."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()


@pytest.mark.parametrize(
    "make",
    [
        _foreign_sqlite,
        _foreign_laravel,
        _foreign_wal,
        lambda path: path.write_bytes(b"x"),
        lambda path: path.write_text("external_id,title\na,b\n"),
    ],
    ids=["sqlite", "migrations-table", "wal", "one-byte", "csv"],
)
@pytest.mark.parametrize("target", ["https://api.example/api", None])
def test_foreign_file_is_refused_untouched(
    tmp_path: Path, make: Callable[[Path], None], target: str | None
) -> None:
    """A file that is not an ae-import ledger is refused, its bytes unchanged, no files added."""
    path = tmp_path / "other.db"
    make(path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(UsageError) as info:
        Ledger(path, target, create=target is not None)
    message = info.value.message
    assert message.startswith(f"{path}: not an ae-import ledger (")
    assert message.endswith("); it was left as it is: pass another --ledger")
    assert info.value.exit_code == 2
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_empty_file_and_empty_database_are_taken_as_new(tmp_path: Path) -> None:
    """A 0-byte file, or a SQLite file with no tables, becomes a new ledger."""
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    Ledger(empty, "t").close()
    bare = tmp_path / "bare.sqlite"
    sqlite3.connect(bare).execute("PRAGMA user_version=1").connection.close()
    assert bare.stat().st_size > 0
    Ledger(bare, "t").close()
    assert [name for name, _ in applied(empty)] == [name for name, _ in MIGRATIONS]
    assert [name for name, _ in applied(bare)] == [name for name, _ in MIGRATIONS]


def test_a_live_ledger_with_its_wal_is_recognised(tmp_path: Path) -> None:
    """A ledger whose tables are still only in its -wal file (a run going on) opens for reading."""
    path = tmp_path / "l.sqlite"
    writer = Ledger(path, "t")
    writer.record_invalid("a", "m", 2, "fp", "missing_field", "x")
    reader = Ledger(path, None, create=False)
    assert reader.counts()["invalid"] == 1
    reader.close()
    writer.close()


def _age(path: Path, external_id: str, updated_at: str) -> None:
    """Set a row's updated_at, as if its last result came at that time."""
    db = sqlite3.connect(path)
    db.execute("UPDATE rows SET updated_at = ? WHERE external_id = ?", (updated_at, external_id))
    db.commit()
    db.close()


def _mixed(path: Path) -> Ledger:
    """Return a ledger with rows failed (f), invalid (i), created (c) and pending (p)."""
    ledger = Ledger(path, "t")
    ledger.mark_pending([pending_row(e, n, "fp-" + e) for n, e in enumerate("fcp")], "m")
    ledger.finish("f", "failed", attempts=1, http_status=409, error_code="conflict")
    ledger.finish("c", "created", attempts=1, http_status=201)
    ledger.record_invalid("i", "m", 9, "fields-i", "missing_field", "title: is required")
    return ledger


def test_dismiss_retires_rows_by_status(tmp_path: Path) -> None:
    """dismiss() by status makes those rows dismissed, with the time; other rows stay."""
    ledger = _mixed(tmp_path / "l.sqlite")
    assert [r[0] for r in ledger.dismissable(("failed", "invalid"), None)] == ["f", "i"]
    assert ledger.dismiss(("failed", "invalid"), None) == 2
    counts = ledger.counts()
    assert (counts["dismissed"], counts["failed"], counts["invalid"]) == (2, 0, 0)
    assert (counts["created"], counts["pending"]) == (1, 1)
    row = ledger_row(ledger, "f")
    assert row is not None and row["status"] == "dismissed"
    assert row["dismissed_at"] >= row["updated_at"]
    assert (row["http_status"], row["error_code"]) == (409, "conflict")
    assert ledger.lookup(["f"])["f"].status == "dismissed"
    assert ledger.dismiss(("failed", "invalid"), None) == 0


def test_dismiss_by_age_and_by_id(tmp_path: Path) -> None:
    """dismiss() takes only rows older than the cutoff, and only the ids named."""
    path = tmp_path / "l.sqlite"
    ledger = _mixed(path)
    _age(path, "f", "2020-01-01T00:00:00.000Z")
    statuses = ("failed", "invalid", "pending")
    cutoff = "2021-01-01T00:00:00.000Z"
    assert [r[0] for r in ledger.dismissable(statuses, cutoff)] == ["f"]
    assert ledger.dismiss(statuses, None, ids=["p", "c"]) == 1
    assert ledger.dismiss(statuses, cutoff) == 1
    assert ledger.counts()["dismissed"] == 2
    assert ledger.counts()["invalid"] == 1


def test_a_dismissed_row_stays_dismissed_until_its_source_changes(tmp_path: Path) -> None:
    """An invalid row dismissed stays so when found invalid again unchanged; changed, it returns."""
    ledger = _mixed(tmp_path / "l.sqlite")
    ledger.dismiss(("invalid", "failed"), None)
    ledger.record_invalid("i", "m", 9, "fields-i", "missing_field", "title: is required")
    assert ledger.lookup(["i"])["i"].status == "dismissed"
    ledger.record_invalid("i", "m", 9, "fields-i2", "missing_field", "title: is required")
    row = ledger_row(ledger, "i")
    assert row is not None and (row["status"], row["dismissed_at"]) == ("invalid", None)
    ledger.mark_pending([pending_row("f", 1, "fp-f2")], "m")
    row = ledger_row(ledger, "f")
    assert row is not None and (row["status"], row["dismissed_at"]) == ("pending", None)


def test_dismissed_rows_are_not_errors(tmp_path: Path) -> None:
    """The first and last errors leave dismissed rows out."""
    ledger = _mixed(tmp_path / "l.sqlite")
    ledger.dismiss(("failed",), None)
    first, last = ledger.first_and_last_error()
    assert first is not None and last is not None
    assert first["external_id"] == last["external_id"] == "i"


def test_a_new_ledger_is_unbound_until_its_target_is_confirmed(tmp_path: Path) -> None:
    """Opening a new ledger binds nothing: another target may open it until one is confirmed."""
    path = tmp_path / "l.sqlite"
    Ledger(path, "https://wrong.example/api").close()
    reader = Ledger(path, None, create=False)
    assert reader.target == ""
    reader.close()
    right = Ledger(path, "https://right.example/api")
    right.confirm_target()
    right.close()
    with pytest.raises(UsageError, match=r"belongs to https://right\.example/api"):
        Ledger(path, "https://wrong.example/api")
