"""Kill loops: a run started as a real process, killed at random moments, then checked whole."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ae_import.ledger.db import Ledger
from tests.helpers import SANDBOX_TOKEN
from tests.helpers.cli import HEADER
from tests.helpers.ledgerdb import integrity_ok, ledger_row


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


def _wait_for_the_run(ledger: Path, proc: subprocess.Popen[bytes], limit: float = 60.0) -> bool:
    """Wait until ``proc`` has recorded its run in the ledger; False if it ended first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and proc.poll() is None:
        if ledger.exists():
            with contextlib.suppress(sqlite3.Error):
                db = sqlite3.connect(f"{ledger.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
                try:
                    found = db.execute("SELECT 1 FROM runs WHERE pid = ?", (proc.pid,)).fetchone()
                finally:
                    db.close()
                if found:
                    return True
        time.sleep(0.02)
    return proc.poll() is None


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
        # A signal lands at a random moment of the run itself: counted from when the run
        # recorded its start, not from the launch (a loaded machine starts Python slowly).
        if _wait_for_the_run(ledger, proc):
            time.sleep(rng.uniform(0.0, 1.0))
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
