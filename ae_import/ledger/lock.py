"""The run lock: one ``ae-import run`` per ledger at a time, across processes.

A run takes an exclusive lock on ``<real ledger>.lock`` before it opens the ledger,
and writes its pid, host and start time into that file. The ledger's path is resolved
first (symlinks, ``..``), so two runs that reach one ledger by different paths contend
for one lock; a dangling symlink is refused. A second run on the same ledger fails at
once with ``LedgerBusyError`` (exit 4), naming the holder. The operating system drops
the lock when the holder's process ends in any way, kill -9 included, so a crash never
leaves a lock that blocks; the stale file is simply locked again.

The lock is a separate file, not the ledger itself: SQLite keeps POSIX locks on the
ledger, and on NFS ``flock`` is emulated with those very locks.

filelock takes the lock, with the class it would pick for the platform (``lock_class``):
``UnixFileLock`` (``flock``) on Linux and macOS, ``WindowsFileLock`` (``LockFileEx`` on
byte 0) on Windows. It serves: it keeps the file on release (``preserve_lock_file``),
hands us the locked descriptor to write the holder into (``on_acquired``), never
truncates what a holder wrote when another process fails to lock, and, without soft
fallback, reports a file system without locks as an error instead of silently using a
marker file. A platform or file system without a real lock is refused with one line
(exit 2) rather than run unlocked.

Byte 0 of the file is a space and the holder follows it: Windows forbids other
processes to read the locked byte, so the holder is read from byte 1 on, everywhere.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from filelock import BaseFileLock, Timeout, UnixFileLock, WindowsFileLock, has_fcntl

from ae_import.errors import LedgerBusyError, UsageError

__all__ = ["HAS_FLOCK", "RunLock", "lock_class", "lock_path", "real_ledger"]

HAS_FLOCK: bool = has_fcntl
# What flock answers on a file system that cannot lock (FUSE, some NFS and SMB mounts).
_NO_FLOCK_ERRNOS = frozenset({errno.ENOSYS, errno.ENOLCK, errno.EOPNOTSUPP})


def lock_path(ledger: Path) -> Path:
    """Return the lock file that guards ``ledger`` (a path already resolved)."""
    return ledger.with_name(ledger.name + ".lock")


def real_ledger(ledger: Path) -> Path:
    """Return the ledger's real path; refuse a dangling symlink, a loop or a missing directory."""
    try:
        real = ledger.resolve(strict=False)
    except (RuntimeError, OSError):  # a symlink loop: RuntimeError before 3.13, OSError after
        raise UsageError(f"{ledger}: a symlink loop; pass another --ledger") from None
    if ledger.is_symlink() and not ledger.exists():
        raise UsageError(
            f"{ledger}: a dangling symlink (its target {real} does not exist); "
            "fix the link or pass another --ledger"
        )
    if not real.parent.is_dir():
        raise UsageError(f"{ledger}: no such directory {real.parent}; create it first")
    if real.exists() and not real.is_file():
        raise UsageError(
            f"{ledger}: not a regular file (a directory or a device); pass a file path as --ledger"
        )
    return real


def _holder(text: str) -> str:
    """Describe the holder written in a lock file, as well as it can be read."""
    try:
        info = json.loads(text)
        return f"pid {int(info['pid'])} on {info['host']}, started {info['started_at']}"
    except (ValueError, KeyError, TypeError):
        return "another process (its details are not written yet)"


def lock_class(platform: str | None = None, flock: bool | None = None) -> type[BaseFileLock] | None:
    """Return the lock filelock picks for ``platform``; None where only a soft lock exists."""
    platform = sys.platform if platform is None else platform
    if platform == "win32":
        return WindowsFileLock
    return UnixFileLock if (HAS_FLOCK if flock is None else flock) else None


def _read_holder(path: Path) -> str:
    """Read the holder's details from the lock file another run holds (from byte 1 on)."""
    try:
        with path.open("rb") as held:
            held.seek(1)
            return _holder(held.read(4096).decode("utf-8", "replace"))
    except OSError:
        return _holder("")


def _write_holder(fd: int) -> None:
    """Write a space, then this process's pid, host and start time, into the locked file.

    Written at offset 0 with ``lseek`` and ``write`` (``os.pwrite`` is POSIX-only),
    looping on a short write.
    """
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
    }
    data = memoryview((" " + json.dumps(info) + "\n").encode())
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    while data:
        data = data[os.write(fd, data) :]


class RunLock:
    """An exclusive, non-blocking lock on one ledger, held for the whole run."""

    def __init__(self, ledger: Path) -> None:
        """Name the ledger to guard; nothing is resolved or locked until ``acquire``."""
        self.ledger = ledger
        self.path = lock_path(ledger)
        self._lock: BaseFileLock | None = None

    def _refuse_unlocked(self, where: str) -> UsageError:
        """Return the error for a ledger that cannot be locked: never run unlocked."""
        return UsageError(
            f"{self.ledger}: cannot lock the ledger: {where} has no flock, and ae-import run "
            "never runs unlocked; pass a --ledger on a local disk"
        )

    def acquire(self) -> None:
        """Take the lock or raise LedgerBusyError naming the run that holds it."""
        kind = lock_class()
        if kind is None:
            raise self._refuse_unlocked("this platform")
        self.path = lock_path(real_ledger(self.ledger))
        lock = kind(
            self.path,
            mode=0o600,
            blocking=False,
            thread_local=False,
            fallback_to_soft=False,
            preserve_lock_file=True,
            on_acquired=_write_holder,
        )
        try:
            lock.acquire()
        except Timeout:  # another process holds the flock (Timeout is an OSError: first)
            raise LedgerBusyError(
                f"{self.ledger}: in use by another ae-import run ({_read_holder(self.path)}); "
                "wait for it to finish, or pass another --ledger"
            ) from None
        except OSError as exc:
            if exc.errno in _NO_FLOCK_ERRNOS:
                raise self._refuse_unlocked(f"the file system of {self.path}") from None
            raise
        self._lock = lock

    def release(self) -> None:
        """Drop the lock (the file stays; it is harmless unlocked)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> RunLock:
        """Take the lock."""
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Drop the lock."""
        self.release()
