"""The worker pool: checked rows in, answers in the ledger, a summary out.

A producer reads checked rows in chunks, asks the ledger about a whole chunk at once,
and decides each row (``decide``): send it, skip it, report it changed, or leave it
failed. Rows to send go through a bounded queue (memory stays flat for any manifest)
to ``concurrency`` workers that share one client, the throttle (429 pause and AIMD
concurrency) and the pacer (``--rate``). At most one request is in flight for any
one external_id.

Stopping: ``stop()`` (auth failure, spent retry budget, a budget, first signal)
stops dispatching; requests in flight finish; rows waiting to retry become
``retryable``. ``abort()`` (second signal, or the grace period ending) cancels the
workers; their rows become ``retryable`` too. No row is left ``pending``.

Budgets: ``--max-rows`` stops dispatching after N rows sent (rows already retrying
keep their waits); a deadline (``--max-duration``, ``--until``) stops dispatching and
cuts retry waits short. Either way the rest of the manifest is counted, cheaply, as
``left``: rows the ledger does not hold as done.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import chain, islice
from typing import Any

from .client import Client, Outcome
from .ledger import Ledger
from .mapping import encode_body
from .pipeline import CheckedRow, PendingRow
from .ratelimit import Clock, Pacer, Throttle, Wakeup
from .results import (
    Events,
    Progress,
    RowEvent,
    Summary,
    decide,
    fields_fingerprint,
    fingerprint,
    no_events,
    no_progress,
)
from .retry import Backoff, RetryBudget
from .rows import Prior

__all__ = [
    "Engine",
    "EngineSettings",
    "Progress",
    "RowEvent",
    "Summary",
    "decide",
    "fingerprint",
]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class EngineSettings:
    """How a run behaves."""

    manifest: str
    concurrency: int = 8
    max_attempts: int = 5
    rate: float | None = None
    retry_budget: int = 50
    max_rows: int | None = None
    deadline: float | None = None  # on the engine's clock: stop dispatching then
    deadline_reason: str = "the time budget ran out"
    max_rows_reason: str = "the row budget ran out"
    retry_failed: bool = False
    dry_run: bool = False
    grace: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    chunk: int = 256


_COUNTERS = {"skip": "skipped", "changed": "changed", "failed": "failed"}
_YIELD_EVERY = 16


@dataclass(slots=True)
class _Job:
    row: CheckedRow
    external_id: str
    body: bytes
    fingerprint: str
    media_url: str | None
    source_fingerprint: str | None
    marked: bool = False

    def pending(self, manifest: str) -> tuple[str, str, int, str, str | None, str | None]:
        """Return what the ledger records of a row as it goes out."""
        row = (self.external_id, manifest, self.row.line, self.fingerprint, self.media_url)
        return (*row, self.source_fingerprint)

    def event(
        self, kind: str, status: str, attempt: int, o: Outcome, latency: float | None
    ) -> RowEvent:
        """Return the log event of an answer to this row."""
        event = RowEvent(kind, self.external_id, self.row.line, status, attempt, o.http_status)
        return replace(
            event,
            request_id=o.request_id,
            latency=latency,
            error_code=o.error_code,
            error_detail=o.error_detail,
        )


def _unchanged_and_done(
    item: PendingRow, prior: dict[str, Prior], done: tuple[str, ...] = ("created", "existing")
) -> bool:
    """Tell whether a row is done and its raw record unchanged: skip it unchecked."""
    if item.external_id is None or item.first_line is not None:
        return False
    known = prior.get(item.external_id)
    return known is not None and known.status in done and known.source_fingerprint == item.source_fp


class Engine:
    """One run: a producer, a pool of workers, one ledger, one client."""

    def __init__(
        self,
        client: Client | None,
        ledger: Ledger | None,
        settings: EngineSettings,
        *,
        progress: Progress = no_progress,
        events: Events = no_events,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """Prepare a run; ``client`` (and ``ledger``) may be None for a dry run."""
        self.client = client
        self.ledger = ledger
        self.settings = settings
        self.summary = Summary()
        self._progress = progress
        self._events = events
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._throttle = Throttle(settings.concurrency, clock, sleep)
        self._pacer = Pacer(settings.rate, clock, sleep) if settings.rate else None
        self._budget = RetryBudget(settings.retry_budget)
        self._in_flight: set[str] = set()
        self._open: set[str] = set()  # marked pending by this run, not yet final
        self._freed = Wakeup()
        self._stop_event: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._abort_timer: asyncio.TimerHandle | None = None
        self._deadline_timer: asyncio.TimerHandle | None = None
        self._signalled = False

    @property
    def stopping(self) -> bool:
        """Tell whether the run has stopped dispatching."""
        return self.summary.stopped is not None

    def _halted(self) -> bool:
        """Tell whether rows waiting to retry should give up (any stop but --max-rows)."""
        return self.summary.stopped not in (None, "limit")

    def stop(self, reason: str, message: str) -> None:
        """Stop dispatching; in-flight requests finish. The first reason given is kept."""
        if self.summary.stopped is None:
            self.summary.stopped = reason
            self.summary.message = message
        if self._stop_event is not None and self._halted():
            self._stop_event.set()  # rows waiting to retry give up; --max-rows lets them retry

    def _check_deadline(self) -> None:
        deadline = self.settings.deadline
        if deadline is not None and self._clock() >= deadline:
            self.stop("deadline", self.settings.deadline_reason)

    def interrupt(self, signal_name: str) -> None:
        """Handle a signal: the first stops dispatching with a grace period, the second aborts."""
        if self._signalled:
            self.abort()
            return
        self._signalled = True
        self.stop("interrupted", f"interrupted by {signal_name}; in-flight requests finished")
        loop = asyncio.get_running_loop()
        self._abort_timer = loop.call_later(self.settings.grace, self.abort)

    def abort(self) -> None:
        """Cancel every task now; rows in flight become retryable."""
        for task in self._tasks:
            task.cancel()

    async def run(self, rows: Iterable[CheckedRow | PendingRow]) -> Summary:
        """Import ``rows``; return the summary once every row is final."""
        started = self._clock()
        self._stop_event = asyncio.Event()
        queue: asyncio.Queue[_Job | None] = asyncio.Queue(maxsize=self.settings.concurrency * 2)
        workers = (
            []
            if self.settings.dry_run
            else [
                asyncio.create_task(self._worker(queue)) for _ in range(self.settings.concurrency)
            ]
        )
        producer = asyncio.create_task(self._produce(rows, queue, len(workers)))
        self._tasks = [producer, *workers]
        if self.settings.deadline is not None:
            # The producer checks the deadline as it reads; this timer also catches it
            # while every worker waits on a slow server or a Retry-After.
            delay = max(0.0, self.settings.deadline - self._clock())
            self._deadline_timer = asyncio.get_running_loop().call_later(
                delay, self.stop, "deadline", self.settings.deadline_reason
            )
        try:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for task in self._tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for timer in (self._abort_timer, self._deadline_timer):
                if timer is not None:
                    timer.cancel()
            if self._open and self.ledger is not None:
                # Marked pending but never answered: stopped, aborted, or failed mid-run.
                self.ledger.release_pending(sorted(self._open))
                if self.summary.budget_reached:
                    self.summary.left += len(self._open)
                else:
                    self.summary.retryable += len(self._open)
                self._open.clear()
            self.summary.duration_s = self._clock() - started
        return self.summary

    async def _produce(
        self,
        rows: Iterable[CheckedRow | PendingRow],
        queue: asyncio.Queue[_Job | None],
        workers: int,
    ) -> None:
        try:
            await self._feed(iter(rows), queue)
        except BaseException:
            # Aborted, or the manifest failed mid-stream: nobody will post the end of
            # the queue, so the workers are cancelled (their rows become retryable).
            for task in self._tasks[1:]:
                task.cancel()
            raise
        for _ in range(workers):
            await queue.put(None)

    async def _feed(self, rows: Iterator[CheckedRow | PendingRow], queue: Any) -> None:
        settings = self.settings
        summary = self.summary
        sent = 0
        rest: list[CheckedRow | PendingRow] = []
        while not self.stopping:
            self._check_deadline()
            chunk: list[CheckedRow | PendingRow] = list(islice(rows, settings.chunk))
            if not chunk:
                return
            ids = [row.external_id for row in chunk if row.external_id is not None]
            prior = self.ledger.lookup(ids) if self.ledger is not None else {}
            learnt: list[tuple[str, str]] = []
            jobs: list[_Job] = []
            for index, item in enumerate(chunk):
                if self.stopping:
                    rest = chunk[index:]
                    break
                if jobs and index % _YIELD_EVERY == _YIELD_EVERY - 1:
                    # Checking rows is CPU work on the loop that handles answers: send
                    # what is ready and let answers in, instead of one long burst.
                    await self._dispatch(jobs, queue)
                    jobs = []
                    await asyncio.sleep(0)
                source_fp = None
                if isinstance(item, PendingRow):
                    source_fp = item.source_fp
                    if _unchanged_and_done(item, prior):
                        summary.total += 1
                        summary.skipped += 1
                        self._progress("decision", summary, item, "skip")
                        continue
                    row = item.checked()
                else:
                    row = item
                if not row.valid or row.body is None or row.external_id is None:
                    summary.total += 1
                    self._invalid(row, prior.get(row.external_id or ""))
                    continue
                fp = fingerprint(row.body)
                decision = decide(prior.get(row.external_id), fp, settings.retry_failed)
                if decision != "send":
                    if decision == "skip" and source_fp is not None:
                        learnt.append((row.external_id, source_fp))  # fast next time
                    summary.total += 1
                    counter = _COUNTERS[decision]
                    setattr(summary, counter, getattr(summary, counter) + 1)
                    self._progress("decision", summary, row, decision)
                    if decision != "skip":
                        self._events(RowEvent("row", row.external_id, row.line, counter))
                    continue
                if settings.max_rows is not None and sent >= settings.max_rows:
                    self.stop("limit", settings.max_rows_reason)
                    rest = chunk[index:]
                    break
                summary.total += 1
                sent += 1
                if settings.dry_run:
                    summary.would_send += 1
                    self._progress("decision", summary, row, "send")
                    continue
                media = row.body.get("media_url")
                jobs.append(
                    _Job(
                        row,
                        row.external_id,
                        encode_body(row.body),
                        fp,
                        media if isinstance(media, str) else None,
                        source_fp,
                    )
                )
            if learnt and self.ledger is not None and not settings.dry_run:
                self.ledger.set_source_fingerprints(learnt)
            await self._dispatch(jobs, queue)
            await asyncio.sleep(0)
        if self.summary.budget_reached:
            await self._count_left(chain(rest, rows))

    async def _count_left(self, rows: Iterator[CheckedRow | PendingRow]) -> None:
        """Count the rows a budget left unread that the ledger does not hold as settled."""
        settled = ("created", "existing", "failed")
        while chunk := list(islice(rows, 4096)):
            if self._signalled:
                return  # interrupted while counting: the count is a lower bound
            ids = [row.external_id for row in chunk if row.external_id is not None]
            prior = self.ledger.lookup(ids) if self.ledger is not None else {}
            for item in chunk:
                if isinstance(item, PendingRow) and _unchanged_and_done(item, prior, settled):
                    continue
                self.summary.left += 1
            await asyncio.sleep(0)

    async def _dispatch(self, jobs: list[_Job], queue: asyncio.Queue[_Job | None]) -> None:
        """Commit a chunk's rows as pending in one transaction, then queue them."""
        if not jobs:
            return
        assert self.ledger is not None
        fresh: set[str] = set()
        batch = []
        for job in jobs:
            if job.external_id in fresh or job.external_id in self._in_flight:
                continue  # repeated id: its worker marks it pending just before sending
            fresh.add(job.external_id)
            job.marked = True
            batch.append(job)
        self.ledger.mark_pending_many([j.pending(self.settings.manifest) for j in batch])
        self._open.update(job.external_id for job in batch)
        for job in jobs:
            if self._halted():
                return  # the rest stay open; run() releases them as retryable
            await self._claim(job.external_id)
            await queue.put(job)

    async def _claim(self, external_id: str) -> None:
        """Wait until no request for ``external_id`` is in flight, then mark it taken."""
        while external_id in self._in_flight:
            await self._freed.wait()
        self._in_flight.add(external_id)

    async def _release(self, external_id: str) -> None:
        self._in_flight.discard(external_id)
        await self._freed.notify()

    def _invalid(self, row: CheckedRow, prior: Prior | None) -> None:
        self.summary.invalid += 1
        duplicate = any(p.code == "duplicate_external_id" for p in row.problems)
        kept = prior is not None and prior.status in ("created", "existing")
        if (
            self.ledger is not None
            and not self.settings.dry_run
            and row.external_id
            and not duplicate
            and not kept
        ):
            first = row.problems[0]
            detail = "; ".join(f"{p.field or 'row'}: {p.message}" for p in row.problems)
            self.ledger.record_invalid(
                row.external_id,
                self.settings.manifest,
                row.line,
                fields_fingerprint(row.fields),
                first.code,
                detail,
            )
        self._progress("row", self.summary, row, "invalid")
        first = row.problems[0]
        why = f"{first.field or 'row'}: {first.message}"
        event = RowEvent("row", row.external_id, row.line, "invalid", error_code=first.code)
        self._events(replace(event, error_detail=why))

    async def _worker(self, queue: asyncio.Queue[_Job | None]) -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            if self._halted():
                # Stopped (signal, deadline, auth): queued rows are not in flight yet, so
                # they are not sent; run() releases them.
                await self._release(job.external_id)
                continue
            try:
                await self._send(job)
            except Exception:
                self.abort()  # a bug, not a bad answer: end the run now; run() re-raises it
                raise
            finally:
                await self._release(job.external_id)

    async def _pause(self, delay: float) -> None:
        """Sleep ``delay`` seconds, or less if the run stops meanwhile."""
        assert self._stop_event is not None
        if delay <= 0 or self._stop_event.is_set():
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            stopper.cancel()

    def _finish(
        self,
        job: _Job,
        status: str,
        attempts: int,
        outcome: Outcome | None,
        latency: float | None = None,
        counted: str | None = None,
    ) -> None:
        """Commit a row's final state; count it (as ``counted``, if given, else its status)."""
        assert self.ledger is not None
        o = outcome or Outcome("retry")
        self.ledger.finish(
            job.external_id,
            status,
            attempts=attempts,
            http_status=o.http_status,
            engagement_id=o.engagement_id,
            error_code=o.error_code,
            error_detail=o.error_detail,
            errors=o.errors,
            request_id=o.request_id,
        )
        self._open.discard(job.external_id)
        counter = counted or status
        setattr(self.summary, counter, getattr(self.summary, counter) + 1)
        self._progress("row", self.summary, job.row, status)
        self._events(job.event("row", counter, attempts, o, latency))

    def _give_up(self, job: _Job, attempts: int, outcome: Outcome, latency: float) -> None:
        """Leave a row retryable: out of attempts, or the run stopped while it retried."""
        left = attempts < self.settings.max_attempts and self.summary.budget_reached
        self._finish(job, "retryable", attempts, outcome, latency, "left" if left else None)

    async def _send(self, job: _Job) -> None:
        assert self.client is not None
        assert self.ledger is not None
        settings = self.settings
        if not job.marked:
            self._open.add(job.external_id)
            self.ledger.mark_pending_many([job.pending(settings.manifest)])
        attempts = 0
        try:
            while True:
                sent_at = await self._throttle.acquire()
                try:
                    if self._pacer is not None:
                        await self._pacer.wait()
                    attempts += 1
                    self._progress("sent", self.summary, job.row, str(attempts))
                    began = self._clock()
                    outcome = await self.client.create(job.body)
                    latency = self._clock() - began
                finally:
                    await self._throttle.release()
                if outcome.kind in ("created", "existing", "failed"):
                    self._budget.success()
                    await self._throttle.answered()
                    self._finish(job, outcome.kind, attempts, outcome, latency)
                    return
                if outcome.kind in ("auth", "tls", "local"):
                    self.stop(outcome.kind, outcome.error_detail or "authentication failed")
                    self._finish(job, "retryable", attempts, outcome, latency)
                    return
                delay = 0.0
                if outcome.http_status == 429:
                    wait = outcome.retry_after
                    if wait is None:
                        wait = settings.backoff.delay(attempts, self._rng)
                    self._throttle.rate_limited(wait, sent_at)
                else:
                    delay = settings.backoff.delay(attempts, self._rng)
                    if self._budget.failure():
                        self.stop(
                            "retry_budget",
                            f"the last {self._budget.budget} attempts all failed "
                            f"(last: {outcome.http_status or outcome.error_code}: "
                            f"{outcome.error_detail}); the server seems down, re-run later",
                        )
                self._progress(
                    "retry", self.summary, job.row, str(outcome.http_status or outcome.error_code)
                )
                if attempts >= settings.max_attempts or self._halted():
                    self._give_up(job, attempts, outcome, latency)
                    return
                self._events(job.event("retry", "retry", attempts, outcome, latency))
                await self._pause(delay)
                if self._halted():
                    self._give_up(job, attempts, outcome, latency)
                    return
        except asyncio.CancelledError:
            self._progress("row", self.summary, job.row, "retryable")
            raise  # run() releases the row as retryable
