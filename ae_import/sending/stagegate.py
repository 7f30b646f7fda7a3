"""``run --stage-to``: each row's media is staged as it is queued; its worker awaits it.

The staging itself is ``staging.Stager``; this gate ties it to the run, as
``mediagate`` does the media check: a row whose media cannot be staged is recorded
invalid (its ``stage_*`` problem) and not sent; one whose staging failed for now (a
source's 5xx, a full disk, a store that failed for now) is left retryable; a store
that refuses for good (no credentials, no bucket) stops the run. A staged row is sent
with its body naming the staged object, which the client signs before each attempt;
the ledger keeps the reference and checksum. With ``--stage-cleanup`` the object is
deleted once the rows sent with it are created or existing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path

from ae_import.errors import CloudError
from ae_import.ledger import Ledger
from ae_import.mapping import encode_body
from ae_import.records import Problem, Row
from ae_import.staging import Staged, StageProblem, Stager, StageRetry

from .ahead import Ahead
from .policy import Outcome
from .recorder import Recorder
from .recorder import external_id_of as key

__all__ = ["StageGate"]

_DONE = ("created", "existing")


class StageGate:
    """Stages each row's media ahead of its worker; the worker sends it with the staged object."""

    def __init__(
        self,
        stager: Stager,
        base: Path,
        roots: Sequence[Path] = (),
        *,
        ledger: Ledger | None = None,
        cleanup: bool = False,
    ) -> None:
        """Stage through ``stager``; local paths are relative to ``base``, the manifest's folder."""
        self.stager = stager
        self.base = base
        self.roots = tuple(roots)
        self.ledger = ledger
        self.cleanup = cleanup
        self._pending: Ahead[Staged] = Ahead()
        self._held: dict[int, str] = {}
        self._cleanups: set[asyncio.Task[None]] = set()

    def _wanted(self, row: Row) -> str | None:
        media = row.media_url
        return media if media is not None and self.stager.sources.wanted(media) else None

    def wants(self, row: Row) -> bool:
        """Tell whether ``row``'s media is staged before it is sent."""
        return self._wanted(row) is not None

    def start(self, row: Row) -> None:
        """Start staging the media of a row about to be queued (nothing for other rows)."""
        media = self._wanted(row)
        if media is not None and row not in self._pending:
            self._pending.start(row, self.stager.stage(media, self.base, self.roots))

    async def ready(
        self,
        row: Row,
        books: Recorder,
        invalid: Callable[[Row], None],
        stop: Callable[[str, str], None],
    ) -> bool:
        """Wait for a row's staging; True when it may be sent, else its end is recorded."""
        if row not in self._pending:
            if not self.wants(row):
                return True
            self.start(row)  # a repeat of an id, queued again
        task = self._pending.take(row)
        assert task is not None
        try:
            staged = await task
        except StageProblem as problem:
            column = None
            row.problems = (
                *row.problems,
                Problem("media_url", problem.code, problem.message, column),
            )
            row.body = None
            books.open.discard(key(row))
            invalid(row)
            return False
        except StageRetry as later:
            outcome = Outcome("retry", error_code=later.code, error_detail=later.message)
            books.finish(row, "retryable", 0, outcome)
            return False
        except CloudError as exc:
            if not exc.transient:
                stop("cloud", exc.message)
            code = "stage_store" if exc.transient else "cloud"
            books.finish(
                row, "retryable", 0, Outcome("cloud", error_code=code, error_detail=exc.message)
            )
            return False
        counts, summary = self.stager.counts, books.summary
        summary.staged_files, summary.staged_bytes = counts.files, counts.bytes
        summary.staged_found = counts.found
        assert row.body is not None
        row.encoded = encode_body({**row.body, "media_url": staged.ref})
        if self.ledger is not None:
            self.ledger.mark_staged(key(row), staged.ref, staged.sha256)
        self.stager.hold(staged.ref)
        self._held[id(row)] = staged.ref
        return True

    async def finished(self, row: Row, status: str) -> None:
        """Say a staged row is done (``status``); --stage-cleanup deletes what is unused now."""
        ref = self._held.pop(id(row), None)
        if ref is not None and self.stager.done(ref, self.cleanup and status in _DONE):
            await self._remove(ref)

    def drop(self, row: Row) -> None:
        """Let go of a row that ended any other way (stopped, cancelled): keep its object."""
        ref = self._held.pop(id(row), None)
        if ref is not None and self.stager.done(ref, False):
            self._cleanups.add(asyncio.ensure_future(self._remove(ref)))

    async def _remove(self, ref: str) -> None:
        with contextlib.suppress(CloudError):  # a failed delete leaves a copy, nothing worse
            await self.stager.remove(ref)

    async def aclose(self) -> None:
        """Cancel the staging of rows never sent; close the stager's client."""
        await self._pending.cancel()
        for task in self._cleanups:
            with contextlib.suppress(BaseException):
                await task
        self.stager.close()
