"""Reading: a manifest's bytes to ``Row`` records, one way for every command.

``open_manifest`` opens any manifest (CSV, TSV, JSONL; ``.gz``; stdin) as a stream of
``Row``s with their line numbers, in the encoding its ``manifest:`` section names or
``auto`` finds; ``read_sample`` gives ``init`` the first rows as that same reader reads them.
"""

from __future__ import annotations

from .count import count_lines
from .files import FileRefusal, read_referenced, resolve_referenced
from .manifest import (
    EXPORT_ERROR_COLUMN,
    FORMATS,
    MAX_RECORD_BYTES,
    Manifest,
    ReadingConfig,
    detect_format,
    escape_formula,
    open_manifest,
    unescape_formula,
)
from .sample import Sample, read_sample

__all__ = [
    "EXPORT_ERROR_COLUMN",
    "FORMATS",
    "MAX_RECORD_BYTES",
    "FileRefusal",
    "Manifest",
    "ReadingConfig",
    "Sample",
    "count_lines",
    "detect_format",
    "escape_formula",
    "open_manifest",
    "read_referenced",
    "read_sample",
    "resolve_referenced",
    "unescape_formula",
]
