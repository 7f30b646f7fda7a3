"""The worker pool: rows in, answers in the ledger, a summary out.

A producer reads rows in chunks and has the decider (``decider.py``) settle each one
against the ledger: skip it, report it changed or invalid, leave it failed, or send
it. Rows to send are committed as pending, a chunk at a time, and go through a
bounded queue (memory stays flat for any manifest) to ``concurrency`` workers that
share one client, the throttle (429 pause and AIMD concurrency) and the pacer
(``--rate``). At most one request is in flight for any one external_id.

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
from dataclasses import dataclass, field
from itertools import chain, islice

from .client import Client, Outcome
from .decider import Decider
from .ledger import Ledger
from .ratelimit import Clock, Pacer, Throttle, Wakeup
from .results import Events, Progress, RowEvent, Summary, no_events, no_progress
from .retry import Backoff, RetryBudget
from .rows import Row

__all__ = ["Engine", "EngineSettings", "Progress", "RowEvent", "Summary"]

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


_YIELD_EVERY = 16


def _key(row: Row) -> str:
    """Return the external_id of a row to send (the decider sends no row without one)."""
    assert row.external_id is not None
    return row.external_id


def _event(
    row: Row, kind: str, status: str, attempt: int, o: Outcome, latency: float | None
) -> RowEvent:
    """Return the log event of an answer to ``row``."""
    return RowEvent(
        kind,
        row.external_id,
        row.line,
        status,
        attempt,
        o.http_status,
        request_id=o.request_id,
        latency=latency,
        error_code=o.error_code,
        error_detail=o.error_detail,
    )


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

    async def run(self, rows: Iterable[Row], check: Callable[[Row], Row]) -> Summary:
        """Import ``rows``, mapping and validating each with ``check``; return the summary.

        The summary is returned once every row is final.
        """
        started = self._clock()
        self._stop_event = asyncio.Event()
        self._decider = Decider(
            self.ledger,
            self.summary,
            check,
            manifest=self.settings.manifest,
            retry_failed=self.settings.retry_failed,
            dry_run=self.settings.dry_run,
            progress=self._progress,
            events=self._events,
        )
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=self.settings.concurrency * 2)
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
        self, rows: Iterable[Row], queue: asyncio.Queue[Row | None], workers: int
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

    async def _feed(self, rows: Iterator[Row], queue: asyncio.Queue[Row | None]) -> None:
        """Read ``rows`` in chunks, decide each, and dispatch those to send, until stopped."""
        settings = self.settings
        summary = self.summary
        decider = self._decider
        sent = 0
        rest: list[Row] = []
        while not self.stopping:
            self._check_deadline()
            chunk = list(islice(rows, settings.chunk))
            if not chunk:
                return
            decider.lookup(chunk)
            batch: list[Row] = []
            for index, row in enumerate(chunk):
                if self.stopping:
                    rest = chunk[index:]
                    break
                if batch and index % _YIELD_EVERY == _YIELD_EVERY - 1:
                    # Checking rows is CPU work on the loop that handles answers: send
                    # what is ready and let answers in, instead of one long burst.
                    await self._dispatch(batch, queue)
                    batch = []
                    await asyncio.sleep(0)
                if not decider.decide(row):
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
                batch.append(row)
            decider.remember()
            await self._dispatch(batch, queue)
            await asyncio.sleep(0)
        if self.summary.budget_reached:
            await self._count_left(chain(rest, rows))

    async def _count_left(self, rows: Iterator[Row]) -> None:
        """Count the rows a budget left unread that the ledger does not hold as settled."""
        while chunk := list(islice(rows, 4096)):
            if self._signalled:
                return  # interrupted while counting: the count is a lower bound
            self.summary.left += self._decider.unsettled(chunk)
            await asyncio.sleep(0)

    async def _dispatch(self, rows: list[Row], queue: asyncio.Queue[Row | None]) -> None:
        """Commit a chunk's rows as pending in one transaction, then queue them."""
        if not rows:
            return
        assert self.ledger is not None
        fresh: set[str] = set()
        batch = []
        for row in rows:
            key = _key(row)
            if key in fresh or key in self._in_flight:
                continue  # repeated id: its worker marks it pending just before sending
            fresh.add(key)
            batch.append(row)
        self.ledger.mark_pending(batch, self.settings.manifest)
        self._open.update(_key(row) for row in batch)
        for row in rows:
            if self._halted():
                return  # the rest stay open; run() releases them as retryable
            await self._claim(_key(row))
            await queue.put(row)

    async def _claim(self, external_id: str) -> None:
        """Wait until no request for ``external_id`` is in flight, then mark it taken."""
        while external_id in self._in_flight:
            await self._freed.wait()
        self._in_flight.add(external_id)

    async def _release(self, external_id: str) -> None:
        self._in_flight.discard(external_id)
        await self._freed.notify()

    async def _worker(self, queue: asyncio.Queue[Row | None]) -> None:
        while True:
            row = await queue.get()
            if row is None:
                return
            if self._halted():
                # Stopped (signal, deadline, auth): queued rows are not in flight yet, so
                # they are not sent; run() releases them.
                await self._release(_key(row))
                continue
            try:
                await self._send(row)
            except Exception:
                self.abort()  # a bug, not a bad answer: end the run now; run() re-raises it
                raise
            finally:
                await self._release(_key(row))

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
        row: Row,
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
            _key(row),
            status,
            attempts=attempts,
            http_status=o.http_status,
            engagement_id=o.engagement_id,
            error_code=o.error_code,
            error_detail=o.error_detail,
            errors=o.errors,
            request_id=o.request_id,
        )
        self._open.discard(_key(row))
        counter = counted or status
        setattr(self.summary, counter, getattr(self.summary, counter) + 1)
        self._progress("row", self.summary, row, status)
        self._events(_event(row, "row", counter, attempts, o, latency))

    def _give_up(self, row: Row, attempts: int, outcome: Outcome, latency: float) -> None:
        """Leave a row retryable: out of attempts, or the run stopped while it retried."""
        left = attempts < self.settings.max_attempts and self.summary.budget_reached
        self._finish(row, "retryable", attempts, outcome, latency, "left" if left else None)

    async def _send(self, row: Row) -> None:
        assert self.client is not None
        assert self.ledger is not None
        assert row.encoded is not None
        settings = self.settings
        if _key(row) not in self._open:
            # A repeat of an id this run finished already: pending again before it goes out.
            self._open.add(_key(row))
            self.ledger.mark_pending([row], settings.manifest)
        attempts = 0
        try:
            while True:
                sent_at = await self._throttle.acquire()
                try:
                    if self._pacer is not None:
                        await self._pacer.wait()
                    attempts += 1
                    self._progress("sent", self.summary, row, str(attempts))
                    began = self._clock()
                    outcome = await self.client.create(row.encoded)
                    latency = self._clock() - began
                finally:
                    await self._throttle.release()
                if outcome.kind in ("created", "existing", "failed"):
                    self._budget.success()
                    await self._throttle.answered()
                    self._finish(row, outcome.kind, attempts, outcome, latency)
                    return
                if outcome.kind in ("auth", "tls", "local"):
                    self.stop(outcome.kind, outcome.error_detail or "authentication failed")
                    self._finish(row, "retryable", attempts, outcome, latency)
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
                    "retry", self.summary, row, str(outcome.http_status or outcome.error_code)
                )
                if attempts >= settings.max_attempts or self._halted():
                    self._give_up(row, attempts, outcome, latency)
                    return
                self._events(_event(row, "retry", "retry", attempts, outcome, latency))
                await self._pause(delay)
                if self._halted():
                    self._give_up(row, attempts, outcome, latency)
                    return
        except asyncio.CancelledError:
            self._progress("row", self.summary, row, "retryable")
            raise  # run() releases the row as retryable
