"""sqlite3's errors as one line that names the ledger file (``translated``)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from ae_import.errors import LedgerError

__all__ = ["translated"]

P = ParamSpec("P")
T = TypeVar("T")


class _Named(Protocol):
    path: Path


S = TypeVar("S", bound=_Named)


def translated(method: Callable[Concatenate[S, P], T]) -> Callable[Concatenate[S, P], T]:
    """Turn sqlite3's errors into a one-line LedgerError that names the file."""

    @functools.wraps(method)
    def call(self: S, /, *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise LedgerError(
                f"{self.path}: the ledger failed: {exc}; free disk space or fix the file, "
                "then re-run (done rows are kept)"
            ) from None

    return call
