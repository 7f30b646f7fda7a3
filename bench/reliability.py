#!/usr/bin/env python3
"""Figures for docs/reliability.md: the kill loops and a fault mix, counted on the server side.

Usage: python bench/reliability.py [--quick]

Runs the same loops as tests/test_crash.py (and its slow variant), then prints a
markdown table: kills landed, requests the server answered, engagements created
(each exactly once), rows sent again after a kill (answered 200), and the checks.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ae_import.ledger import Ledger  # noqa: E402
from ae_import.sandbox import FaultPlan, FaultProxy, SandboxServer, SandboxSettings  # noqa: E402
from tests.helpers import SANDBOX_TOKEN  # noqa: E402
from tests.helpers.kills import finish_and_check, kill_loop, write_manifest  # noqa: E402


def loop(rows: int, kills: int, how: signal.Signals, faults: bool, seed: int) -> list[str]:
    """Run one kill loop; return its table cells."""
    with tempfile.TemporaryDirectory() as tmp:
        server = SandboxServer(SandboxSettings(token=SANDBOX_TOKEN, latency_ms=40))
        server.start()
        proxy = None
        base_url = server.base_url
        if faults:
            port = int(base_url.rsplit(":", 1)[1].split("/")[0])
            plan = FaultPlan(
                rates={"reset-after": 0.02, "create-500": 0.02, "reset-before": 0.02}, seed=seed
            )
            proxy = FaultProxy(("127.0.0.1", port), plan)
            base_url = proxy.start()
        started = time.monotonic()
        try:
            manifest, ledger = Path(tmp) / "m.csv", Path(tmp) / "l.sqlite"
            names = write_manifest(manifest, rows)
            kill_loop(manifest, ledger, base_url, how, kills, seed)
            finish_and_check(manifest, ledger, base_url, server, names)
            statuses = server.app.state.sandbox.statuses
            book = Ledger(ledger, None, create=False)
            counts = book.counts()
            runs = len(book.runs(10_000))
            book.close()
        finally:
            if proxy is not None:
                proxy.stop()
            server.stop()
        answered = sum(statuses.values())
        injected = sum(proxy.injected.values()) if proxy is not None else 0
        return [
            f"{how.name} x{kills}" + (" + faults" if faults else ""),
            f"{rows:,}",
            str(runs),
            f"{answered:,}",
            f"{statuses.get(201, 0):,}",
            f"{statuses.get(200, 0):,}",
            f"{injected:,}",
            f"{counts['created'] + counts['existing']:,} / {counts['pending']}",
            "ok",
            f"{time.monotonic() - started:.0f} s",
        ]


def main() -> None:
    """Run the loops and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the normal-suite loops")
    args = parser.parse_args()
    plans = [(1000, 10, signal.SIGKILL, False), (1000, 10, signal.SIGTERM, False)]
    if not args.quick:
        plans += [(5000, 50, signal.SIGKILL, True), (5000, 50, signal.SIGTERM, True)]
    header = [
        "loop",
        "rows",
        "runs",
        "requests answered",
        "created (201)",
        "sent again (200)",
        "faults injected",
        "done / pending",
        "integrity",
        "wall",
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for seed, (rows, kills, how, faults) in enumerate(plans, start=1):
        print("| " + " | ".join(loop(rows, kills, how, faults, seed)) + " |", flush=True)


if __name__ == "__main__":
    main()
