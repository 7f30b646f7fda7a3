"""``run --check-media``: each row's media check starts as it is queued; its worker awaits it.

The check itself is ``media.MediaCheck``; this gate ties it to the run: a row whose
media fails is recorded invalid and not sent, and a signing failure stops the run.
"""

from __future__ import annotations

from collections.abc import Callable

from ae_import.errors import CloudError
from ae_import.media import Found, MediaCheck, refuse
from ae_import.records import Row

from .ahead import Ahead
from .policy import Outcome
from .recorder import Recorder

__all__ = ["MediaGate"]


class MediaGate:
    """``run --check-media``: each row's check starts as it is queued; its worker awaits it."""

    def __init__(self, check: MediaCheck) -> None:
        """Gate rows through ``check``."""
        self.check = check
        self._pending: Ahead[Found] = Ahead()

    def start(self, row: Row) -> None:
        """Start checking a row about to be queued."""
        media = row.media_url
        if media is not None:
            self._pending.start(row, self.check.check(media))

    async def refused(
        self,
        row: Row,
        books: Recorder,
        invalid: Callable[[Row], None],
        stop: Callable[[str, str], None],
    ) -> bool:
        """Wait for a row's check; when it failed, record the row invalid and return True.

        A signing failure stops the run (``cloud``) and leaves the row retryable.
        """
        task = self._pending.take(row)
        if task is None:
            return False
        try:
            found = await task
        except CloudError as exc:
            stop("cloud", exc.message)
            books.finish(
                row, "retryable", 0, Outcome("cloud", error_code="cloud", error_detail=exc.message)
            )
            return True
        if not found:
            return False
        refuse(row, found)
        assert row.external_id is not None
        books.open.discard(row.external_id)
        invalid(row)
        return True

    async def aclose(self) -> None:
        """Cancel the checks of rows never sent; close the probe."""
        await self._pending.cancel()
        await self.check.aclose()
