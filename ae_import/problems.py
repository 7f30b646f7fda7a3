"""A problem with one field of one row: what the readers, the mapper and the validator report.

Pure, and low in the stack: readers and the pipeline import it without the validator.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with one field of one row: ``code`` is stable, ``message`` says what to do."""

    field: str
    code: str
    message: str
    column: str | None = None
