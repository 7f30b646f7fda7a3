"""Tests of the run lock: one run per ledger, the holder named, no stale lock after a crash."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ae_import.errors import EXIT_LEDGER_BUSY, EXIT_USAGE, LedgerBusyError, UsageError
from ae_import.ledger import lock as lock_module
from ae_import.ledger.lock import RunLock, lock_path
from tests.helpers import Writer, posix_only
from tests.helpers.cli import HEADER, invoke, line

HOLDER = """
import sys, time
from pathlib import Path
from ae_import.ledger import RunLock
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


@posix_only("SIGKILL, a kill without any clean-up")
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


@posix_only("symlinks need a privilege on Windows")
@pytest.mark.parametrize(
    "alias",
    ["link.sqlite", "sub/../l.sqlite", "linkdir/l.sqlite", "linkdir/../l.sqlite"],
)
def test_a_run_reaching_a_held_ledger_by_another_path_exits_4(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer, alias: str
) -> None:
    """A symlink to the ledger, a `..` path or a linked directory: exit 4, nothing sent."""
    ledger = cwd / "l.sqlite"
    ledger.touch()
    (cwd / "sub").mkdir()
    (cwd / "elsewhere").mkdir()
    (cwd / "link.sqlite").symlink_to(ledger)
    (cwd / "linkdir").symlink_to(cwd if alias.startswith("linkdir/l") else cwd / "elsewhere")
    path = write("m.csv", HEADER + line("a"))
    with RunLock(ledger):
        result = invoke(
            runner, ["run", str(path), "--base-url", sandbox.base_url, "--ledger", alias]
        )
    assert result.exit_code == EXIT_LEDGER_BUSY, result.output
    assert result.stderr.startswith(f"ae-import: error: {alias}: in use by another ae-import run (")
    assert sandbox.store.count() == 0


@posix_only("symlinks need a privilege on Windows")
def test_the_lock_file_sits_beside_the_real_ledger(tmp_path: Path) -> None:
    """Locking through a symlink takes the lock next to the file it points to."""
    ledger = tmp_path / "real" / "l.sqlite"
    ledger.parent.mkdir()
    ledger.touch()
    link = tmp_path / "link.sqlite"
    link.symlink_to(ledger)
    with RunLock(link) as held:
        assert held.path == lock_path(ledger.resolve())
        assert "pid" in held.path.read_text()
    assert not lock_path(link).exists()


@posix_only("symlinks need a privilege on Windows")
def test_a_dangling_symlink_ledger_is_refused_in_one_line(
    runner: CliRunner, sandbox: Any, cwd: Path, write: Writer
) -> None:
    """--ledger naming a symlink to nothing: exit 2, one line naming it, nothing created."""
    (cwd / "gone.sqlite").symlink_to(cwd / "missing" / "l.sqlite")
    path = write("m.csv", HEADER + line("a"))
    result = invoke(
        runner, ["run", str(path), "--base-url", sandbox.base_url, "--ledger", "gone.sqlite"]
    )
    assert result.exit_code == EXIT_USAGE == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("ae-import: error: gone.sqlite: a dangling symlink ")
    assert sandbox.store.count() == 0
    assert not (cwd / "missing").exists()


def test_a_ledger_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    """The lock does not create the ledger's directory: a one-line usage error instead."""
    with pytest.raises(UsageError) as caught:
        RunLock(tmp_path / "nowhere" / "l.sqlite").acquire()
    assert "no such directory" in caught.value.message
    assert not (tmp_path / "nowhere").exists()


@posix_only("fcntl.flock")
def test_a_file_system_without_flock_is_refused_not_run_unlocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An flock answering ENOSYS (a FUSE or SMB mount) is a usage error, never a silent run."""

    def no_flock(fd: int, operation: int) -> None:
        raise OSError(errno.ENOSYS, "Function not implemented")

    import fcntl

    monkeypatch.setattr(fcntl, "flock", no_flock)
    with pytest.raises(UsageError) as caught:
        RunLock(tmp_path / "l.sqlite").acquire()
    assert caught.value.message.startswith(f"{tmp_path / 'l.sqlite'}: cannot lock the ledger: ")
    assert "has no flock" in caught.value.message


def test_a_platform_without_flock_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where fcntl.flock does not exist at all, the run is refused with exit 2."""
    monkeypatch.setattr(lock_module, "HAS_FLOCK", False)
    with pytest.raises(UsageError) as caught:
        RunLock(tmp_path / "l.sqlite").acquire()
    assert caught.value.exit_code == EXIT_USAGE
    assert "this platform has no flock" in caught.value.message
    assert not lock_path(tmp_path / "l.sqlite").exists()
