"""Work started ahead for queued rows: taken by the row's worker, cancelled when never sent."""

from __future__ import annotations

import asyncio

from ae_import.records import Row
from ae_import.sending.ahead import Ahead


def test_each_row_takes_its_own_task_once() -> None:
    """Rows are told apart by identity, even with equal contents; a task is taken once."""

    async def go() -> tuple[int, int, bool, object]:
        ahead: Ahead[int] = Ahead()
        first, second = Row(line=1, fields={}), Row(line=1, fields={})
        ahead.start(first, asyncio.sleep(0, 1))
        ahead.start(second, asyncio.sleep(0, 2))
        one, two = ahead.take(first), ahead.take(second)
        assert one is not None and two is not None
        return await one, await two, first in ahead, ahead.take(first)

    assert asyncio.run(go()) == (1, 2, False, None)


def test_tasks_never_taken_are_cancelled_and_awaited() -> None:
    """cancel() ends the work of rows never sent; nothing is left running."""

    async def go() -> tuple[bool, bool]:
        ahead: Ahead[None] = Ahead()
        ended = asyncio.Event()

        async def forever() -> None:
            try:
                await asyncio.sleep(3600)
            finally:
                ended.set()

        row = Row(line=1, fields={})
        ahead.start(row, forever())
        await asyncio.sleep(0)
        await ahead.cancel()
        return ended.is_set(), row in ahead

    assert asyncio.run(go()) == (True, False)
