"""What ae-import prints: validation reports, run progress and summaries, JSON.

Every text that came from a manifest is shown as plain text (no rich markup is read
from it) with control characters escaped, so data cannot forge output lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ae_import.operations import Check, StatusReport, ValidationReport
    from ae_import.records import Row
    from ae_import.sending import Summary

from ae_import.text import json_text, safe_text

__all__ = [
    "RunReporter",
    "write_checks",
    "write_run_json",
    "write_run_summary",
    "write_status",
    "write_validation",
]

_ID_SHOWN = 60


def _print_table(console: Console, table: Table) -> None:
    """Print ``table`` without the trailing spaces rich pads each line with."""
    with console.capture() as capture:
        console.print(table)
    console.out("\n".join(line.rstrip() for line in capture.get().splitlines()), highlight=False)


def write_validation(report: ValidationReport, console: Console) -> None:
    """Print the problems table, any requested bodies, and the summary."""
    if report.table_rows:
        table = Table(show_edge=False, pad_edge=False, header_style="bold")
        table.add_column("line", justify="right", no_wrap=True)
        table.add_column("external_id", overflow="fold")
        table.add_column("field", overflow="fold")
        table.add_column("problem", overflow="fold")
        for line, raw_id, *rest in report.table_rows:
            shown = raw_id
            if len(raw_id) > _ID_SHOWN:  # a 10,000-character id would fill the screen
                shown = f"{raw_id[:_ID_SHOWN]}... ({len(raw_id):,} chars)"
            table.add_row(*(Text(safe_text(c)) for c in (line, shown, *rest)))
        _print_table(console, table)
        hidden = report.problem_count - len(report.table_rows)
        if hidden > 0:
            console.print(Text(f"... and {hidden} more problems; --json lists every one"))
    for body in report.requests:
        # compact JSON as sent; controls in the data become \u escapes (same value)
        console.print(Text(json_text(body, compact=True)), soft_wrap=True)
    console.print(Text(report.summary()))


_OUTCOMES = (
    "created",
    "existing",
    "skipped",
    "changed",
    "dismissed",
    "failed",
    "invalid",
    "retryable",
)
_DECISIONS = {
    "send": "would send",
    "skip": "skip (done)",
    "dismissed": "dismissed (retired by ae-import dismiss; not sent unless it changes)",
    "changed": "changed (not sent: the API cannot update)",
    "failed": "failed earlier (not resent: fix the row or pass --retry-failed)",
}
PLAIN_EVERY_S = 10.0


def _finished(summary: Summary) -> int:
    """Return how many rows are final (sent and answered, skipped, or invalid)."""
    return sum(getattr(summary, name) for name in _OUTCOMES)


def _counts(summary: Summary) -> str:
    parts = [f"{getattr(summary, name):,} {name}" for name in _OUTCOMES if getattr(summary, name)]
    if summary.staged_files or summary.staged_found:
        parts.append(_staged(summary))
    return ", ".join(parts) or "nothing yet"


def _staged(summary: Summary) -> str:
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``mode`` is tty, plain or quiet; progress goes to ``err``, dry-run lines to ``out``."""
        self.mode = mode
        self.err = err
        self.out = out
        self.dry_run = dry_run
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._position: Callable[[], tuple[int, int | None]] | None = None
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._shown = 0.0  # the share last shown: it only grows

    def attach(self, position: Callable[[], tuple[int, int | None]]) -> None:
        """Give the reporter a way to tell how far into the manifest the run is (bytes)."""
        self._position = position
        if self.mode == "tty" and not self.dry_run:
            self._bar = Progress(
                TextColumn("[bold]importing"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"),
                TextColumn("{task.fields[rows]} rows, {task.fields[rate]}/s"),
                TimeRemainingColumn(),
                TextColumn("{task.fields[counts]}"),
                console=self.err,
                transient=True,
            )
            self._task = self._bar.add_task("import", total=None, rows="0", rate="0", counts="")
            self._bar.start()

    def __call__(self, event: str, summary: Summary, row: Row | None, note: str) -> None:
        """Take one engine event."""
        if self.dry_run and self.mode != "quiet" and row is not None:
            # Plain writes, not rich: a dry run of a million rows prints a million lines.
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
            return
        if event == "stopping":  # a first signal: say at once what the run waits for
            self.err.print(Text(f"ae-import: {note}"), soft_wrap=True)
            return
        if event not in ("row", "decision") or self.mode == "quiet":
            return
        now = self._clock()
        if self.mode == "tty":
            if self._bar is not None and self._task is not None and now - self._last >= 0.1:
                self._last = now
                finished = _finished(summary)
                rate = finished / max(now - self._started, 1e-9)
                share = self._share(finished, self._estimate(summary, finished))
                self._bar.update(
                    self._task,
                    completed=None if share is None else share * 100,
                    total=None if share is None else 100,
                    rows=f"{finished:,}",
                    rate=f"{rate:,.1f}",
                    counts=_counts(summary),
                )
            return
        if now - self._last >= PLAIN_EVERY_S:
            self._last = now
            self.err.print(Text(self._line(summary, now)), soft_wrap=True)

    def _estimate(self, summary: Summary, finished: int) -> int | None:
        """Estimate the manifest's rows: rows read so far, scaled by bytes left to read."""
        if self._position is None:
            return None
        done, size = self._position()
        if not size or not done or not summary.total:
            return None
        if done >= size:
            return max(finished, summary.total)  # read to the end: the count is exact
        return max(finished, round(summary.total * size / done))

    def _share(self, finished: int, estimate: int | None) -> float | None:
        """Return the share of rows finished; it never goes backwards, and 100% means all."""
        if estimate is None or estimate == 0:
            return None
        share = finished / estimate
        if finished < estimate:
            share = min(share, 0.99)  # never "100%" with rows still to go
        self._shown = max(self._shown, share)
        return self._shown

    def _line(self, summary: Summary, now: float) -> str:
        finished = _finished(summary)
        rate = finished / max(now - self._started, 1e-9)
        estimate = self._estimate(summary, finished)
        share = self._share(finished, estimate)
        where = f"{finished:,} rows done"
        if estimate is not None and share is not None:
            about = "" if self._read_all() else "about "
            where = f"{finished:,} of {about}{estimate:,} rows done ({share:.0%})"
        return f"ae-import: {where}, {rate:,.1f} rows/s: {_counts(summary)}"

    def _read_all(self) -> bool:
        """Tell whether the whole manifest has been read."""
        if self._position is None:
            return False
        done, size = self._position()
        return size is not None and size > 0 and done >= size

    def close(self) -> None:
        """Take the progress bar off the screen."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def write_run_summary(summary: Summary, console: Console, *, dry_run: bool = False) -> None:
    """Print the summary table of a run."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("rows", justify="right")
    table.add_column("outcome")
    rows = [("total", summary.total)]
    if dry_run:
        rows.append(("would send", summary.would_send))
    rows += [
        (name, getattr(summary, name))
        for name in _OUTCOMES
        if name != "dismissed" or summary.dismissed  # shown once ae-import dismiss is used
    ]
    if summary.stopped:
        rows.append(("left for the next run", summary.left))
    if summary.other_shards:
        rows.append(("in other shards", summary.other_shards))
    for name, count in rows:
        table.add_row(f"{count:,}", name)
    _print_table(console, table)
    verb = "checked" if dry_run else "done"
    line = f"{verb} in {summary.duration_s:.1f} s"
    if summary.staged_files or summary.staged_found:
        line += f"; {_staged(summary)}"
    if summary.budget_reached:
        line += f"; budget reached, {summary.left:,} rows left ({summary.message}); re-run to go on"
    elif summary.stopped:
        line += f"; stopped: {summary.message}"
    console.print(Text(line), soft_wrap=True)


def write_run_json(
    summary: Summary, out: IO[str], *, dry_run: bool = False, extra: dict[str, Any] | None = None
) -> None:
    """Write the summary of a run (and ``extra`` keys: exit code, error) as one JSON object."""
    out.write(json_text({**summary.as_json(dry_run), **(extra or {})}) + "\n")


def _describe_error(error: dict[str, Any]) -> str:
    """One line for a ledger row's error: when, where, what."""
    what = " ".join(
        str(error[k]) for k in ("status", "http_status", "error_code") if error.get(k) is not None
    )
    text = (
        f"{error['updated_at']} {error['manifest']} line {error['line']} "
        f"{error['external_id']}: {what}: {error.get('error_detail') or ''}"
    )
    if error.get("request_id"):
        text += f" (request_id {error['request_id']})"
    return safe_text(text)


def _run_counts(counts: dict[str, Any] | None) -> str:
    if not counts:
        return ""
    names = [*_OUTCOMES, "rows_left"]
    return ", ".join(f"{counts[n]:,} {n.replace('_', ' ')}" for n in names if counts.get(n))


def write_status(report: StatusReport, console: Console) -> None:
    """Print what the ledgers hold: counts, rows to send, first and last errors, last runs."""
    for ledger in report.ledgers:
        shard = f", shard {ledger.shard}" if ledger.shard else ""
        line = f"ledger {ledger.path}: {ledger.target or 'no target yet'}{shard}"
        console.print(Text(safe_text(line)), soft_wrap=True)
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("rows", justify="right")
    table.add_column("status")
    for name, count in report.counts.items():
        table.add_row(f"{count:,}", name)
    table.add_row(f"{report.total:,}", "total")
    _print_table(console, table)
    lines = [
        f"to send again: {report.to_send:,} rows pending or retryable"
        + (" (a re-run sends them)" if report.to_send else "")
    ]
    if report.dismissed:
        rows = f"{report.dismissed:,} row{'' if report.dismissed == 1 else 's'}"
        lines.append(f"dismissed: {rows} (not counted above; export --status dismissed lists them)")
    if report.first_error is not None and report.last_error is not None:
        lines.append(f"first error: {_describe_error(report.first_error)}")
        lines.append(f"last error:  {_describe_error(report.last_error)}")
    else:
        lines.append("errors: none")
    for line in lines:
        console.print(Text(line), soft_wrap=True)
    if not report.runs:
        console.print(Text("runs: none recorded yet"), soft_wrap=True)
        return
    console.print(Text(f"last {len(report.runs)} runs, newest first:"), soft_wrap=True)
    runs = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name in ("started", "ended", "exit", "rows", "arguments"):
        runs.add_column(name)
    several = len(report.ledgers) > 1
    if several:
        runs.add_column("ledger")
    for run in report.runs:
        ended = run["ended_at"] or run["state"]
        exit_code = "" if run["exit_code"] is None else str(run["exit_code"])
        cells = [
            run["started_at"],
            ended,
            exit_code,
            _run_counts(run["counts"]),
            " ".join(run["arguments"]),
        ]
        if several:
            cells.append(run["ledger"])
        runs.add_row(*(Text(safe_text(str(c))) for c in cells))
    _print_table(console, runs)


def write_checks(rows: list[Check], console: Console) -> None:
    """Print doctor's checks as a table (check, result, detail, fix), then the verdict."""
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    table.add_column("check", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for row in rows:
        table.add_row(Text(row.name), Text(row.status), Text(row.detail), Text(row.fix))
    _print_table(console, table)
    failed = sum(row.status == "fail" for row in rows)
    verdict = f"{failed} of {len(rows)} checks failed" if failed else "every check passed"
    console.out(f"doctor: {verdict}", highlight=False)
