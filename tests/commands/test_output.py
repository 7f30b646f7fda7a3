"""Tests of run output: plain progress lines on a fake clock, the bar, the summary."""

from __future__ import annotations

import io

from rich.console import Console

from ae_import.commands.output import RunReporter, write_run_summary
from ae_import.records import Row
from ae_import.sending.summary import Summary

ROW = Row(2, {}, external_id="a", body={})


def test_plain_mode_prints_a_line_every_ten_seconds() -> None:
    """Off a terminal, a progress line goes to stderr at most every 10 s, with counts."""
    now = [0.0]
    err = io.StringIO()
    reporter = RunReporter(
        "plain", Console(file=err, width=200), Console(file=io.StringIO()), clock=lambda: now[0]
    )
    reporter.attach(lambda: (500, 1000))
    summary = Summary(total=40, created=30, failed=2)
    for step in range(25):
        now[0] = step
        reporter("row", summary, ROW, "created")
    lines = err.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0] == "ae-import: 32 of about 80 rows done (40%), 3.2 rows/s: 30 created, 2 failed"


def test_quiet_mode_prints_nothing() -> None:
    """--quiet prints no progress at all."""
    err = io.StringIO()
    reporter = RunReporter(
        "quiet", Console(file=err), Console(file=io.StringIO()), clock=lambda: 1e9
    )
    reporter("row", Summary(total=1, created=1), ROW, "created")
    assert err.getvalue() == ""


def test_tty_mode_draws_a_bar_and_takes_it_away() -> None:
    """On a terminal the bar shows rows done and counts, and is removed at the end."""
    now = [0.0]
    err = io.StringIO()
    console = Console(file=err, force_terminal=True, width=160)
    reporter = RunReporter("tty", console, Console(file=io.StringIO()), clock=lambda: now[0])
    reporter.attach(lambda: (1000, 1000))
    summary = Summary(total=10, created=4)
    now[0] = 1.0
    reporter("row", summary, ROW, "created")
    reporter.close()
    text = err.getvalue()
    assert "importing" in text
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


def test_progress_off_a_terminal_never_says_100_percent_with_rows_to_go() -> None:
    """The whole manifest read, 48 of 100 rows done: the line says 48%, not 100%."""
    [last] = _plain_lines([(1000, 1000, 100, 48)])
    assert last.startswith("ae-import: 48 of 100 rows done (48%)")


def test_progress_share_never_goes_backwards() -> None:
    """A larger estimate later (long rows at the end) does not take the share back."""
    lines = _plain_lines([(500, 1000, 100, 61), (600, 1000, 150, 62), (1000, 1000, 250, 250)])
    shares = [int(line.split("(")[1].split("%")[0]) for line in lines]
    assert shares == sorted(shares)
    assert shares[-1] == 100


def _plain_lines(steps: list[tuple[int, int, int, int]]) -> list[str]:
    """Feed (read bytes, size, rows read, rows finished) to a plain reporter; return its lines."""
    import io

    from rich.console import Console

    from ae_import.commands.output import PLAIN_EVERY_S, RunReporter
    from ae_import.sending.summary import Summary

    now = [0.0]
    err = io.StringIO()
    reporter = RunReporter(
        "plain", Console(file=err, width=200), Console(file=io.StringIO()), clock=lambda: now[0]
    )
    position = [(0, 1)]
    reporter.attach(lambda: position[0])
    for read, size, total, finished in steps:
        position[0] = (read, size)
        now[0] += PLAIN_EVERY_S
        reporter("row", Summary(total=total, created=finished), None, "created")
    return err.getvalue().splitlines()
