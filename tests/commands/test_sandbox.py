"""CLI tests of `ae-import sandbox`: start-up lines, a request, clean stop, busy port.

A child process where signals and the blocking server are the point; in-process otherwise.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from typer.testing import CliRunner

from tests.helpers import posix_only
from tests.helpers.cli import invoke

BODY = {
    "type": "CALL",
    "title": "t",
    "source_system": "s",
    "external_id": "cli:1",
    "media_url": "https://cdn.example.com/a.mp3?X-Amz-Signature=secret",
    "run_workflows": False,
}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Hold a listening socket on 127.0.0.1 and yield its port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def start(*args: str) -> subprocess.Popen[str]:
    """Start `ae-import sandbox` with ``args`` as a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "ae_import", "sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@posix_only("SIGINT and SIGTERM sent to a child process")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_sandbox_prints_url_and_token_serves_and_stops_cleanly(stop: signal.Signals) -> None:
    """It prints its base URL and token, logs a line per request, and stops on a signal."""
    proc = start("--port", "0", "--token", "cli-token")
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("sandbox listening on http://127.0.0.1:")
        assert first.endswith("/api")
        assert proc.stdout.readline() == "token: cli-token\n"
        url = first.rsplit(" ", 1)[1]
        answer = httpx.post(
            f"{url}/v2/engagements", json=BODY, headers={"Authorization": "Bearer cli-token"}
        )
        assert answer.status_code == 201
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert " POST /api/v2/engagements 201 " in err
    assert "external_id=cli:1" in err
    assert err.rstrip().endswith("sandbox stopped")
    assert "secret" not in err + out
    assert "Traceback" not in err


def test_busy_port_is_one_line_exit_2(runner: CliRunner, busy_port: int) -> None:
    """A port already in use is exit 2 with one line that says what to do."""
    result = invoke(runner, ["sandbox", "--port", str(busy_port)])
    err = result.stderr
    assert result.exit_code == 2
    assert result.stdout == ""
    assert err.startswith(f"ae-import: error: cannot listen on 127.0.0.1:{busy_port}: ")
    assert err.endswith("; pick another --port\n")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--rate", "fast"],
            "ae-import: error: --rate: 'fast' is not a rate; write it as 5/s, 300/m or 5000/12h\n",
        ),
        (
            ["--retry-after", "never"],
            "ae-import: error: --retry-after takes one of seconds, date, 0, none\n",
        ),
        (
            ["--limiter", "leaky"],
            "ae-import: error: --limiter takes one of token-bucket, fixed-window, sliding-window\n",
        ),
        (["--reject-media", "("], "ae-import: error: --reject-media: not a regular expression: "),
    ],
)
def test_bad_sandbox_options_exit_2(runner: CliRunner, args: list[str], message: str) -> None:
    """Bad option values are exit 2 with one line, before anything listens."""
    result = invoke(runner, ["sandbox", "--port", "0", *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1


@posix_only("SIGTERM sent to a child process")
def test_sandbox_with_faults_answers_through_the_proxy() -> None:
    """--fault 503=1 puts the fault proxy in front: every POST gets 503; it still stops cleanly."""
    proc = start("--port", "0", "--token", "cli-token", "--fault", "503=1")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip().rsplit(" ", 1)[1]
        assert proc.stdout.readline() == "token: cli-token\n"
        answer = httpx.post(
            f"{url}/v2/engagements", json=BODY, headers={"Authorization": "Bearer cli-token"}
        )
        assert answer.status_code == 503
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "injecting faults: 503=1\n" in err
    assert err.endswith("sandbox stopped\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "boom=0.1"], "--fault: 'boom' is not a fault; use one of 500, 503, 429"),
        (["--fault", "503=0.7", "--fault", "500=0.7"], "--fault: the probabilities add up to"),
    ],
)
def test_sandbox_bad_fault_exits_2(runner: CliRunner, args: list[str], message: str) -> None:
    """A bad --fault is one line, exit 2."""
    result = invoke(runner, ["sandbox", "--port", "0", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"ae-import: error: {message}")
    assert result.stderr.count("\n") == 1
