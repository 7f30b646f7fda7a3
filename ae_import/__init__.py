"""ae-import: bulk importer of call and meeting recordings into AskElephant."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
