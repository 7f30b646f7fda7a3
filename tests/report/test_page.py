"""Tests of the morning report's data and page: numbers from the ledger, escaping, no network."""

from __future__ import annotations

import re
from pathlib import Path

from ae_import.ledger import Ledger, Minute
from ae_import.report import fix_command, gather_report, render_html

RUN = {"pid": 1, "host": "h", "version": "0", "manifest": "m.csv"}
HOSTILE = '<script>alert("x")</script>\u202e'


def _ledger(path: Path) -> Ledger:
    """Return a ledger with two runs, a series, invalid and failed rows (one id hostile)."""
    ledger = Ledger(path, "https://api.example.com/api")
    first = ledger.start_run(RUN)
    ledger.end_run(first, {"created": 5, "invalid": 2}, 1, None)
    second = ledger.start_run(RUN)
    ledger.end_run(second, {"created": 3, "skipped": 5, "failed": 1}, 1, None)
    ledger.add_minutes(
        second,
        [
            Minute(0, "2026-01-01T02:00:00Z", sent=4, created=3, retries=1, rate_limited=1),
            Minute(1, "2026-01-01T02:01:00Z", sent=1, failed=1, paused_s=12.5, pace=0.7),
        ],
    )
    ledger.record_invalid(HOSTILE, "m.csv", 3, "fp1", "bad_timestamp", f"start_at: {HOSTILE}")
    ledger.record_invalid("b", "m.csv", 4, "fp2", "bad_timestamp", "start_at: bad")
    ledger.record_invalid("c", "m.csv", 5, "fp3", "missing_field", "title: is required")
    ledger.mark_pending([], "m.csv")
    return ledger


def test_the_report_holds_the_ledgers_numbers(tmp_path: Path) -> None:
    """Runs, minutes, problems by code and the backlog on the page are the ledger's."""
    path = tmp_path / "l.sqlite"
    _ledger(path).close()
    report = gather_report([path])
    assert [run.counts["created"] for run in report.runs] == [5, 3]
    assert [(p["status"], p["code"], p["count"]) for p in report.problems] == [
        ("invalid", "bad_timestamp", 2),
        ("invalid", "missing_field", 1),
    ]
    assert report.rate_per_min == 2.0  # (3 + 1) rows finished over 2 busy minutes
    page = render_html(report)
    assert re.findall(r'data-outcome="created" data-count="(\d+)"', page) == ["5", "3"]
    assert re.findall(r'class="minute" data-minute="(\d+)" data-sent="(\d+)"', page) == [
        ("0", "4"),
        ("1", "1"),
    ]
    assert 'data-paused-s="12.500"' in page
    assert 'data-code="bad_timestamp" data-count="2"' in page
    assert fix_command(str(path.resolve())).replace("'", "&#x27;") in page


def test_every_text_from_the_ledger_is_escaped_and_nothing_is_fetched(tmp_path: Path) -> None:
    """A hostile external_id is shown as text, no markup or bidi override; CSP forbids fetching."""
    path = tmp_path / "l.sqlite"
    _ledger(path).close()
    page = render_html(gather_report([path]))
    assert "<script" not in page
    assert "\u202e" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;\\u202e" in page
    assert "default-src 'none'" in page
    assert not re.search(r"(?:src|href)=", page)  # nothing to load, nothing to follow


def test_several_ledgers_merge_into_one_report(tmp_path: Path) -> None:
    """Two shards' ledgers: their runs side by side, problems and counts added up."""
    paths = [tmp_path / "a.sqlite", tmp_path / "b.sqlite"]
    for path in paths:
        _ledger(path).close()
    report = gather_report(paths)
    assert len(report.runs) == 4
    assert report.counts["invalid"] == 6
    assert [(p["code"], p["count"]) for p in report.problems] == [
        ("bad_timestamp", 4),
        ("missing_field", 2),
    ]
    assert all(len(p["examples"]) <= 3 for p in report.problems)
    page = render_html(report)
    assert page.count("Write the fix file:") == 2  # one command per ledger
