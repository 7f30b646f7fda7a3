"""The exception tree of ae-import.

Every error a user can cause ends here, carries a one-line message that names the
file, the line or key where known, and what to do, and maps to one exit code. Only
``cli.py`` turns them into output and exit codes.

::

    AeImportError                 exit 1  (base; never raised itself)
     +-- UsageError               exit 2  a command line, config or manifest that cannot be used
     |    +-- ConfigError         exit 2  the YAML mapping file: unreadable, bad YAML, unknown key
     |    +-- ManifestError       exit 2  the manifest: missing, undecodable, unknown format,
     |    |                               required columns absent
     |    +-- CloudError          exit 2  an s3://, gs:// or az:// reference cannot be signed:
     |                                    no library, no credentials, a bad cloud setting
     +-- LedgerError              exit 1  the ledger failed mid-run (disk full, I/O error)
     +-- RunStopped               exit 1  the run stopped itself: retry budget spent, TLS
     |                                    not trusted, a local limit (too many open files)
     +-- AuthError                exit 3  the server refused the token (401) or its scope (403)
     +-- LedgerBusyError          exit 4  the ledger is held by another run

``Terminated`` (a ``BaseException``, like ``KeyboardInterrupt``) is SIGTERM: exit 143;
Ctrl-C is 130. A closed stdout (``ae-import export | head``) ends quietly with 141, as
a Unix tool killed by SIGPIPE does. An ``OSError`` (a file that cannot be read or
written) is exit 2 with its file name. Anything else that escapes is a bug: one line,
exit 70 (``AE_IMPORT_DEBUG=1`` shows the traceback).

``exit_status`` is the one table from exception to exit code and message: every
command, and the runner when it records how a run ended, go through it.

Stop signals have two phases. From the first line of ``__main__`` until a command's
action starts, ``exit_at_once`` handles SIGTERM and SIGINT: nothing has been done yet,
so the process writes one line and ends (143, 130) at once. Raising there is not safe:
a signal that lands in an import can surface wrapped (a ``RuntimeError`` from a class
being built) or be swallowed by an import lock's callback. ``raise_on_stop`` then makes
them exceptions the command reports through the table; the run loop installs its own.

Problems with single rows are not exceptions: they are ``problems.Problem`` values,
reported per row, and never stop the rows around them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from types import FrameType

__all__ = [
    "EXIT_AUTH",
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_LEDGER_BUSY",
    "EXIT_OK",
    "EXIT_PIPE",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "EXIT_USAGE",
    "AeImportError",
    "AuthError",
    "CloudError",
    "ConfigError",
    "LedgerBusyError",
    "LedgerError",
    "ManifestError",
    "RunStopped",
    "Terminated",
    "UsageError",
    "error_code",
    "exit_at_once",
    "exit_status",
    "raise_on_stop",
]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_LEDGER_BUSY = 4
EXIT_INTERNAL = 70
EXIT_SIGINT = 130
EXIT_PIPE = 141
EXIT_SIGTERM = 143


class AeImportError(Exception):
    """Base of every error ae-import reports to a user."""

    code = "error"
    exit_code = EXIT_INVALID

    def __init__(self, message: str) -> None:
        """Keep the message on one line, whatever the caller passed."""
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        """The one-line message shown to the user."""
        return str(self.args[0])


class UsageError(AeImportError):
    """A command line, config or manifest that cannot be used at all."""

    code = "usage"
    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The YAML mapping file is unreadable, not YAML, or holds an unknown key or bad value."""

    code = "config"


class ManifestError(UsageError):
    """The manifest is missing, undecodable, of unknown format, or lacks required columns."""

    code = "manifest"


class CloudError(UsageError):
    """Signing cannot work: no library, no credentials, a bad cloud setting (exit 2).

    ``transient``: the credential service could not be reached (a connection or a
    timeout while fetching or refreshing credentials); a later attempt may sign.
    """

    code = "cloud"
    transient = False


class LedgerError(AeImportError):
    """The ledger failed while a run was using it (disk full, I/O error)."""

    code = "ledger"


class RunStopped(AeImportError):
    """The run stopped itself before the manifest was done (rows stay retryable)."""

    code = "stopped"


class AuthError(AeImportError):
    """The server refused the token (401) or its scope (403)."""

    code = "auth"
    exit_code = EXIT_AUTH


class LedgerBusyError(AeImportError):
    """Another run holds the ledger."""

    code = "ledger_busy"
    exit_code = EXIT_LEDGER_BUSY


class Terminated(BaseException):
    """SIGTERM arrived while no run loop was handling it (exit 143)."""

    exit_code = EXIT_SIGTERM


def _os_message(exc: BaseException) -> str:
    assert isinstance(exc, OSError)
    name = f"{exc.filename}: " if exc.filename else ""
    return f"{name}{exc.strerror or exc}"


def _internal(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (
        f"internal error: {type(exc).__name__}: {text} "
        "(a bug: please report it; AE_IMPORT_DEBUG=1 shows the traceback)"
    )


def _own(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


# The one table, most specific first: for each exception, the exit code, the error
# code that ``--json`` prints, and the line the user reads. An AeImportError brings
# its own exit code and error code (None here). BrokenPipeError precedes OSError.
_TABLE: tuple[
    tuple[type[BaseException], int | None, str | None, Callable[[BaseException], str]], ...
] = (
    (AeImportError, None, None, _own),
    (KeyboardInterrupt, EXIT_SIGINT, "interrupted", lambda e: _own(e) if e.args else "interrupted"),
    (
        Terminated,
        EXIT_SIGTERM,
        "terminated",
        lambda e: _own(e) if e.args else "terminated by SIGTERM",
    ),
    (BrokenPipeError, EXIT_PIPE, "broken_pipe", lambda e: "stdout was closed (broken pipe)"),
    (OSError, EXIT_USAGE, "os_error", _os_message),
    (BaseException, EXIT_INTERNAL, "internal", _internal),
)


def _row(exc: BaseException) -> tuple[int, str, str]:
    for kind, code, name, message in _TABLE:
        if isinstance(exc, kind):
            own_code = getattr(exc, "exit_code", EXIT_INVALID)
            own_name = getattr(exc, "code", "error")
            return (own_code if code is None else code), (name or own_name), message(exc)
    raise AssertionError("BaseException matches every exception")  # pragma: no cover


def exit_status(exc: BaseException) -> tuple[int, str]:
    """Return the exit code of ``exc`` and the one line that tells the user why."""
    code, _, message = _row(exc)
    return code, message


def error_code(exc: BaseException) -> str:
    """Return the short code ``--json`` prints for ``exc`` (usage, auth, ledger_busy...)."""
    return _row(exc)[1]


def exit_at_once(signum: int, frame: FrameType | None) -> None:
    """Start-up's handler of SIGTERM and SIGINT: say so in one line and exit (143, 130) now."""
    stopped = signum == signal.SIGTERM
    line = "terminated by SIGTERM" if stopped else "interrupted"
    os.write(2, f"ae-import: error: {line}\n".encode())
    os._exit(EXIT_SIGTERM if stopped else EXIT_SIGINT)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def raise_on_stop() -> None:
    """From now on SIGTERM raises Terminated and SIGINT KeyboardInterrupt (after start-up).

    Only where ``exit_at_once`` is installed (the ``ae-import`` process itself), so a
    command called in a test or a thread leaves its signal handlers alone.
    """
    for number, handler in (
        (signal.SIGTERM, _raise_terminated),
        (signal.SIGINT, signal.default_int_handler),
    ):
        if signal.getsignal(number) is exit_at_once:
            signal.signal(number, handler)
