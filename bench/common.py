"""Helpers shared by the benchmark sections: child processes, timings, the sandbox, hey."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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


# Peak RSS comes from the child's own wait4, but Linux counts into ru_maxrss the memory of
# the process the child was forked from, up to its exec. subprocess starts children with
# vfork, so every figure read from the bench's own wait4 was at least the bench's own RSS
# (after writing a 1M-row workbook: 576 MB, for a validate that held 60 MB). A small
# launcher forks the child instead and reports the child's usage and wall time.
_LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, use = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(sys.argv[1], "w") as out:
    code = os.waitstatus_to_exitcode(status)
    out.write(f"{seconds} {use.ru_utime + use.ru_stime} {use.ru_maxrss} {code}")
"""


# Children keep their bytecode, as an installed package does (pip compiles on install):
# without it every child compiled ae_import again (0.2 s of each run, with the
# PYTHONDONTWRITEBYTECODE that this machine sets). A private folder of this bench run.
_PYCACHE = tempfile.mkdtemp(prefix="ae-import-bench-pycache-")
atexit.register(shutil.rmtree, _PYCACHE, ignore_errors=True)


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """Return ``env`` (or this process's) with the bench's bytecode cache switched on."""
    found = dict(os.environ if env is None else env)
    found.pop("PYTHONDONTWRITEBYTECODE", None)
    found["PYTHONPYCACHEPREFIX"] = _PYCACHE
    return found


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, CPU seconds, peak RSS in MB, exit code, stdout."""

    seconds: float
    rss_mb: float
    code: int
    cpu_s: float = 0.0
    out: str = ""


def run_child(
    argv: list[str],
    env: dict[str, str] | None = None,
    *,
    stdin: Path | None = None,
    capture: bool = False,
    merge_stderr: bool = False,
    cwd: Path | None = None,
) -> Run:
    """Run ``argv`` to completion; return its wall and CPU time, its own peak RSS, its stdout.

    CPU time and RSS include the child's own children. Without ``capture`` its output is
    discarded; its stderr too, unless ``merge_stderr`` joins it to the captured output.
    """
    with tempfile.TemporaryDirectory() as tmp, open(stdin or os.devnull, "rb") as source:
        report = Path(tmp) / "usage"
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(report), *argv],
            env=child_env(env),
            cwd=cwd,
            stdin=source,
            stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.DEVNULL,
            text=True,
        )
        out, _ = proc.communicate()
        if proc.returncode != 0 or not report.exists():
            raise SystemExit(f"the bench's launcher failed running {argv[:3]}")
        seconds, cpu, rss_kb, code = report.read_text().split()
    return Run(float(seconds), int(rss_kb) / 1024, int(code), float(cpu), out or "")


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
    return min((run_child(argv) for _ in range(tries)), key=lambda run: run.seconds)


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
    run = run_child(argv, env, capture=True)
    if check and run.code != 0:
        raise SystemExit(f"{' '.join(argv)} failed")
    return run.seconds, run.cpu_s, json.loads(run.out)


def best_floor(path: Path, tries: int) -> float:
    """Return the best time of the stdlib read floor over ``path``."""
    return best([sys.executable, "-c", FLOOR, str(path)], tries).seconds


def median_ms(argv: list[str], repeat: int) -> float:
    """Return the median wall time of ``repeat`` runs of ``argv``, in milliseconds."""
    return statistics.median(run_child(argv).seconds for _ in range(repeat)) * 1000
