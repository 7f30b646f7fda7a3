"""``ae-import init``: a commented mapping file guessed from an export it has not seen.

It samples the manifest through the one reader (``reading.read_sample``), guesses each
field by what the values mean, and writes YAML that it reads back before keeping it.
"""

from __future__ import annotations

from .core import CHECK_ROWS, Checked, check_mapping, mapping_text, run_init

__all__ = ["CHECK_ROWS", "Checked", "check_mapping", "mapping_text", "run_init"]
