"""Tests of the run lock: one run per ledger, the holder named, no stale lock after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ae_import.errors import EXIT_LEDGER_BUSY, LedgerBusyError
from ae_import.lock import RunLock, lock_path

HOLDER = """
import sys, time
from pathlib import Path
from ae_import.lock import RunLock
lock = RunLock(Path(sys.argv[1]))
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


def test_second_lock_fails_naming_the_holder(tmp_path: Path) -> None:
    """While one RunLock holds a ledger, another fails with exit 4, naming pid and start."""
    ledger = tmp_path / "l.sqlite"
    with RunLock(ledger), pytest.raises(LedgerBusyError) as caught:
        RunLock(ledger).acquire()
    error = caught.value
    assert error.exit_code == EXIT_LEDGER_BUSY == 4
    assert f"pid {os.getpid()} on " in error.message
    assert ", started 20" in error.message
    assert error.message.startswith(f"{ledger}: in use by another ae-import run (")
    assert error.message.endswith("wait for it to finish, or pass another --ledger")


def test_lock_is_free_again_after_release(tmp_path: Path) -> None:
    """Releasing the lock lets the next run take it; the lock file stays, unlocked."""
    ledger = tmp_path / "l.sqlite"
    with RunLock(ledger):
        pass
    with RunLock(ledger) as again:
        assert again.path == lock_path(ledger) == tmp_path / "l.sqlite.lock"
    assert lock_path(ledger).exists()


def test_a_killed_holder_leaves_no_lock_that_blocks(tmp_path: Path) -> None:
    """A holder killed with SIGKILL (no clean-up at all) leaves a lock the next run takes."""
    ledger = tmp_path / "l.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(ledger)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LedgerBusyError) as caught:
            RunLock(ledger).acquire()
        assert f"pid {holder.pid} on " in caught.value.message
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    with RunLock(ledger):
        assert "pid" in lock_path(ledger).read_text()


def test_garbled_lock_file_still_reports_busy(tmp_path: Path) -> None:
    """A holder that has not written its details yet is still reported, without a crash."""
    ledger = tmp_path / "l.sqlite"
    with RunLock(ledger):
        lock_path(ledger).write_text("")
        with pytest.raises(LedgerBusyError) as caught:
            RunLock(ledger).acquire()
    assert "another process (its details are not written yet)" in caught.value.message
