"""The progress bar in a pseudo-terminal tells the truth: rows done of rows to send.

A 400-row import against a sandbox that answers after 150 ms runs in a real pty (stderr a
terminal, so rich draws the bar). At every redraw, the percentage shown is within 5 points
of the rows done it shows over the 400 rows to send, from the first redraw to the last.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.helpers import SANDBOX_TOKEN, Sandboxes, posix_only
from tests.helpers.cli import HEADER, line

pytestmark = [pytest.mark.slow, posix_only("a pseudo-terminal")]
ROWS = 400
SHOWN = re.compile(r"(\d[\d,]*) of (?:about )?(\d[\d,]*) rows done \((\d+)%\)")


def _in_a_pty(args: list[str], cwd: Path) -> str:
    """Run ``args`` with a 250-column pty as stdout and stderr; return all it wrote."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
    env = {**os.environ, "AE_API_TOKEN": SANDBOX_TOKEN, "TERM": "xterm", "COLUMNS": "250"}
    process = subprocess.Popen(
        args, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_the_bar_shows_rows_done_of_rows_to_send(tmp_path: Path) -> None:
    """At each redraw of a 400-row run, the percentage is within 5 points of done / 400."""
    manifest = tmp_path / "m.csv"
    manifest.write_text(HEADER + "".join(line(f"r{n}") for n in range(ROWS)))
    sandboxes = Sandboxes()
    try:
        server = sandboxes.start(latency_ms=150.0)
        screen = _in_a_pty(
            [
                sys.executable,
                "-m",
                "ae_import",
                "run",
                str(manifest),
                "--base-url",
                server.base_url,
                "--concurrency",
                "8",
            ],
            tmp_path,
        )
    finally:
        sandboxes.stop_all()
    checks = [(int(d.replace(",", "")), int(p)) for d, _, p in SHOWN.findall(screen)]
    assert len(checks) >= 20, screen[-2000:]
    assert any(10 <= percent <= 90 for _, percent in checks)  # seen mid-run, not only at ends
    for done, percent in checks:
        assert abs(percent - 100 * done / ROWS) <= 5, (done, percent)
    assert "400 │ created" in screen
