"""How long ``status --html`` takes on a large ledger, and its peak memory.

Builds a ledger of ``--rows`` rows (95% created, 3% invalid under ten codes, 1% failed,
1% retryable) with ``--runs`` runs of eight hours each (480 minutes of series), then
times ``ae-import status --html`` in a child process, best of ``--tries``.

    python bench/report.py --rows 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ae_import, run_child

from ae_import.ledger import Ledger

CODES = [f"code_{n}" for n in range(10)]


def build(path: Path, rows: int, runs: int) -> None:
    """Write a ledger of ``rows`` rows and ``runs`` runs with their per-minute series."""
    Ledger(path, "https://api.example.com/api").close()  # the schema, by its migrations
    with contextlib.closing(sqlite3.connect(path)) as db, db:

        def row(n: int) -> tuple[object, ...]:
            kind = n % 100
            status = (
                "created"
                if kind < 95
                else "invalid"
                if kind < 98
                else ("failed" if kind == 98 else "retryable")
            )
            code = None if status == "created" else CODES[n % 10]
            detail = None if code is None else f"field: problem {n}"
            return (f"id-{n}", status, "m.csv", n + 2, code, detail, "2026-01-01T00:00:00Z")

        db.executemany(
            "INSERT INTO rows (external_id, status, manifest, line, error_code, error_detail,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?7)",
            (row(n) for n in range(rows)),
        )
        for run in range(1, runs + 1):
            counts = {"created": rows // runs, "invalid": rows // runs // 30}
            db.execute(
                "INSERT INTO runs (id, started_at, ended_at, pid, host, version, manifest,"
                " arguments, counts, exit_code) VALUES (?, ?, ?, 1, 'h', '0', 'm.csv', '[]',"
                " ?, 1)",
                (
                    run,
                    f"2026-01-{run:02d}T02:00:00Z",
                    f"2026-01-{run:02d}T10:00:00Z",
                    json.dumps(counts),
                ),
            )
            db.executemany(
                "INSERT INTO run_minutes (run_id, minute, started_at, sent, created, retries,"
                " rate_limited, paused_s) VALUES (?, ?, '2026-01-01T02:00:00Z', 80, 75, 5,"
                " ?, ?)",
                ((run, m, m % 7 == 0, 20.0 if m % 7 == 0 else 0.0) for m in range(480)),
            )


def main() -> None:
    """Build the ledger, time status --html on it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--tries", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.sqlite"
        build(ledger, args.rows, args.runs)
        page = Path(tmp) / "report.html"
        plain = ae_import("status", "--ledger", str(ledger))
        for name, argv in (("status", plain), ("status --html", [*plain, "--html", str(page)])):
            wall, cpu, rss = min(_measure(argv) for _ in range(args.tries))
            print(
                f"{name}, {args.rows:,} rows, {args.runs} runs: {wall:.2f} s wall, "
                f"{cpu:.2f} s CPU, peak {rss:.0f} MB"
            )
        print(f"page: {page.stat().st_size / 1024:.0f} KB")


def _measure(argv: list[str]) -> tuple[float, float, float]:
    """Run ``argv``; return wall seconds, CPU seconds and peak RSS in MB."""
    run = run_child(argv)
    assert run.code == 0
    return run.seconds, run.cpu_s, run.rss_mb


if __name__ == "__main__":
    main()
