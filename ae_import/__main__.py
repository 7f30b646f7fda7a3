"""Entry point of ``ae-import`` and ``python -m ae_import``: SIGTERM is handled from the start.

The handler goes in before the command line is even imported, so a SIGTERM at any
moment from then on ends with exit 143 and no traceback: while the commands are imported,
while Typer builds the command line (before the commands' own error handling takes
over), and after. The run loop installs its own handler while rows are in flight.
"""

from __future__ import annotations

import signal
import sys

from ae_import.errors import EXIT_SIGINT, EXIT_SIGTERM, Terminated


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def stopped_by(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` is ``kind`` or was raised because of one.

    A signal handler's exception can surface wrapped: raised inside a class body being
    built, Python reports ``RuntimeError: Error calling __set_name__`` caused by it; raised
    inside a task group, it arrives in an exception group. So the cause, the context and a
    group's members are searched too (each exception once, so a cycle ends).
    """
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, kind):
            return True
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
    return False


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
    """Install the SIGTERM handler, then run the command line."""
    signal.signal(signal.SIGTERM, _terminated)
    portable_streams()
    try:
        from ae_import import commands

        commands.main()
    except SystemExit:
        raise
    except BaseException as exc:  # stopped while starting: nothing was done
        if stopped_by(exc, Terminated):
            sys.stderr.write("ae-import: error: terminated by SIGTERM\n")
            raise SystemExit(EXIT_SIGTERM) from None
        if stopped_by(exc, KeyboardInterrupt):
            sys.stderr.write("ae-import: error: interrupted\n")
            raise SystemExit(EXIT_SIGINT) from None
        raise


if __name__ == "__main__":
    main()
