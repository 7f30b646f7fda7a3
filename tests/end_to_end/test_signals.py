"""`ae-import run` under SIGINT and SIGTERM: the documented exit codes, no row left pending."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ae_import.ledger.db import Ledger
from tests.helpers import SANDBOX_TOKEN, Sandboxes, posix_only
from tests.helpers.cli import HEADER

# Windows: Ctrl+C and Ctrl+Break reach the run loop through tests/operations/test_signals.py.
pytestmark = posix_only("SIGINT and SIGTERM sent to a child process")

# Waits on real processes and real time: run by scripts/check.py, not by plain pytest.
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_stops_cleanly_and_a_rerun_finishes(
    sandboxes: Sandboxes, tmp_path: Path, sent: signal.Signals, code: int
) -> None:
    """A signal mid-run exits 130/143 with nothing pending; a re-run imports the rest once."""
    server: Any = sandboxes.start(latency_ms=200)
    manifest = tmp_path / "m.csv"
    rows = "".join(f"CALL,t{n},crm,sig-{n},https://cdn.example.com/{n}.mp3\n" for n in range(200))
    manifest.write_text(HEADER + rows)
    ledger = tmp_path / "l.sqlite"
    argv = [
        sys.executable,
        "-m",
        "ae_import",
        "run",
        str(manifest),
        "--base-url",
        server.base_url,
        "--ledger",
        str(ledger),
        "--concurrency",
        "4",
        "--json",
    ]
    env = {**os.environ, "AE_API_TOKEN": SANDBOX_TOKEN}
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while server.store.count() < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sent)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    summary = json.loads(out)
    assert summary["stopped"] == "interrupted"
    assert 0 < summary["created"] < 200
    book = Ledger(ledger, server.base_url)
    assert book.counts()["pending"] == 0
    book.close()
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert server.store.count() == 200
    assert sorted(server.store.external_ids()) == sorted(f"sig-{n}" for n in range(200))


def test_sigterm_while_the_command_line_is_built_is_143_without_a_traceback() -> None:
    """SIGTERM at any early moment ends in 143 (or, before our code runs, the signal's death).

    Imports, Typer building the commands, reading the manifest: never a traceback. The
    moments are fractions of this machine's start-up time measured now, so a loaded machine
    moves them with it; the manifest is a pipe held open, so the process never ends before
    the signal, and a late enough signal is always ours to handle (143).
    """
    argv = [sys.executable, "-m", "ae_import", "run", "-", "--dry-run"]
    began = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "ae_import", "--version"], capture_output=True, check=True
    )
    startup = time.monotonic() - began

    def terminated_after(delay: float) -> int:
        """Start a run reading a pipe, SIGTERM it after ``delay`` s; return its exit code."""
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
        assert "Traceback" not in err
        return proc.returncode

    codes = [terminated_after(startup * step / 20) for step in range(25)]
    assert set(codes) <= {143, -signal.SIGTERM}
    delay = startup * 2
    while 143 not in codes and delay < 120:  # a loaded machine: wait longer, never fail by chance
        codes.append(terminated_after(delay))
        delay *= 2
    assert 143 in codes


def test_the_entry_point_ends_a_stopped_start_up_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM and SIGINT are start-up's exit-at-once handlers before the commands run."""
    import ae_import.__main__ as entry
    import ae_import.commands
    from ae_import.errors import exit_at_once

    seen: list[object] = []
    monkeypatch.setattr(
        ae_import.commands,
        "main",
        lambda: seen.extend(signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGINT)),
    )
    previous = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGINT)}
    try:
        entry.main()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    assert seen == [exit_at_once, exit_at_once]
