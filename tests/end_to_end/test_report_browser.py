"""The morning report in a real headless Chromium, made from three runs through faults.

Three runs go through a sandbox that answers 429 past 15 requests a second and 500/503
now and then, with invalid rows in each manifest. ``status --html`` writes the page; the
browser renders it with no console message and no request, and every number the charts
and tables hold is the ledger's, read here with plain sqlite3.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.helpers import Sandboxes
from tests.helpers.browser import chromium, render
from tests.helpers.cli import HEADER, invoke, line

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium() is None, reason="no chromium on PATH (apt-get install chromium)"),
]
BAD = "CALL,,crm,bad-{n},https://cdn.example.com/t.mp3\n"  # no title: invalid


class _Data(HTMLParser):
    """Collects the data- attributes of every element, by its class."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, list[dict[str, str]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        data = {k[5:]: v for k, v in values.items() if k.startswith("data-")}
        if data:
            for name in values.get("class", tag).split():
                self.found.setdefault(name, []).append(data)


# An id that is markup: shown as text, it loads nothing; read as HTML it would ask for a URL.
HOSTILE = BAD.format(n="<img src=//127.0.0.1:9/x.png onerror=console.error(1)>")


def _manifest(path: Path, prefix: str, rows: int, bad: int, hostile: str = "") -> Path:
    text = HEADER + "".join(line(f"{prefix}{n}") for n in range(rows)) + hostile
    path.write_text(text + "".join(BAD.format(n=f"{prefix}{n}") for n in range(bad)))
    return path


def _ledger(path: Path) -> dict[str, Any]:
    """Read what the page should show, straight from the ledger file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        runs = {i: json.loads(c) for i, c in db.execute("SELECT id, counts FROM runs")}
        last = max(runs)
        minutes = [
            dict(zip(("minute", "sent", "created", "retries", "rate-limited"), r, strict=True))
            for r in db.execute(
                "SELECT minute, sent, created, retries, rate_limited FROM run_minutes"
                " WHERE run_id = ? ORDER BY minute",
                (last,),
            )
        ]
        problems = {
            (s, c or "(no code)"): n
            for s, c, n in db.execute(
                "SELECT status, error_code, count(*) FROM rows WHERE status IN"
                " ('failed', 'invalid', 'retryable') GROUP BY status, error_code"
            )
        }
        statuses = dict(db.execute("SELECT status, count(*) FROM rows GROUP BY status"))
        all_429 = db.execute("SELECT sum(rate_limited) FROM run_minutes").fetchone()[0]
    return {
        "runs": runs,
        "minutes": minutes,
        "problems": problems,
        "statuses": statuses,
        "429s": all_429,
    }


def test_report_renders_offline_and_holds_the_ledgers_numbers(
    runner: CliRunner, cwd: Path, tmp_path: Path
) -> None:
    """Three faulty runs; the page renders with no console message and no request; numbers match."""
    sandboxes = Sandboxes()
    try:
        server = sandboxes.start(rate=15.0, burst=5.0, fail_rate=0.15, seed=5)
        first = _manifest(cwd / "night1.csv", "a", 60, 3, HOSTILE)
        second = _manifest(cwd / "night2.csv", "b", 40, 2)
        base = ["--base-url", server.base_url, "--concurrency", "6", "--max-attempts", "2"]
        for manifest in (first, first, second):
            done = invoke(runner, ["run", str(manifest), *base])
            assert done.exit_code in (0, 1), done.output
    finally:
        sandboxes.stop_all()
    ledger = cwd / "ae-import-ledger.sqlite"
    page = tmp_path / "report.html"
    made = invoke(runner, ["status", "--html", str(page)], token=None)
    assert made.exit_code == 0, made.output
    shot = tmp_path / "report.png"
    shown = render(page, tmp_path / "browser", screenshot=shot)
    assert shown.console == []
    assert shown.requests == []
    assert "bad-&lt;img src=//127.0.0.1:9/x.png" in shown.dom  # the hostile id, as text
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    truth = _ledger(ledger)
    assert truth["429s"] > 0  # the faults did happen
    dom = _Data()
    dom.feed(shown.dom)
    bars = {
        (int(g["run"]), seg["outcome"]): int(seg["count"])
        for g, seg in zip(
            [g for g in dom.found["run"] for _ in range(7)], dom.found["seg"], strict=True
        )
    }
    for run_id, counts in truth["runs"].items():
        for outcome in ("created", "existing", "skipped", "failed", "invalid", "retryable"):
            assert bars[(run_id, outcome)] == int(counts.get(outcome, 0)), (run_id, outcome)
    minutes = [
        {key: int(m[key]) for key in ("minute", "sent", "created", "retries", "rate-limited")}
        for m in dom.found["minute"]
    ]
    assert minutes == truth["minutes"]
    problems = {(p["status"], p["code"]): int(p["count"]) for p in dom.found["problem"]}
    assert problems == truth["problems"]
    tiles = {t["status"]: int(t["count"]) for t in dom.found["tile"]}
    for status, count in truth["statuses"].items():
        assert tiles[status] == count
