#!/usr/bin/env python3
"""Goodput against every limiter shape at 20/s: the issue 23 table, beside a fixed pacer.

Usage: python bench/ratelimit.py [--rows 600] [--forms seconds,date,0,none] [--out FILE]
                                [--limiters burst 1,window] [--no-reference]
                                [--pace-share 1.0]

For each limiter of ``ae-import sandbox`` (token bucket with burst 20, 5 and 1; a fixed
window and a sliding window of 20 a second; 2 requests in flight, which is 20/s at the
sandbox's 100 ms) and each form of ``Retry-After`` (whole seconds, an HTTP-date, 0, left
out), ``ae-import run`` with default settings sends ROWS rows to a fresh sandbox. Goodput
is rows created per second of the run's own clock (first row read to last answer), as a
share of the limit; the 429 share is counted by the sandbox.

The reference row of each limiter is a fixed pacer at exactly the limit: a plain httpx
script that sends one request every 50 ms on a fixed schedule, and puts a refused row
back in line once its Retry-After has passed. It shows what a client that knows the
limit exactly can get through, with the sandbox's latency and this machine's timing.
``--pace-share 0.97`` paces it at that share of the limit instead (one request every
51.5 ms): where a strict limiter refuses jittered arrivals at the limit itself, what
a client that knows the limit and keeps a margin gets.
Runs take about ROWS/20 seconds each (30 s at 600 rows): 30 runs, about 16 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import urllib.request
from collections import deque
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import run_argv, start_sandbox, target, timed_run
from generate import generate

LIMIT = 20.0  # requests a second, for every shape
LIMITERS: dict[str, list[str]] = {
    "token bucket, burst 20": ["--rate", "20/s", "--burst", "20"],
    "token bucket, burst 5": ["--rate", "20/s", "--burst", "5"],
    "token bucket, burst 1": ["--rate", "20/s", "--burst", "1"],
    "fixed window, 20 per second": ["--rate", "20/s", "--limiter", "fixed-window"],
    "sliding window, 20 in any second": ["--rate", "20/s", "--limiter", "sliding-window"],
    "2 in flight (20/s at 100 ms)": ["--max-in-flight", "2"],
}
FORMS = {"seconds": "Retry-After: 1 (seconds)", "date": "HTTP-date", "0": "0", "none": "absent"}


def served(url: str) -> dict[str, int]:
    """Return the sandbox's count of answers by status."""
    stats = url.removesuffix("/api") + "/_sandbox/stats"
    with urllib.request.urlopen(stats, timeout=10) as answer:
        counts: dict[str, int] = json.load(answer)["responses"]
    return counts


def one_run(shape: list[str], form: str, rows: int, work: Path) -> dict[str, float]:
    """Run `ae-import run` against one limiter; return goodput, 429 share, rows left."""
    manifest = generate("api.csv", rows, work / f"limited-{rows}.csv")
    env = {**os.environ, "AE_API_TOKEN": "bench"}
    proc, url = start_sandbox("--latency", "100", "--retry-after", form, *shape)
    ledger = work / "limited.sqlite"
    ledger.unlink(missing_ok=True)
    try:
        _seconds, _cpu, summary = timed_run(run_argv(manifest, url, ledger), env, check=False)
        counts = served(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    answered = sum(counts.values())
    return {
        "goodput": summary["created"] / summary["duration_s"] / LIMIT,
        "refused": counts.get("429", 0) / answered,
        "left": rows - summary["created"] - summary["existing"],
        "retryable": summary["retryable"],
    }


async def _pace(url: str, rows: int, share: float = 1.0) -> tuple[float, int, int]:
    """Send ``rows`` rows at ``share`` x LIMIT a second on a fixed schedule; retry refusals."""
    ready: deque[int] = deque(range(rows))
    waiting: list[tuple[float, int]] = []  # (not before, row) refused rows
    created = refused = 0
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(
        headers={"Authorization": "Bearer bench"}, timeout=30.0, limits=httpx.Limits()
    ) as client:

        async def send(n: int) -> None:
            nonlocal created, refused
            body = {
                "type": "CALL",
                "title": f"t{n}",
                "source_system": "bench",
                "external_id": f"pace-{n}",
                "media_url": f"https://cdn.example.com/{n}.mp3",
                "run_workflows": False,
            }
            answer = await client.post(f"{url}/v2/engagements", json=body)
            if answer.status_code == 429:
                refused += 1
                value = answer.headers.get("retry-after")
                wait = float(value) if value and value.isdigit() else 0.0
                if value and not value.isdigit():
                    import email.utils

                    when = email.utils.parsedate_to_datetime(value).timestamp()
                    wait = max(0.0, when - time.time())
                waiting.append((loop.time() + wait, n))
            else:
                created += 1

        start = loop.time()
        tick = 0
        while created < rows:
            now = loop.time()
            for item in sorted(waiting):
                if item[0] <= now:
                    waiting.remove(item)
                    ready.appendleft(item[1])
            if ready:
                task = asyncio.create_task(send(ready.popleft()))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            tick += 1
            await asyncio.sleep(max(0.0, start + tick / (LIMIT * share) - loop.time()))
            if not ready and not waiting and not tasks:
                break
        await asyncio.gather(*tasks)
        return loop.time() - start, created, refused


def reference(shape: list[str], rows: int, share: float = 1.0) -> dict[str, float]:
    """Run the fixed pacer at ``share`` of the limit against one limiter (Retry-After in s)."""
    proc, url = start_sandbox("--latency", "100", *shape)
    try:
        seconds, created, refused = asyncio.run(_pace(url, rows, share))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"goodput": created / seconds / LIMIT, "refused": refused / (created + refused)}


def ratelimit_section(
    rows: int,
    forms: list[str],
    work: Path,
    chosen: list[str] | None = None,
    references: bool = True,
    share: float = 1.0,
) -> list[str]:
    """Return the markdown section of the rate-limited runs, recording each target.

    ``chosen``: only the limiters whose name holds one of these words (a subset to rerun);
    ``references``: also run the fixed pacer beside each limiter, at ``share`` of the limit.
    """
    lines = [
        "## Rate-limited servers: goodput at the limit, whatever its shape",
        "",
        f"{rows:,} rows, `ae-import run` with default settings (concurrency 8, no `--rate`) "
        "against `ae-import sandbox --latency 100` behind each limiter at 20 requests a "
        "second, with each form of `Retry-After`. Goodput: rows created per second of the "
        "run's own clock, as a share of 20/s. 429 share: of all answers, counted by the "
        "sandbox. Targets (issue 23): goodput >= 0.95, 429s <= 2%, every row created. "
        "Reference: a fixed pacer at exactly 20/s (`bench/ratelimit.py`, one request every "
        "50 ms on a schedule, refused rows retried after their `Retry-After`), what a "
        "client that knows the limit gets through on this machine.",
        "",
        "| limiter | Retry-After | goodput | 429 share | rows left | met |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, shape in LIMITERS.items():
        if chosen and not any(word in name for word in chosen):
            continue
        for form in forms:
            got = one_run(shape, form, rows, work)
            met = got["goodput"] >= 0.95 and got["refused"] <= 0.02 and got["left"] == 0
            target(
                f"{name}, Retry-After {FORMS[form]}",
                f"{got['goodput']:.3f}, {got['refused']:.1%} 429",
                ">= 0.95, <= 2%",
                met,
            )
            lines.append(
                f"| {name} | {FORMS[form]} | {got['goodput']:.3f} | {got['refused']:.1%} | "
                f"{got['left']:.0f} | {'yes' if met else '**no**'} |"
            )
            print(lines[-1], flush=True)
        if not references:
            continue
        ref = reference(shape, rows, share)
        paced = "exactly 20/s" if share == 1.0 else f"{LIMIT * share:g}/s ({share:g} of 20/s)"
        lines.append(
            f"| reference: fixed pacer at {paced} | seconds | {ref['goodput']:.3f} | "
            f"{ref['refused']:.1%} | 0 | |"
        )
        print(lines[-1], flush=True)
    return [*lines, ""]


def main() -> None:
    """Run the table and print it (or write it to --out)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--forms", default=",".join(FORMS))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--limiters", default="", help="words of limiter names, comma-separated")
    parser.add_argument("--no-reference", action="store_true", help="skip the fixed pacer")
    parser.add_argument("--pace-share", type=float, default=1.0, help="the fixed pacer's rate")
    args = parser.parse_args()
    chosen = [word for word in args.limiters.split(",") if word]
    with tempfile.TemporaryDirectory(prefix="ae-bench-") as folder:
        lines = ratelimit_section(
            args.rows,
            args.forms.split(","),
            Path(folder),
            chosen,
            not args.no_reference,
            args.pace_share,
        )
    text = "\n".join(lines)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
