"""The entry point: output that works on any console, and stop signals from the first line on."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import pytest

from ae_import.__main__ import portable_streams
from ae_import.errors import Terminated, exit_at_once, raise_on_stop


def test_a_console_without_the_characters_gets_escapes_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cp1252 stdout (Windows, piped): table lines and arrows become escapes, no exception."""
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", stdout)
    portable_streams()
    stdout.write("━╇ café →\n")
    stdout.flush()
    assert raw.getvalue() == "\\u2501\\u2547 café \\u2192\n".encode("cp1252")


@pytest.mark.parametrize(
    ("number", "code", "line"), [(15, 143, "terminated by SIGTERM"), (2, 130, "interrupted")]
)
def test_a_stop_during_start_up_ends_the_process_at_once(number: int, code: int, line: str) -> None:
    """The start-up handler writes one line and exits with the signal's code, nothing else."""
    script = f"from ae_import.errors import exit_at_once; exit_at_once({number}, None); print('on')"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (code, "", f"ae-import: error: {line}\n")


def test_once_a_command_starts_a_sigterm_raises_and_ctrl_c_interrupts() -> None:
    """raise_on_stop replaces the start-up handlers: SIGTERM raises Terminated where it lands."""
    before = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGINT)}
    try:
        signal.signal(signal.SIGTERM, exit_at_once)
        signal.signal(signal.SIGINT, exit_at_once)
        raise_on_stop()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with pytest.raises(Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def test_a_command_in_a_test_or_a_thread_leaves_the_handlers_alone() -> None:
    """Where start-up's handler is not installed, raise_on_stop changes nothing."""
    before = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGINT)}
    raise_on_stop()
    assert {n: signal.getsignal(n) for n in before} == before
