"""Entry point of ``ae-import`` and ``python -m ae_import``: SIGTERM is handled from the start.

The handler goes in before the command line is even imported, so a SIGTERM at any
moment ends with exit 143 and no traceback; ``commands.main`` says so on stderr once it
is loaded, and the run loop installs its own handler while rows are in flight.
"""

from __future__ import annotations

import signal

from ae_import.errors import EXIT_SIGTERM, Terminated


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    """Install the SIGTERM handler, then run the command line."""
    signal.signal(signal.SIGTERM, _terminated)
    try:
        from ae_import import commands
    except Terminated:
        raise SystemExit(EXIT_SIGTERM) from None  # stopped while starting: nothing was done
    commands.main()


if __name__ == "__main__":
    main()
