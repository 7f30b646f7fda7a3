"""What ae-import prints: validation reports, run progress and summaries, JSON.

Every text that came from a manifest is shown as plain text (no rich markup is read
from it) with control characters escaped, so data cannot forge output lines.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from ae_import.operations import Check, StatusReport, ValidationReport
    from ae_import.sending import Summary

from ae_import.text import json_text, safe_text

from .progress import staged_text

__all__ = [
    "next_steps",
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
TOP_CODES = 5


def next_steps(summary: Summary, ledger: Path | None) -> list[str]:
    """Return what to do next when rows failed or are invalid: the top codes, the commands."""
    if not summary.codes:
        return []
    top = summary.codes.most_common(TOP_CODES)
    shown = ", ".join(f"{count:,} {code}" for code, count in top)
    more = len(summary.codes) - len(top)
    lines = [
        f"problems by code: {shown}"
        + (f" and {more} more codes" if more else "")
        + f" ({summary.new_problems:,} new in this run)"
    ]
    if ledger is not None:
        from ae_import.report import fix_command

        place = str(ledger.resolve())
        lines.append(f"write the fix file: {fix_command(place)}")
        lines.append(
            f"see every row: ae-import status --ledger {shlex.quote(place)} "
            "--html ae-import-report.html"
        )
    return [safe_text(line) for line in lines]


def write_run_summary(
    summary: Summary, console: Console, *, dry_run: bool = False, ledger: Path | None = None
) -> None:
    """Print the summary table of a run, and what to do next when rows failed or are invalid."""
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
        line += f"; {staged_text(summary)}"
    if summary.budget_reached:
        line += f"; budget reached, {summary.left:,} rows left ({summary.message}); re-run to go on"
    elif summary.stopped:
        line += f"; stopped: {summary.message}"
    console.print(Text(line), soft_wrap=True)
    for step in next_steps(summary, None if dry_run else ledger):
        console.print(Text(step), soft_wrap=True)


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
