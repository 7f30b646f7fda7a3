"""Stop signals during a run: the loop's handlers on POSIX, the fallback where it has none."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from typing import Any

import pytest

from ae_import.operations.signals import catch_stop_signals, stop_signals
from tests.helpers import posix_only


def _no_loop_handlers(*args: Any) -> None:
    """Refuse as every Windows event loop does."""
    raise NotImplementedError


@posix_only("os.kill sends the signal to this process")
@pytest.mark.parametrize("windows", [False, True])
def test_a_signal_reaches_the_loop_in_its_thread(
    windows: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM calls on_signal('SIGTERM') in the loop's thread, with or without loop handlers."""

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        if windows:
            monkeypatch.setattr(loop, "add_signal_handler", _no_loop_handlers)
        seen: list[str] = []
        arrived = asyncio.Event()

        def on_signal(name: str) -> None:
            assert threading.current_thread() is threading.main_thread()
            seen.append(name)
            arrived.set()

        restore = catch_stop_signals(loop, on_signal)
        try:
            loop.call_later(0.01, os.kill, os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(arrived.wait(), 10)
        finally:
            restore()
        return seen

    before = signal.getsignal(signal.SIGTERM)
    assert asyncio.run(main()) == ["SIGTERM"]
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


def test_the_fallback_hands_ctrl_break_on_as_sigterm(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows (faked), SIGBREAK stops a run as SIGTERM does; handlers go back after."""
    fake_break = signal.SIGUSR1 if hasattr(signal, "SIGUSR1") else signal.SIGABRT
    monkeypatch.setattr(signal, "SIGBREAK", fake_break, raising=False)
    assert (fake_break, "SIGTERM") in stop_signals()

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "add_signal_handler", _no_loop_handlers)
        seen: list[str] = []
        restore = catch_stop_signals(loop, seen.append)
        handler = signal.getsignal(fake_break)
        assert callable(handler)
        handler(fake_break, None)  # what the interpreter does when Ctrl+Break arrives
        await asyncio.sleep(0)
        restore()
        return seen

    before = signal.getsignal(fake_break)
    assert asyncio.run(main()) == ["SIGTERM"]
    assert signal.getsignal(fake_break) == before


def test_off_the_main_thread_nothing_is_installed() -> None:
    """A run started in a worker thread (the Python API in an orchestrator) leaves signals alone."""
    before = signal.getsignal(signal.SIGINT)
    found: list[object] = []

    def worker() -> None:
        loop = asyncio.new_event_loop()
        try:
            restore = catch_stop_signals(loop, print)
            found.append(signal.getsignal(signal.SIGINT))
            restore()
        finally:
            loop.close()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert found == [before]
