"""Helpers shared by the benchmark sections: child processes, timings, the sandbox, hey."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# measure -> (figure, target, met?): filled by the sections, shown first in the report.
TARGETS: dict[str, tuple[str, str, bool]] = {}


def target(measure: str, figure: str, goal: str, met: bool) -> None:
    """Record one figure against its target for the summary table."""
    TARGETS[measure] = (figure, goal, met)


def summary_lines() -> list[str]:
    """Return the summary table of every figure that has a target."""
    lines = [
        "## Against the targets",
        "",
        "| measure | figure | target | met |",
        "|---|---:|---:|---|",
    ]
    for measure, (figure, goal, met) in TARGETS.items():
        lines.append(f"| {measure} | {figure} | {goal} | {'yes' if met else '**no**'} |")
    return [*lines, ""]


# The floor: the same file read and parsed by the stdlib alone, no mapping or checks.
FLOOR = """
import csv, json, sys
path = sys.argv[1]
n = 0
with open(path, newline="", encoding="utf-8") as f:
    if path.endswith(".jsonl"):
        for line in f:
            json.loads(line); n += 1
    else:
        for row in csv.reader(f):
            n += 1
"""


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, peak RSS in MB, exit code."""

    seconds: float
    rss_mb: float
    code: int


def measure(argv: list[str]) -> Run:
    """Run ``argv`` to completion, its output discarded; return its time and peak RSS."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(seconds, usage.ru_maxrss / 1024, proc.returncode)


def ae_import(*args: str) -> list[str]:
    """Return the argv that runs ae-import with this interpreter."""
    return [sys.executable, "-m", "ae_import", *args]


def run_argv(manifest: Path, url: str, ledger: Path, *extra: str) -> list[str]:
    """Return the argv of `ae-import run MANIFEST --base-url URL --ledger LEDGER --json ...`."""
    return ae_import(
        "run", str(manifest), "--base-url", url, "--ledger", str(ledger), "--json", *extra
    )


def best(argv: list[str], tries: int) -> Run:
    """Run ``argv`` ``tries`` times; return the fastest run (this machine's noise is +-20%)."""
    return min((measure(argv) for _ in range(tries)), key=lambda run: run.seconds)


def start_sandbox(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `ae-import sandbox` on a free port; return the process and its base URL."""
    proc = subprocess.Popen(
        ae_import("sandbox", "--port", "0", "--token", "bench", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip().rsplit(" ", 1)[-1]
    return proc, url


def hey(url: str, requests: int, concurrency: int, body: Path) -> float:
    """Run hey against ``url``; return its requests per second."""
    out = subprocess.run(
        [
            "hey",
            "-n",
            str(requests),
            "-c",
            str(concurrency),
            "-m",
            "POST",
            "-H",
            "Authorization: Bearer bench",
            "-T",
            "application/json",
            "-D",
            str(body),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for line in out.splitlines():
        if "Requests/sec" in line:
            return float(line.split()[-1])
    raise RuntimeError(f"hey printed no rate: {out[:200]}")


def timed_run(
    argv: list[str], env: dict[str, str], check: bool = True
) -> tuple[float, float, dict[str, Any]]:
    """Run ``argv`` (an `ae-import run --json`); return wall seconds, CPU seconds, its summary.

    ``check``: a run that exits other than 0 ends the bench (else its summary is returned).
    """
    start = time.perf_counter()
    child = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert child.stdout is not None
    out = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    if check and os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return seconds, usage.ru_utime + usage.ru_stime, json.loads(out)


def best_floor(path: Path, tries: int) -> float:
    """Return the best time of the stdlib read floor over ``path``."""
    return best([sys.executable, "-c", FLOOR, str(path)], tries).seconds


def median_ms(argv: list[str], repeat: int) -> float:
    """Return the median wall time of ``repeat`` runs of ``argv``, in milliseconds."""
    return statistics.median(measure(argv).seconds for _ in range(repeat)) * 1000
