"""ae-import: bulk importer of call and meeting recordings into AskElephant."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("ae-import")  # written once, in pyproject.toml
except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
    __version__ = "0+unknown"
