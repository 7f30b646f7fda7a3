"""Work started for a row as it is queued, awaited by the worker that sends it.

The media check (``mediagate``) and staging (``stagegate``) both run ahead of the
send: the task starts when the row enters the queue, so it overlaps the rows before
it, and the row's worker awaits its result. Rows are keyed by identity (a repeated
``external_id`` is another row).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any, Generic, TypeVar

from ae_import.records import Row

__all__ = ["Ahead"]

T = TypeVar("T")


class Ahead(Generic[T]):
    """One task per queued row; its worker takes it; the rest are cancelled at the end."""

    def __init__(self) -> None:
        """Start with no task."""
        self._tasks: dict[int, asyncio.Task[T]] = {}

    def __contains__(self, row: Row) -> bool:
        """Tell whether a task was started for ``row`` and not taken yet."""
        return id(row) in self._tasks

    def start(self, row: Row, work: Coroutine[Any, Any, T]) -> None:
        """Start ``work`` for ``row`` now."""
        self._tasks[id(row)] = asyncio.ensure_future(work)

    def take(self, row: Row) -> asyncio.Task[T] | None:
        """Return the task started for ``row`` (None if none was) and forget it."""
        return self._tasks.pop(id(row), None)

    async def cancel(self) -> None:
        """Cancel the tasks of rows never sent and wait for them to end."""
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
