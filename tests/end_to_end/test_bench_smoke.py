"""A smoke-size run of the benchmarks, so that bench/ cannot rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

# Waits on real processes and real time: run by scripts/check.py, not by plain pytest.
pytestmark = pytest.mark.slow


def test_bench_runs_at_smoke_size(tmp_path: Path) -> None:
    """bench/bench.py runs end to end on tiny inputs and writes every section."""
    out = tmp_path / "bench.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench.py"),
            "--sizes",
            "50,100",
            "--repeat",
            "1",
            "--tries",
            "1",
            "--requests",
            "200",
            "--resume-rows",
            "300",
            "--limited-rows",
            "30",
            "--retry-after",
            "seconds",  # one form of the four: the smoke checks the table, not the controller
            "--peers",
            "8",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=900,  # a guard against a hang, not a speed check: a loaded CI box took 300 s
    )
    report = out.read_text(encoding="utf-8")
    assert "## `validate`: rows per second and peak memory" in report
    assert "| crm.csv | 100 |" in report
    assert "| api.jsonl | 50 |" in report
    assert "## Sandbox under load" in report
    assert "| 50 |" in report
    assert "| `ae-import run` re-run, 300 rows |" in report
    assert "| 0 |" in report
    assert "| 8 | ae-import run |" in report
    assert "| 8 | httpx script |" in report
    assert "| 8 | xargs curl |" in report
    assert "## Rate-limited servers: goodput at the limit, whatever its shape" in report
    section = report.split("## Rate-limited servers", 1)[1].split("\n## ", 1)[0]
    cells = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| limiter")
    ]
    runs = [row for row in cells if not row[0].startswith("reference")]
    assert len(runs) == 6, runs  # 6 limiters x the one form of Retry-After asked for
    assert all(row[4] == "0" for row in runs), runs  # every row created
    assert "## `run --dry-run`: rows per second and peak memory" in report
    assert "## Startup" in report
    assert "`ae-import --help`" in report


def test_against_runs_at_smoke_size(tmp_path: Path) -> None:
    """bench/against.py measures two checkouts (here this one twice) and writes its table."""
    out = tmp_path / "against.md"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "against.py"), "--root", str(ROOT),
         "--rows", "50", "--resume-rows", "40", "--requests", "30", "--tries", "1",
         "--out", str(out)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == f"| measure | this checkout | `{ROOT.name}` | stdlib floor |"
    measures = [line.split(" | ")[0] for line in lines[2:]]
    assert measures == [
        "| `validate` crm.csv, 50 rows",
        "| `validate` api.csv, 50 rows",
        "| `validate` api.jsonl, 50 rows",
        "| resume of 40 done rows",
        "| client CPU of `run` at c=50, 30 rows",
    ]
