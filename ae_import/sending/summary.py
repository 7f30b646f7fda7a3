"""What a run reports: the summary of its rows, per-row events, and the progress callback.

Pure: filled in by the engine, shown by the commands, written by the run log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from ae_import.records import Row

__all__ = [
    "BUDGET_STOPS",
    "Events",
    "Progress",
    "RowEvent",
    "Summary",
    "no_events",
    "no_progress",
]

# Stops that end a run early on purpose: the run is clean when nothing failed.
BUDGET_STOPS = ("limit", "deadline")


@dataclass
class Summary:
    """Counts of a run's rows by how they ended, and why it stopped, if it stopped early."""

    total: int = 0
    created: int = 0
    existing: int = 0
    failed: int = 0
    invalid: int = 0
    retryable: int = 0
    skipped: int = 0
    changed: int = 0
    dismissed: int = 0  # held as dismissed (ae-import dismiss) and unchanged: not sent
    would_send: int = 0
    left: int = 0  # rows a stopped run did not send that a next run would
    other_shards: int = 0
    duration_s: float = 0.0
    stopped: str | None = None
    message: str | None = None
    # The problem codes of the rows this run left failed, invalid or retryable (a row
    # counts once under each of its codes), and how many of those rows are new: failed
    # or retryable in this run, or invalid and not held invalid, unchanged, before it.
    codes: Counter[str] = field(default_factory=Counter)
    new_problems: int = 0
    staged_files: int = 0  # --stage-to: files uploaded by this run
    staged_bytes: int = 0  # and their bytes
    staged_found: int = 0  # files found staged already (nothing uploaded)

    _KEYS = (
        "total",
        "created",
        "existing",
        "failed",
        "invalid",
        "retryable",
        "skipped",
        "changed",
        "duration_s",
    )

    def as_json(self, dry_run: bool = False) -> dict[str, Any]:
        """Return the summary as the JSON object ``--json`` prints."""
        data = asdict(self)
        out = {k: data[k] for k in self._KEYS}
        out["duration_s"] = round(self.duration_s, 3)
        if dry_run:
            out["would_send"] = self.would_send
        if self.other_shards:
            out["other_shards"] = self.other_shards
        if self.dismissed:
            out["dismissed"] = self.dismissed
        if self.budget_reached:
            out["budget_reached"] = True
        if self.staged_files or self.staged_found:
            out["staged"] = {
                "uploaded_files": self.staged_files,
                "uploaded_bytes": self.staged_bytes,
                "already_staged": self.staged_found,
            }
        if self.stopped:
            out["rows_left"] = self.left
            out["stopped"] = self.stopped
        out["problems_by_code"] = dict(self.codes.most_common())
        out["new_problems"] = self.new_problems
        return out

    def count_problem(self, codes: list[str], new: bool) -> None:
        """Count one failed, invalid or retryable row: its codes, and whether it is new."""
        for code in dict.fromkeys(codes):
            self.codes[code] += 1
        self.new_problems += new

    @property
    def budget_reached(self) -> bool:
        """Tell whether the run stopped because --max-rows, --max-duration or --until ran out."""
        return self.stopped in BUDGET_STOPS

    @property
    def clean(self) -> bool:
        """Tell whether every row this run finished is created, existing or skipped."""
        return not (self.failed or self.invalid or self.retryable)

    def passes(self, fail_on: str = "any") -> bool:
        """Tell whether the run exits 0 under ``--fail-on``: ``any`` problem, or ``new`` ones."""
        return self.clean if fail_on == "any" else not self.new_problems


@dataclass(frozen=True, slots=True)
class RowEvent:
    """One line of the run log: a row's outcome, or one attempt that will be retried."""

    event: str  # "row" (final for this run) or "retry"
    external_id: str | None
    line: int
    status: str  # created existing failed retryable invalid changed left, or "retry"
    attempt: int = 0
    http_status: int | None = None
    request_id: str | None = None
    latency: float | None = None
    error_code: str | None = None
    error_detail: str | None = None
    rate: float | None = None  # the rate controller's requests/s at the answer; None: unpaced


# progress(event, summary, row, note): events are "sent", "retry", "row" (a row is
# final), "decision" (a row was not sent: skipped, changed, failed earlier, would send),
# "queued" (a row will be sent), "read" (every row is decided; row None), and "paused"
# (a 429: every worker pauses; the note is the seconds).
Progress = Callable[[str, Summary, Row | None, str], None]
Events = Callable[[RowEvent], None]


def no_progress(event: str, summary: Summary, row: Row | None, note: str) -> None:
    """Ignore a progress event."""


def no_events(event: RowEvent) -> None:
    """Ignore a log event."""
