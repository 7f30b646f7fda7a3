"""The run lock on each platform: filelock's class for it, the holder readable where locked."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from filelock import UnixFileLock, WindowsFileLock

from ae_import.errors import UsageError
from ae_import.ledger import lock as lock_module
from ae_import.ledger.lock import RunLock, lock_class, lock_path


@pytest.mark.parametrize(
    ("platform", "flock", "expected"),
    [
        ("win32", False, WindowsFileLock),
        ("linux", True, UnixFileLock),
        ("darwin", True, UnixFileLock),
        ("linux", False, None),
    ],
)
def test_the_lock_is_the_one_filelock_picks_for_the_platform(
    platform: str, flock: bool, expected: type | None
) -> None:
    """Windows: LockFileEx; Linux, macOS: flock; neither: no lock (refused, never a soft lock)."""
    assert lock_class(platform, flock) is expected


def test_windows_takes_the_windows_lock_with_the_same_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Windows (faked): a WindowsFileLock that keeps its file, with no soft fallback."""
    made: list[dict[str, Any]] = []

    class Recording(UnixFileLock):
        """A lock that records how it was built, and works here."""

        def __init__(self, path: Path, **options: Any) -> None:
            made.append(options)
            super().__init__(path, **options)

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(lock_module, "WindowsFileLock", Recording)
    with RunLock(tmp_path / "l.sqlite"):
        pass
    assert made[0]["blocking"] is False and made[0]["fallback_to_soft"] is False
    assert made[0]["preserve_lock_file"] is True


def test_the_holder_is_written_without_pwrite_and_read_from_byte_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No os.pwrite (Windows has none); byte 0, which Windows locks, is a space."""
    monkeypatch.delattr(os, "pwrite", raising=False)
    ledger = tmp_path / "l.sqlite"
    with RunLock(ledger):
        data = lock_path(ledger).read_bytes()
        assert data[:3] == b' {"'
        assert f"pid {os.getpid()} on " in lock_module._read_holder(lock_path(ledger))


def test_a_platform_without_any_lock_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither Windows nor flock: one line, exit 2, never a run without a lock."""
    monkeypatch.setattr(sys, "platform", "sunos5")
    monkeypatch.setattr(lock_module, "HAS_FLOCK", False)
    with pytest.raises(UsageError) as caught:
        RunLock(tmp_path / "l.sqlite").acquire()
    assert "this platform has no flock" in caught.value.message
