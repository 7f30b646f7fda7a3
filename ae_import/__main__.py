"""Entry point of ``ae-import`` and ``python -m ae_import``: stop signals handled from the start.

The handlers go in before the command line is even imported, so a SIGTERM (or Ctrl-C)
at any moment ends with exit 143 (130) and no traceback: while the commands are imported
and Typer builds the command line, the process ends at once (``errors.exit_at_once``);
once a command's action starts it raises instead (``errors.raise_on_stop``), and the run
loop installs its own handler while rows are in flight.
"""

from __future__ import annotations

import signal
import sys

from ae_import.errors import exit_at_once


def portable_streams() -> None:
    """Let stdout and stderr write any text, whatever the console's code page.

    A character the code page lacks (a Windows console or pipe in cp1252) becomes an
    escape, never a UnicodeEncodeError.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.encoding.lower().replace("-", "") != "utf8":
            reconfigure(errors="backslashreplace")


def main() -> None:
    """Make stop signals end the start-up at once, then run the command line."""
    signal.signal(signal.SIGTERM, exit_at_once)
    signal.signal(signal.SIGINT, exit_at_once)
    portable_streams()
    from ae_import import commands

    commands.main()


if __name__ == "__main__":
    main()
