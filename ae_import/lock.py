"""The run lock: one ``ae-import run`` per ledger at a time, across processes.

A run takes an exclusive ``fcntl.flock`` on ``<ledger>.lock`` before it opens the
ledger, and writes its pid, host and start time into that file. A second run on the
same ledger fails at once with ``LedgerBusyError`` (exit 4), naming the holder. The
kernel drops the lock when the holder's process ends in any way, kill -9 included,
so a crash never leaves a lock that blocks; the stale file is simply locked again.

The lock is a separate file, not the ledger itself: SQLite keeps POSIX locks on the
ledger, and on NFS ``flock`` is emulated with those very locks.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from .errors import LedgerBusyError

__all__ = ["RunLock", "lock_path"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock
    fcntl = None  # type: ignore[assignment]


def lock_path(ledger: Path) -> Path:
    """Return the lock file that guards ``ledger``."""
    return ledger.with_name(ledger.name + ".lock")


def _holder(text: str) -> str:
    """Describe the holder written in a lock file, as well as it can be read."""
    try:
        info = json.loads(text)
        return f"pid {int(info['pid'])} on {info['host']}, started {info['started_at']}"
    except (ValueError, KeyError, TypeError):
        return "another process (its details are not written yet)"


class RunLock:
    """An exclusive, non-blocking lock on one ledger, held for the whole run."""

    def __init__(self, ledger: Path) -> None:
        """Name the ledger to guard; nothing is locked until ``acquire``."""
        self.ledger = ledger
        self.path = lock_path(ledger)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LedgerBusyError naming the run that holds it."""
        if fcntl is None:  # pragma: no cover
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as held:
                holder = _holder(held.read(4096))
            raise LedgerBusyError(
                f"{self.ledger}: in use by another ae-import run ({holder}); "
                "wait for it to finish, or pass another --ledger"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (the file stays; it is harmless unlocked)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

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
