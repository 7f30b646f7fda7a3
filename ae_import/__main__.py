"""Run the command line as ``python -m ae_import``."""

from __future__ import annotations

from .cli import main

main()
