"""Parquet manifests (the optional extra ``ae-import[parquet]``): rows streamed by row group.

pyarrow reads one row group at a time (``iter_batches``), so memory holds one group,
never the file. Each row becomes a record like a JSONL object: nested structs are
objects, lists are arrays; timestamps become ISO 8601 text (with their offset when the
column has a zone, else read in the mapping's zone like any naive timestamp), decimals
exact text, binary as UTF-8 text (or hex). A record's ``line`` is its row number.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ae_import.errors import ManifestError
from ae_import.records import Row
from ae_import.text import safe_text

__all__ = ["INSTALL", "ParquetRows", "plain"]

INSTALL = "pip install 'ae-import[parquet]'"
_BATCH = 8192  # rows handed over at a time (within one row group)


def plain(value: Any) -> Any:
    """Return a Parquet value as JSON would hold it: text for times, decimals and bytes."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.tzinfo is None else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(i, tuple) and len(i) == 2 for i in value):  # a map
            return {str(k): plain(v) for k, v in value}
        return [plain(i) for i in value]
    return str(value)


class ParquetRows:
    """The rows of a Parquet file, one ``Row`` each, read one row group at a time."""

    def __init__(self, name: str, path: Path) -> None:
        """Open the file's footer (its schema and row groups); no row is read yet."""
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ManifestError(
                f"{name}: Parquet needs pyarrow, which is not installed: {INSTALL}"
            ) from None
        self.name = name
        try:
            self._file = pq.ParquetFile(str(path))
        except Exception as exc:
            raise self._unreadable(exc) from None
        self.columns = tuple(self._file.schema_arrow.names)

    def _unreadable(self, exc: BaseException) -> ManifestError:
        """Say the file cannot be read as Parquet, why, and what to do."""
        text = str(exc).strip()
        why = safe_text(text.splitlines()[0] if text else type(exc).__name__)[:200]
        return ManifestError(
            f"{self.name}: Parquet: cannot read the file ({why}); is it whole? "
            "Write it again, or export CSV or JSONL"
        )

    def __iter__(self) -> Iterator[Row]:
        """Yield every row in file order, its line the row's number from 1."""
        number = 0
        batches = self._file.iter_batches(batch_size=_BATCH)
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:
                raise self._unreadable(exc) from None
            if batch is None:
                return
            for record in batch.to_pylist():
                number += 1
                yield Row(number, {str(k): plain(v) for k, v in record.items()})

    def close(self) -> None:
        """Close the file."""
        self._file.close()
