"""Reading: a manifest's bytes to ``Row`` records, one way for every command.

``open_manifest`` opens any manifest (CSV, TSV, JSONL, a JSON array, an Excel or
OpenDocument workbook, Parquet; ``.gz``; a ``.zip`` holding one; stdin) as a stream of
``Row``s with their line numbers, in the encoding its ``manifest:`` section names or
``auto`` finds; ``read_sample`` gives ``init`` the first rows as that same reader reads them.
"""

from __future__ import annotations

from .count import count_lines
from .files import FileRefusal, read_referenced, resolve_referenced
from .manifest import (
    EXPORT_ERROR_COLUMN,
    MAX_RECORD_BYTES,
    Manifest,
    ReadingConfig,
    escape_formula,
    unescape_formula,
)
from .opening import (
    FORMAT_NAMES,
    FORMATS,
    NESTED_FORMATS,
    detect_format,
    manifest_stem,
    open_manifest,
)
from .sample import Sample, read_sample

__all__ = [
    "EXPORT_ERROR_COLUMN",
    "FORMATS",
    "FORMAT_NAMES",
    "MAX_RECORD_BYTES",
    "NESTED_FORMATS",
    "FileRefusal",
    "Manifest",
    "ReadingConfig",
    "Sample",
    "count_lines",
    "detect_format",
    "escape_formula",
    "manifest_stem",
    "open_manifest",
    "read_referenced",
    "read_sample",
    "resolve_referenced",
    "unescape_formula",
]
