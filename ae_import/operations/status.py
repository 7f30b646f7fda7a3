"""``ae-import status``: what one or more ledgers hold, merged.

Counts by status, the rows still to send (pending or retryable), the oldest and the
newest error still standing, and the last runs from each ledger's runs table. Rows
retired by ``ae-import dismiss`` are counted apart, and are neither errors nor in the
total. Read only: it never takes the run lock, so it works while a run is going on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ae_import.errors import UsageError
from ae_import.ledger import DISMISSED, STATUSES, reading
from ae_import.report import gather_report, render_html

__all__ = ["LedgerStatus", "StatusReport", "gather_status", "write_report"]

LAST_RUNS = 10


@dataclass
class LedgerStatus:
    """What one ledger holds."""

    path: str
    target: str
    shard: str
    counts: dict[str, int]
    dismissed: int = 0


@dataclass
class StatusReport:
    """What the ledgers hold together."""

    ledgers: list[LedgerStatus]
    counts: dict[str, int]
    first_error: dict[str, Any] | None
    last_error: dict[str, Any] | None
    runs: list[dict[str, Any]] = field(default_factory=list)
    dismissed: int = 0

    @property
    def total(self) -> int:
        """Return the rows of every ledger."""
        return sum(self.counts.values())

    @property
    def to_send(self) -> int:
        """Return the rows a re-run would send again: pending or retryable."""
        return self.counts["pending"] + self.counts["retryable"]

    def as_json(self) -> dict[str, Any]:
        """Return the report as the object ``status --json`` prints."""
        return {
            "ledgers": [vars(ledger) for ledger in self.ledgers],
            "counts": self.counts,
            "total": self.total,
            "to_send": self.to_send,
            "dismissed": self.dismissed,
            "first_error": self.first_error,
            "last_error": self.last_error,
            "runs": self.runs,
        }


def _state(run: dict[str, Any]) -> str:
    """Tell whether a run without an end is still going, or died without one."""
    if run["ended_at"] is not None:
        return "finished"
    if run["host"] != socket.gethostname():
        return f"running or killed (on {run['host']})"
    try:
        os.kill(int(run["pid"]), 0)
    except ProcessLookupError:
        return "killed (no end recorded)"
    except (PermissionError, OSError):
        pass
    return "running"


def gather_status(paths: Sequence[Path]) -> StatusReport:
    """Read every ledger in ``paths``; merge counts, errors and runs."""
    ledgers: list[LedgerStatus] = []
    counts = dict.fromkeys(STATUSES, 0)
    dismissed = 0
    errors: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for path in paths:
        with reading(path) as ledger:
            found = ledger.counts()
            retired = found.pop(DISMISSED)
            dismissed += retired
            ledgers.append(LedgerStatus(str(path), ledger.target, ledger.shard, found, retired))
            for status, count in found.items():
                counts[status] += count
            for error in ledger.first_and_last_error():
                if error is not None:
                    errors.append({**error, "ledger": str(path)})
            for run in ledger.runs(LAST_RUNS):
                runs.append({**run, "ledger": str(path), "state": _state(run)})
    errors.sort(key=lambda e: (e["updated_at"], e["manifest"] or "", e["line"] or 0))
    runs.sort(key=lambda r: r["started_at"], reverse=True)
    return StatusReport(
        ledgers,
        counts,
        errors[0] if errors else None,
        errors[-1] if errors else None,
        runs[:LAST_RUNS],
        dismissed,
    )


def write_report(paths: Sequence[Path], out: Path) -> None:
    """Write the morning report of the ledgers in ``paths`` to ``out`` (replaced whole)."""
    page = render_html(gather_report(paths))
    partial = out.with_name(out.name + ".partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"--html {out}: cannot write: {exc.strerror or exc}") from None
