"""The installed version, read from the package metadata (written once, in pyproject.toml)."""

from __future__ import annotations

from functools import cache

__all__ = ["version"]


@cache
def version() -> str:
    """Return the installed version of ae-import (read on first use)."""
    # Measured: importing importlib.metadata and finding the distribution takes 40 ms,
    # a tenth of a small `validate`'s start-up; only the commands that show it pay.
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("ae-import")
    except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
        return "0+unknown"
