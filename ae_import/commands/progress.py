"""Run progress that tells the truth: rows done against rows to send, at the measured rate.

``Tally`` counts from the engine's events: rows to send (queued, or found invalid), rows
done (created, existing, failed, invalid, retryable), rows left as the ledger had them
(skipped, changed, dismissed, failed earlier), and 429 pauses. Until the whole manifest is
read, rows to send are estimated from the rows decided so far and how far into the file
they are: by lines (the file's lines are counted once, fast, in a thread), else by bytes.

``RunReporter`` shows a tally: a bar on a terminal, a plain line every ``--progress-every``
seconds off one (cron, a log file), nothing with --quiet. The ETA is rows left over the
rate rows were done at in the last minute; during a 429 pause it says so.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn
from rich.text import Text

from ae_import.text import safe_text

if TYPE_CHECKING:
    from ae_import.records import Row
    from ae_import.sending import Summary

__all__ = ["PLAIN_EVERY_S", "RunReporter", "Tally"]

PLAIN_EVERY_S = 30.0
_DONE = ("created", "existing", "failed", "invalid", "retryable")
_LEFT_BE = ("skip", "changed", "failed", "dismissed")  # decisions: the ledger's state kept
_WINDOW_S = 60.0
_DECISIONS = {
    "send": "would send",
    "skip": "skip (done)",
    "dismissed": "dismissed (retired by ae-import dismiss; not sent unless it changes)",
    "changed": "changed (not sent: the API cannot update)",
    "failed": "failed earlier (not resent: fix the row or pass --retry-failed)",
}


def _clock_text(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Tally:
    """What a run has done and has to do, counted from its events."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Start with nothing counted."""
        self.clock = clock
        self.started = clock()
        self.queued = 0  # rows decided to send
        self.invalid = 0  # rows found invalid (to send, and done at once)
        self.left_be = 0  # rows the ledger keeps as they are: skipped, changed...
        self.done = 0
        self.read_all = False
        self.first_line: int | None = None
        self.last_line = 0
        self.total_lines: int | None = None  # the file's lines, once counted
        self.position: Callable[[], tuple[int, int | None]] | None = None
        self.paused_until = 0.0
        self._samples: deque[tuple[float, int]] = deque([(self.started, 0)])

    @property
    def decided(self) -> int:
        """Return the rows decided so far."""
        return self.queued + self.invalid + self.left_be

    def _saw(self, row: Row | None) -> None:
        if row is None:
            return
        line = row.line
        # Not max(): it was half of take()'s 0.46 us, once a row of a million-row resume.
        if line > self.last_line:  # noqa: PLR1730
            self.last_line = line
        if self.first_line is None or line < self.first_line:
            self.first_line = line

    def take(self, event: str, row: Row | None, note: str) -> None:
        """Count one engine event."""
        # Most frequent first: a resume's million rows are decisions, each counted here.
        if event == "decision":
            if note in _LEFT_BE:
                self.left_be += 1
                self._saw(row)
        elif event == "row":
            if note in _DONE:
                self.done += 1
                if note == "invalid":
                    self.invalid += 1
                    self._saw(row)
        elif event == "queued":
            self.queued += 1
            self._saw(row)
        elif event == "read":
            self.read_all = True
        elif event == "paused":
            self.paused_until = max(self.paused_until, self.clock() + float(note))

    def to_send(self) -> tuple[int, bool] | None:
        """Return the rows to send and whether that is exact (else estimated), if known."""
        known = self.queued + self.invalid
        if self.read_all:
            return known, True
        decided = self.decided
        if not known:
            return None  # nothing to send seen yet: no share to show
        share = self._share_read()
        if share is None or share <= 0:
            return None
        estimate = round(decided / share * known / decided)
        return max(known, self.done, estimate), False

    def _share_read(self) -> float | None:
        """Return the share of the manifest the decided rows reach, by lines or else bytes."""
        first = self.first_line
        if self.total_lines is not None and first is not None and self.total_lines >= first:
            return (self.last_line - first + 1) / (self.total_lines - first + 1)
        if self.position is not None:
            read, size = self.position()
            if size and read:
                return min(1.0, read / size)
        return None

    def rate(self) -> float:
        """Return rows done a second over the last minute (since the start, early on)."""
        now = self.clock()
        samples = self._samples
        samples.append((now, self.done))
        while len(samples) > 2 and samples[1][0] < now - _WINDOW_S:
            samples.popleft()
        then, done_then = samples[0]
        return (self.done - done_then) / (now - then) if now > then else 0.0

    def paused_for(self) -> float:
        """Return the seconds every worker stays paused by a 429 (0: not paused)."""
        return max(0.0, self.paused_until - self.clock())

    def line(self) -> str:
        """Return the progress as one line: done of to send, rate, ETA or pause, skipped."""
        rate = self.rate()
        target = self.to_send()
        where = f"{self.done:,} rows done"
        left = None
        if target is not None:
            count, exact = target
            share = self.done / count if count else 1.0
            if self.done < count:
                share = min(share, 0.99)  # never 100% with rows to go
            about = "" if exact else "about "
            where = f"{self.done:,} of {about}{count:,} rows done ({share:.0%})"
            left = count - self.done
        parts = [where, f"{rate:,.1f} rows/s"]
        paused = self.paused_for()
        if paused > 0:
            parts.append(f"paused by a 429 (Retry-After), resuming in {paused:.0f} s")
        elif left is not None and left > 0 and rate > 0:
            parts.append(f"ETA {_clock_text(left / rate)}")
        if self.left_be:
            parts.append(f"{self.left_be:,} skipped (done or kept in the ledger)")
        return ", ".join(parts)


def _counts(summary: Summary) -> str:
    names = ("created", "existing", "failed", "invalid", "retryable")
    parts = [f"{getattr(summary, name):,} {name}" for name in names if getattr(summary, name)]
    if summary.staged_files or summary.staged_found:
        parts.append(staged_text(summary))
    return ", ".join(parts) or "nothing yet"


def staged_text(summary: Summary) -> str:
    """Say what staging did: files and megabytes uploaded, files found staged."""
    megabytes = summary.staged_bytes / 1e6
    return (
        f"staged {summary.staged_files:,} files ({megabytes:,.1f} MB), "
        f"{summary.staged_found:,} already staged"
    )


class RunReporter:
    """Shows a run as it goes: a progress bar on a TTY, a line now and then off one, or nothing."""

    def __init__(
        self,
        mode: str,
        err: Console,
        out: Console,
        *,
        dry_run: bool = False,
        every: float = PLAIN_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``mode`` is tty, plain or quiet; progress goes to ``err``, dry-run lines to ``out``.

        Off a terminal a line is written every ``every`` seconds.
        """
        self.mode = mode
        self.err = err
        self.out = out
        self.dry_run = dry_run
        self.every = every
        self.tally = Tally(clock)
        self._clock = clock
        self._last = self.tally.started
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def attach(
        self, position: Callable[[], tuple[int, int | None]], path: Path | None = None
    ) -> None:
        """Learn how far into the manifest the run is (bytes), and its file to count lines of."""
        self.tally.position = position
        if path is not None and self.mode != "quiet" and not self.dry_run:
            from ae_import.reading import count_lines

            def count() -> None:
                self.tally.total_lines = count_lines(path)

            threading.Thread(target=count, name="ae-import-count-lines", daemon=True).start()
        if self.mode == "tty" and not self.dry_run:
            self._bar = Progress(
                TextColumn("[bold]importing"),
                BarColumn(),
                TextColumn("{task.fields[line]}"),
                console=self.err,
                transient=True,
            )
            self._task = self._bar.add_task("import", total=None, line="starting")
            self._bar.start()

    def __call__(self, event: str, summary: Summary, row: Row | None, note: str) -> None:
        """Take one engine event."""
        if self.dry_run and self.mode != "quiet" and row is not None:
            self._dry_line(event, row, note)
            return
        if event == "stopping":  # a first signal: say at once what the run waits for
            self.err.print(Text(f"ae-import: {note}"), soft_wrap=True)
            return
        self.tally.take(event, row, note)
        if self.mode == "quiet":
            return
        now = self._clock()
        if self.mode == "tty":
            if self._bar is not None and self._task is not None and now - self._last >= 0.1:
                self._last = now
                self._draw(summary)
            return
        if now - self._last >= self.every:
            self._last = now
            line = f"ae-import: {self.tally.line()}: {_counts(summary)}"
            self.err.print(Text(line), soft_wrap=True)

    def _draw(self, summary: Summary) -> None:
        """Redraw the bar: done against to send, and the line."""
        assert self._bar is not None and self._task is not None
        target = self.tally.to_send()
        total = None if target is None else max(target[0], 1)
        self._bar.update(
            self._task,
            completed=self.tally.done,
            total=total,
            line=f"{self.tally.line()}: {_counts(summary)}",
        )

    def _dry_line(self, event: str, row: Row, note: str) -> None:
        """Print what a dry run would do with ``row`` (plain writes: a million rows are fast)."""
        write = self.out.file.write
        if event == "decision":
            label = _DECISIONS.get(note, note)
            write(f"{label:<13} {row.place:<12} {safe_text(row.external_id or '')}\n")
        elif note == "invalid" and row.problems:
            first = row.problems[0]
            write(
                f"{'invalid':<13} {row.place:<12} {safe_text(row.external_id or '')}: "
                f"{first.field or 'row'}: {safe_text(first.message)}\n"
            )

    def close(self) -> None:
        """Take the progress bar off the screen."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
