"""Stop signals during a run, on every platform: SIGINT and SIGTERM (and SIGBREAK on Windows).

``catch_stop_signals`` has the event loop call ``on_signal(name)`` when one arrives, in
the loop's thread, and returns a function that puts the previous handlers back.

- POSIX: ``loop.add_signal_handler`` (the loop wakes on the signal at once).
- Where the loop cannot add handlers (every Windows loop raises NotImplementedError),
  ``signal.signal`` installs a Python handler that hands the signal to the loop with
  ``call_soon_threadsafe``. On Windows, Ctrl+C is SIGINT and Ctrl+Break (or a console
  closing) is SIGBREAK, which stops a run as SIGTERM does (exit 143): no other process
  can send SIGTERM there.
- Off the main thread (a Python program that runs an import in a worker thread), no
  handler can be installed; the caller's own handling stays as it is.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

__all__ = ["catch_stop_signals", "stop_signals"]


def stop_signals() -> list[tuple[signal.Signals, str]]:
    """Return the signals that stop a run here, each with the name the run reports it by."""
    found = [(signal.SIGINT, "SIGINT"), (signal.SIGTERM, "SIGTERM")]
    brk = getattr(signal, "SIGBREAK", None)
    if brk is not None:  # Windows: Ctrl+Break, a console closing
        found.append((brk, "SIGTERM"))
    return found


def catch_stop_signals(
    loop: asyncio.AbstractEventLoop, on_signal: Callable[[str], None]
) -> Callable[[], None]:
    """Have ``loop`` call ``on_signal(name)`` on a stop signal; return what undoes it."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    wanted = stop_signals()
    previous = {number: signal.getsignal(number) for number, _ in wanted}
    added: list[signal.Signals] = []
    try:
        for number, name in wanted:
            loop.add_signal_handler(number, on_signal, name)
            added.append(number)
    except NotImplementedError:  # Windows: no loop can add signal handlers
        for number in added:
            loop.remove_signal_handler(number)
        return _python_handlers(loop, on_signal, wanted, previous)

    def restore() -> None:
        for number in added:
            loop.remove_signal_handler(number)
        _put_back(previous)

    return restore


def _python_handlers(
    loop: asyncio.AbstractEventLoop,
    on_signal: Callable[[str], None],
    wanted: list[tuple[signal.Signals, str]],
    previous: Mapping[signal.Signals, Any],
) -> Callable[[], None]:
    """Install ``signal.signal`` handlers that pass each signal on to the loop's thread."""
    for number, name in wanted:

        def handler(signum: int, frame: FrameType | None, name: str = name) -> None:
            loop.call_soon_threadsafe(on_signal, name)

        signal.signal(number, handler)
    return lambda: _put_back(previous)


def _put_back(previous: Mapping[signal.Signals, Any]) -> None:
    """Put the handlers there were before the run back (``__main__``'s SIGTERM handler)."""
    for number, handler in previous.items():
        if handler is not None:  # None: set outside Python, cannot be put back
            signal.signal(number, handler)
