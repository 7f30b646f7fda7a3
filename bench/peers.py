"""Benchmark sections: peers on the same rows and server, a rate-limited server, dry-run scale."""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path

from common import ROOT, ae_import, best, run_argv, run_child, start_sandbox
from generate import generate

__all__ = ["dry_run_section", "peers_section"]


def _stats(url: str) -> dict[str, int]:
    """Return the sandbox's answers by status."""
    stats_url = url.rsplit("/api", 1)[0] + "/_sandbox/stats"
    with urllib.request.urlopen(stats_url) as answer:  # loopback only
        body = json.loads(answer.read())
    return {k: int(v) for k, v in body["responses"].items()}


def _waited(
    argv: list[str], env: dict[str, str], stdin: Path | None = None
) -> tuple[float, float, str]:
    """Run ``argv`` to the end; return wall seconds, CPU seconds (children included), stdout."""
    run = run_child(argv, env, stdin=stdin, capture=True)
    if run.code != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed")
    return run.seconds, run.cpu_s, run.out


def peers_section(requests: int, work: Path, concurrencies: tuple[int, ...]) -> list[str]:
    """Send the same rows to the same 100 ms server with ae-import, an httpx script and curl."""
    lines = ["## Peers: the same rows, the same server", ""]
    manifest = generate("api.jsonl", requests, work / "peers.jsonl")
    env = {**os.environ, "AE_API_TOKEN": "bench"}
    curl = (
        "xargs -P {c} -d '\\n' -I {{}} curl -s -o /dev/null -w '%{{http_code}}\\n' -X POST "
        "-H 'Authorization: Bearer bench' -H 'Content-Type: application/json' "
        "--data-raw {{}} {url}/v2/engagements"
    )
    lines += [
        f"{requests:,} JSONL rows to `ae-import sandbox --latency 100` (a fresh one per "
        "measure), at each concurrency C: `ae-import run --concurrency C` (ledger included); "
        "`bench/httpx_peer.py`, a plain script sharing one default `httpx.AsyncClient` with a "
        "semaphore of C, no ledger, no retries; and `xargs -P C curl` over the JSONL, one "
        "curl process per row. Rates over wall time, start-up included; CPU is user+system "
        "of the process and its children (wait4), per row.",
        "",
        "| C | client | rows/s | share of bound C/0.1 s | CPU ms/row | 2xx |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    clients: dict[str, Callable[[str, int, Path], list[str]]] = {
        "ae-import run": lambda url, c, ledger: run_argv(
            manifest, url, ledger, "--concurrency", str(c)
        ),
        "httpx script": lambda url, c, ledger: [
            sys.executable,
            str(ROOT / "bench" / "httpx_peer.py"),
            str(manifest),
            url,
            str(c),
        ],
        "xargs curl": lambda url, c, ledger: ["sh", "-c", curl.format(c=c, url=url)],
    }
    for concurrency in concurrencies:
        for name, build in clients.items():
            if name == "xargs curl" and shutil.which("curl") is None:
                continue
            proc, url = start_sandbox("--latency", "100")
            try:
                argv = build(url, concurrency, work / f"peer-{concurrency}.sqlite")
                stdin = manifest if name == "xargs curl" else None
                seconds, cpu, _out = _waited(argv, env, stdin)
                served = _stats(url)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            good = sum(v for k, v in served.items() if k.startswith("2"))
            lines.append(
                f"| {concurrency} | {name} | {requests / seconds:,.1f} | "
                f"{requests / seconds / (concurrency / 0.1):.1%} | "
                f"{cpu / requests * 1000:.2f} | {good:,} |"
            )
    return [*lines, ""]


def dry_run_section(sizes: list[int], work: Path, tries: int) -> list[str]:
    """Measure `run --dry-run` (read, map, validate, consult the ledger) at each size."""
    lines = [
        "## `run --dry-run`: rows per second and peak memory",
        "",
        f"API-named CSV, no ledger yet (every row would be sent), output to /dev/null. Best "
        f"of {tries}, start-up included.",
        "",
        "| rows | rows/s | peak RSS MB |",
        "|---:|---:|---:|",
    ]
    for rows in sizes:
        path = generate("api.csv", rows, work / f"dry-{rows}.csv")
        run = best(
            ae_import("run", str(path), "--dry-run", "--ledger", str(work / "none.sqlite")),
            tries,
        )
        lines.append(f"| {rows:,} | {rows / run.seconds:,.0f} | {run.rss_mb:.1f} |")
        path.unlink()
    return [*lines, ""]
