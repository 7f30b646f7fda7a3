"""Crash safety: `ae-import run` killed at random moments, resumed, and nothing lost or doubled.

A sandbox with 100 ms latency runs in this process, so it outlives every kill, and the
import outlasts the ten kills whatever the machine's speed; each run is a real child
process. After the loop one last run finishes the job, then: ``PRAGMA integrity_check``
is ok, every row is created or existing, the server holds exactly the manifest's
engagements, each created once, and the ledger agrees with it.

The normal suite kills 10 times over 1,000 rows; ``pytest -m slow`` runs the long
loops (50 kills over 5,000 rows, through a proxy that also resets connections).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ae_import.ledger.db import Ledger
from ae_import.sandbox.faults import FaultPlan, FaultProxy

from .conftest import SANDBOX_TOKEN, Sandboxes
from .ledgerdb import integrity_ok, ledger_row

HEADER = "type,title,source_system,external_id,media_url\n"


def write_manifest(path: Path, rows: int) -> list[str]:
    """Write ``rows`` valid rows (presigned-looking URLs); return their external_ids."""
    names = [f"crash-{i:05d}" for i in range(rows)]
    with path.open("w") as out:
        out.write(HEADER)
        for name in names:
            out.write(f"CALL,Call {name},crm,{name},https://cdn.example.com/{name}.mp3?sig=S\n")
    return names


def start_run(manifest: Path, ledger: Path, base_url: str) -> subprocess.Popen[bytes]:
    """Start `ae-import run` as a child process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ae_import",
            "run",
            str(manifest),
            "--base-url",
            base_url,
            "--ledger",
            str(ledger),
            "--concurrency",
            "8",
            "--quiet",
        ],
        env={**os.environ, "AE_API_TOKEN": SANDBOX_TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def kill_loop(
    manifest: Path, ledger: Path, base_url: str, how: signal.Signals, kills: int, seed: int
) -> list[int]:
    """Start runs and send ``how`` at random moments until ``kills`` landed; return exit codes."""
    rng = random.Random(seed)
    codes: list[int] = []
    landed = 0
    for _ in range(kills * 3):
        if landed == kills:
            break
        proc = start_run(manifest, ledger, base_url)
        time.sleep(rng.uniform(0.15, 1.2))
        if proc.poll() is None:
            proc.send_signal(how)
            landed += 1
        _, err = proc.communicate(timeout=120)
        codes.append(proc.returncode)
        assert b"Traceback" not in err
        if how == signal.SIGTERM and ledger.exists():
            check = Ledger(ledger, None, create=False)
            try:
                assert check.counts()["pending"] == 0, "SIGTERM must leave no row pending"
            finally:
                check.close()
    assert landed == kills, f"only {landed} of {kills} signals landed before the import ended"
    return codes


def finish_and_check(
    manifest: Path, ledger: Path, base_url: str, server: Any, names: list[str]
) -> None:
    """Run once more to the end; check the ledger and the server agree, row for row."""
    final = start_run(manifest, ledger, base_url)
    _, err = final.communicate(timeout=300)
    assert final.returncode == 0, err.decode()
    book = Ledger(ledger, None, create=False)
    try:
        assert integrity_ok(book)
        counts = book.counts()
        assert counts["created"] + counts["existing"] == len(names)
        assert sum(counts.values()) == len(names)
        store = server.store
        assert sorted(store.external_ids()) == names
        assert server.app.state.sandbox.statuses.get(201, 0) == len(names)  # each created once
        for name in (names[0], names[len(names) // 2], names[-1]):
            entry = ledger_row(book, name)
            assert entry is not None
            assert entry["engagement_id"] == store.get(name)["id"]
    finally:
        book.close()


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """Ten SIGKILLs at random moments over 1,000 rows: every row created exactly once."""
    server = sandboxes.start(latency_ms=100)
    manifest, ledger = tmp_path / "m.csv", tmp_path / "l.sqlite"
    names = write_manifest(manifest, 1000)
    codes = kill_loop(manifest, ledger, server.base_url, signal.SIGKILL, 10, seed=1)
    assert codes.count(-signal.SIGKILL) == 10
    finish_and_check(manifest, ledger, server.base_url, server, names)


@pytest.mark.slow
def test_sigterm_at_random_moments_leaves_nothing_pending(
    sandboxes: Sandboxes, tmp_path: Path
) -> None:
    """Ten SIGTERMs over 1,000 rows: each run exits 143 with no row pending; nothing lost."""
    server = sandboxes.start(latency_ms=100)
    manifest, ledger = tmp_path / "m.csv", tmp_path / "l.sqlite"
    names = write_manifest(manifest, 1000)
    codes = kill_loop(manifest, ledger, server.base_url, signal.SIGTERM, 10, seed=2)
    assert set(codes) <= {143, 0}
    assert codes.count(143) == 10
    finish_and_check(manifest, ledger, server.base_url, server, names)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_long_kill_loop_through_network_faults(
    sandboxes: Sandboxes, tmp_path: Path, how: signal.Signals
) -> None:
    """Fifty signals over 5,000 rows, through resets and create-then-500: still exactly once."""
    server = sandboxes.start(latency_ms=30)
    port = int(server.base_url.rsplit(":", 1)[1].split("/")[0])
    plan = FaultPlan(rates={"reset-after": 0.02, "create-500": 0.02, "reset-before": 0.02}, seed=9)
    with FaultProxy(("127.0.0.1", port), plan) as proxy:
        manifest, ledger = tmp_path / "m.csv", tmp_path / "l.sqlite"
        names = write_manifest(manifest, 5000)
        kill_loop(manifest, ledger, proxy.base_url, how, 50, seed=3)
        finish_and_check(manifest, ledger, proxy.base_url, server, names)
