"""The first rows of a manifest as ``validate`` reads them, for ``init`` to guess a mapping from.

``read_sample`` is a loop over ``open_manifest``, the reader of every command: the same
format rule, encoding, title lines, delimiter and record limits, so ``init`` samples
exactly the rows ``validate`` reads. JSONL, JSON and Parquet records are flattened to dotted paths
(``metaData.id``); a list of objects is kept whole under its path (for
``participants.items``) and its first item's fields are also given as ``path[0].key``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ae_import.errors import ManifestError

from .opening import NESTED_FORMATS, open_manifest

__all__ = ["SAMPLE_ROWS", "Sample", "flatten", "read_sample"]

SAMPLE_ROWS = 200
_MAX_DEPTH = 32  # levels of nesting flattened; deeper objects are kept whole


@dataclass
class Sample:
    """The first rows of a manifest and how they were read."""

    name: str
    format: str
    encoding: str = "utf-8"  # the codec, as manifest: encoding: names it
    encoding_reason: str = ""
    delimiter: str | None = None
    delimiter_reason: str = ""
    sep_line: bool = False
    skip_lines: int = 0
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    unreadable: int = 0  # sampled records that could not be read (bad JSON, not an object)
    sheet: str | None = None  # a workbook's sheet that was read
    records: str | None = None  # where a JSON document's records are ('' the top level)
    records_note: str = ""  # which array of a wrapping object was taken, and the others
    _values: dict[str, list[Any]] = field(default_factory=dict, repr=False, compare=False)
    _counted: int = field(default=-1, repr=False, compare=False)

    def values(self, column: str) -> list[Any]:
        """Return the present values of ``column`` in the sampled rows (empty cells left out).

        Kept per column once the rows are all read: init asks each column many times.
        """
        kept = self._values.get(column)
        if kept is not None and self._counted == len(self.rows):
            return list(kept)
        found = []
        for row in self.rows:
            value = row.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            found.append(value.strip() if isinstance(value, str) else value)
        if self._counted != len(self.rows):
            self._values.clear()
            self._counted = len(self.rows)
        self._values[column] = found
        return list(found)


def flatten(
    value: dict[str, Any], prefix: str = "", out: dict[str, Any] | None = None, depth: int = 0
) -> dict[str, Any]:
    """Flatten a JSON object to dotted paths; lists of objects stay whole, plus ``[0]`` paths."""
    flat: dict[str, Any] = {} if out is None else out
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict) and depth < _MAX_DEPTH:
            flatten(item, path + ".", flat, depth + 1)
        elif isinstance(item, list):
            flat[path] = item
            if item and isinstance(item[0], dict) and depth < _MAX_DEPTH:
                flatten(item[0], path + "[0].", flat, depth + 1)
            elif item and not isinstance(item[0], list | dict):
                flat[path + "[0]"] = item[0]
        else:
            flat[path] = item
    return flat


def read_sample(name: str, forced_format: str | None = None, limit: int = SAMPLE_ROWS) -> Sample:
    """Read the first ``limit`` records of manifest ``name`` and say how they were read."""
    with open_manifest(name, forced_format) as manifest:
        sample = Sample(name=name, format=manifest.format)
        seen: dict[str, None] = dict.fromkeys(manifest.columns or ())
        for row in manifest:
            if len(sample.rows) >= limit:
                break
            if row.problems:
                sample.unreadable += 1
                continue
            nested = manifest.format in NESTED_FORMATS
            fields = flatten(row.fields) if nested else row.fields
            seen.update(dict.fromkeys(fields))
            sample.rows.append(fields)
        sample.encoding, sample.encoding_reason = manifest.codec, manifest.encoding_reason
        if manifest.layout is not None:
            sample.delimiter = manifest.layout.delimiter
            sample.delimiter_reason = manifest.layout.delimiter_reason
            sample.skip_lines = manifest.layout.skip_lines
            sample.sep_line = manifest.sep_line
        if manifest.format == "excel":
            sample.sheet, sample.skip_lines = manifest.sheet, manifest.title_rows
        sample.records, sample.records_note = manifest.records_path, manifest.records_note
    if not sample.rows and manifest.format == "jsonl":
        raise ManifestError(f"{name}: no JSON object in its first lines; is it JSONL?")
    if not sample.rows and manifest.format == "json":
        raise ManifestError(
            f"{name}: JSON: no object among its first records; a JSON manifest is an array "
            "of objects, one per record"
        )
    sample.columns = [c for c in seen if c]
    return sample
