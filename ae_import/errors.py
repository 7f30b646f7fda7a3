"""The exception tree of ae-import.

Every error a user can cause ends here, carries a one-line message that names the
file, the line or key where known, and what to do, and maps to one exit code. Only
``cli.py`` turns them into output and exit codes.

::

    AeImportError                 exit 1  (base; never raised itself)
     +-- UsageError               exit 2  a command line, config or manifest that cannot be used
     |    +-- ConfigError         exit 2  the YAML mapping file: unreadable, bad YAML, unknown key
     |    +-- ManifestError       exit 2  the manifest: missing, undecodable, unknown format,
     |                                    required columns absent
     +-- LedgerError              exit 1  the ledger failed mid-run (disk full, I/O error)
     +-- AuthError                exit 3  the server refused the token (401) or its scope (403)
     +-- LedgerBusyError          exit 4  the ledger is held by another run

``Terminated`` (a ``BaseException``, like ``KeyboardInterrupt``) is SIGTERM arriving
outside the run loop, at start-up or shut-down: exit 143, as inside the loop.

Anything else that escapes is a bug: ``cli.py`` prints it on one line and exits 70
(``AE_IMPORT_DEBUG=1`` shows the traceback).

Problems with single rows are not exceptions: they are ``validation.Problem`` values,
reported per row, and never stop the rows around them.
"""

from __future__ import annotations

__all__ = [
    "EXIT_AUTH",
    "EXIT_INTERNAL",
    "EXIT_INVALID",
    "EXIT_LEDGER_BUSY",
    "EXIT_OK",
    "EXIT_SIGINT",
    "EXIT_SIGTERM",
    "EXIT_USAGE",
    "AeImportError",
    "AuthError",
    "ConfigError",
    "LedgerBusyError",
    "LedgerError",
    "ManifestError",
    "Terminated",
    "UsageError",
]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_LEDGER_BUSY = 4
EXIT_INTERNAL = 70
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class AeImportError(Exception):
    """Base of every error ae-import reports to a user."""

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

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The YAML mapping file is unreadable, not YAML, or holds an unknown key or bad value."""


class ManifestError(UsageError):
    """The manifest is missing, undecodable, of unknown format, or lacks required columns."""


class LedgerError(AeImportError):
    """The ledger failed while a run was using it (disk full, I/O error)."""


class AuthError(AeImportError):
    """The server refused the token (401) or its scope (403)."""

    exit_code = EXIT_AUTH


class LedgerBusyError(AeImportError):
    """Another run holds the ledger."""

    exit_code = EXIT_LEDGER_BUSY


class Terminated(BaseException):
    """SIGTERM arrived while no run loop was handling it (exit 143)."""

    exit_code = EXIT_SIGTERM
