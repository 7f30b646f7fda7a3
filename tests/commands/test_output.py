"""Tests of run output: progress (done of rows to send) on a fake clock, the bar, the summary."""

from __future__ import annotations

import io
import shlex
from pathlib import Path

from rich.console import Console

from ae_import.commands.output import write_run_summary
from ae_import.commands.progress import RunReporter, Tally
from ae_import.records import Row
from ae_import.sending.summary import Summary

ROW = Row(2, {}, external_id="a", body={})


def _row(line: int) -> Row:
    return Row(line, {}, external_id=f"r{line}", body={})


def test_plain_mode_prints_a_line_every_progress_every_seconds() -> None:
    """Off a terminal, a line goes to stderr every --progress-every seconds, done of to send."""
    now = [0.0]
    err = io.StringIO()
    reporter = RunReporter(
        "plain",
        Console(file=err, width=200),
        Console(file=io.StringIO()),
        every=5.0,
        clock=lambda: now[0],
    )
    reporter.attach(lambda: (500, 1000))
    reporter.tally.total_lines = 101  # a header and 100 rows
    summary = Summary()
    for line in range(2, 42):
        reporter("queued", summary, _row(line), "")
    for step in range(1, 13):
        now[0] = step
        summary.created += 1
        reporter("row", summary, _row(step + 1), "created")
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == ("ae-import: 5 of about 100 rows done (5%), 1.0 rows/s, ETA 1:35: 5 created")


def test_quiet_mode_prints_nothing() -> None:
    """--quiet prints no progress at all."""
    err = io.StringIO()
    reporter = RunReporter(
        "quiet", Console(file=err), Console(file=io.StringIO()), clock=lambda: 1e9
    )
    reporter("row", Summary(total=1, created=1), ROW, "created")
    assert err.getvalue() == ""


def test_tty_mode_draws_a_bar_and_takes_it_away() -> None:
    """On a terminal the bar shows rows done of rows to send and counts; it goes at the end."""
    now = [0.0]
    err = io.StringIO()
    console = Console(file=err, force_terminal=True, width=160)
    reporter = RunReporter("tty", console, Console(file=io.StringIO()), clock=lambda: now[0])
    reporter.attach(lambda: (1000, 1000))
    summary = Summary(created=4)
    for line in range(2, 12):
        reporter("queued", summary, _row(line), "")
    reporter("read", summary, None, "")
    now[0] = 1.0
    reporter("row", summary, _row(2), "created")
    reporter.close()
    text = err.getvalue()
    assert "importing" in text
    assert "1 of 10 rows done (10%)" in text
    assert "4 created" in text


def test_summary_table_names_the_stop() -> None:
    """The summary table lists every outcome and says why the run stopped."""
    out = io.StringIO()
    summary = Summary(
        total=3,
        created=1,
        retryable=2,
        duration_s=2.5,
        stopped="auth",
        message="the token was refused (401)",
    )
    write_run_summary(summary, Console(file=out, width=100))
    lines = out.getvalue().splitlines()
    assert lines[3] == "   1 │ created"
    assert lines[-1] == "done in 2.5 s; stopped: the token was refused (401)"


def test_progress_never_says_100_percent_with_rows_to_go() -> None:
    """Every row read, 99 of 100 done: the line says 99%, never 100%, and the count is exact."""
    tally = Tally(clock=lambda: 1.0)
    for line in range(2, 102):
        tally.take("queued", _row(line), "")
    tally.take("read", None, "")
    tally.done = 99
    assert tally.to_send() == (100, True)
    assert tally.line().startswith("99 of 100 rows done (99%)")
    tally.done = 100
    assert tally.line().startswith("100 of 100 rows done (100%)")


def test_rows_to_send_are_estimated_by_lines_and_skipped_rows_are_apart() -> None:
    """Half the file's lines decided, a quarter skipped: rows to send are half the rest."""
    tally = Tally(clock=lambda: 1.0)
    tally.total_lines = 201  # a header and 200 rows
    for line in range(2, 102):
        tally.take("queued" if line % 4 else "decision", _row(line), "skip")
    assert tally.to_send() == (150, False)
    assert "25 skipped" in tally.line()


def test_a_429_pause_is_said_instead_of_an_eta() -> None:
    """During a 429 pause the line says so, and for how long; after it, the ETA is back."""
    now = [10.0]
    tally = Tally(clock=lambda: now[0])
    tally.take("queued", _row(2), "")
    tally.take("queued", _row(3), "")
    tally.take("read", None, "")
    tally.take("row", _row(2), "created")
    tally.take("paused", _row(3), "30")
    assert "paused by a 429 (Retry-After), resuming in 30 s" in tally.line()
    now[0] = 41.0
    assert "ETA" in tally.line()


def test_the_summary_names_the_top_codes_and_the_fix_command(tmp_path: Path) -> None:
    """Rows failed or invalid: the summary lists codes with counts and the exact commands."""
    out = io.StringIO()
    summary = Summary(total=14, invalid=12, failed=2, duration_s=1.0)
    for _ in range(9):
        summary.count_problem(["bad_timestamp"], new=True)
    for _ in range(3):
        summary.count_problem(["missing_field", "bad_email"], new=False)
    summary.count_problem(["http_500"], new=True)
    summary.count_problem(["http_500"], new=True)
    ledger = tmp_path / "my ledger.sqlite"
    write_run_summary(summary, Console(file=out, width=300), ledger=ledger)
    lines = out.getvalue().splitlines()
    assert lines[-3] == (
        "problems by code: 9 bad_timestamp, 3 missing_field, 3 bad_email, 2 http_500 "
        "(11 new in this run)"
    )
    quoted = shlex.quote(str(ledger))
    assert lines[-2] == (
        f"write the fix file: ae-import export --as-manifest --ledger {quoted} -o ae-import-fix.csv"
    )
    assert lines[-1].startswith(f"see every row: ae-import status --ledger {quoted} --html ")
