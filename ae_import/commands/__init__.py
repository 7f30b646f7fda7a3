"""The ``ae-import`` command line: one module per command, each a thin layer over its core.

A command parses its options, calls its core in ``operations`` (or ``init``, or the
sandbox), and prints what comes back through ``output``; ``common`` holds the app, the
one-line error reporting and the declared options every command shares.
"""

from __future__ import annotations

from . import dismiss, doctor, export, init, run, sandbox, stage, status, validate
from .common import app

__all__ = ["app", "main"]

# The order --help lists them in: the main job, the checks, then the ledger's tools.
_ORDER = (validate, run, stage, doctor, init, status, export, dismiss, sandbox)
app.registered_commands.sort(
    key=lambda info: [m.__name__ for m in _ORDER].index(getattr(info.callback, "__module__", ""))
)


def main() -> None:
    """Run the command line (``__main__.main`` installs the SIGTERM handler first)."""
    app()
