"""The worker pool: rows in, answers in the ledger, a summary out.

A producer reads rows in chunks and has the decider (``decider.py``) settle each one
against the ledger: skip it, report it changed or invalid, leave it failed, or send
it. Rows to send are committed as pending, a chunk at a time, and go through a
bounded queue (memory stays flat for any manifest) to ``concurrency`` workers that
share one client, the throttle (the rate controller: pacing and requests in flight
after a 429) and the pacer (``--rate``). At most one request is in flight for any one
external_id. There are twice as many workers as requests allowed in flight: a row
waiting out its Retry-After holds a worker, not the run.

Stopping: ``stop()`` stops dispatching. ``--max-rows`` lets rows already retrying keep
their waits; every other stop (a deadline, a first signal, a refused token, a spent retry
budget, a wrong base URL) halts: every wait (Retry-After pause, throttle, pacer, backoff)
ends at once, rows queued but never sent are ``left`` (the ledger releases them), and rows
waiting to retry become ``retryable``. Requests in flight get ``grace`` seconds (30 s, the
same for a deadline as for a signal) to finish; then they are cancelled, and their rows
become ``retryable`` (they may have reached the server: the next run's idempotent request
settles them). ``abort()`` (a second signal) cancels everything at once. No row is left
``pending``, and the summary's message says whether requests in flight finished or were
cancelled. The rest of the manifest is then counted, cheaply, as ``left``: rows a next run
would send (a second signal cuts the count short).

The first answers of a run tell a wrong base URL from rows the server cannot see: while
no answer but 404 or 405 has come, those rows are held; the fifth (or the end of a run
with fewer) stops the run (``wrong_url``) and they become ``retryable``. Any other answer
confirms the target: the ledger is bound to it then, and held rows are ``failed``.

A 200 after an earlier attempt of the same row that may have reached the server (a 5xx,
a timeout, a connection lost after sending, a garbled answer) is this run's own
creation: it is counted ``created``, with the 200 kept in the ledger.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING

from ae_import.ledger import Ledger
from ae_import.options import RunSettings
from ae_import.records import Row

from .client import Client
from .decision import Decider
from .pacing import Clock, Pacer, Wakeup, wait_or_stop
from .policy import Backoff, Outcome, RetryPolicy
from .recorder import Recorder, answered_by_the_api
from .recorder import external_id_of as key
from .summary import Events, Progress, Summary, no_events, no_progress
from .throttle import Cut, Throttle

if TYPE_CHECKING:
    from .mediagate import MediaGate
    from .stagegate import StageGate

__all__ = ["Engine"]

Sleep = Callable[[float], Awaitable[None]]


_YIELD_EVERY = 16


class Engine:
    """One run: a producer, a pool of workers, one ledger, one client."""

    def __init__(
        self,
        client: Client | None,
        ledger: Ledger | None,
        settings: RunSettings,
        *,
        manifest: str,
        deadline: float | None = None,
        deadline_reason: str = "the time budget ran out",
        progress: Progress = no_progress,
        events: Events = no_events,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        media: MediaGate | None = None,
        backoff: Backoff | None = None,
        grace: float = 30.0,
        chunk: int = 256,
        stage: StageGate | None = None,
        on_cut: Callable[[Cut], None] | None = None,
    ) -> None:
        """Prepare a run of ``manifest`` as ``settings`` say; ``client`` may be None for a dry run.

        ``deadline`` (on ``clock``) stops dispatching then, for ``deadline_reason``.
        ``progress`` also gets a "stopping" event (its note the line to show) on a first
        signal. ``media`` (``--check-media``) checks each row before its first attempt.
        Requests in flight at a stop get ``grace`` seconds; rows are read ``chunk`` at a time.
        ``stage`` (``--stage-to``) stages each row's media before its first attempt.
        ``on_cut`` hears each cut of the rate controller (the run log shows them).
        """
        self.client = client
        self._media = media
        self._stage = stage
        self.ledger = ledger
        self.settings = settings
        self.manifest = manifest
        self.deadline = deadline
        self.deadline_reason = deadline_reason
        self.grace = grace
        self.chunk = chunk
        budget = settings.row_budget
        self.max_rows = budget[0] if budget else None
        self.max_rows_reason = f"{budget[1]} {budget[0]} reached" if budget else ""
        self.summary = Summary()
        self._progress = progress
        self._events = events
        self._clock = clock
        self._sleep = sleep
        self._policy = RetryPolicy(
            settings.max_attempts, settings.retry_budget, rng or random.Random(), backoff
        )
        self._throttle = Throttle(settings.concurrency, clock, sleep, on_cut)
        self._pacer = Pacer(settings.rate, clock, sleep) if settings.rate else None
        self._in_flight: set[str] = set()  # ids taken by a worker or queued
        self._books = Recorder(
            ledger,
            self.summary,
            url=client.url if client is not None else None,
            max_attempts=settings.max_attempts,
            progress=progress,
            events=events,
        )
        self._books.pace = lambda: self._throttle.rate
        self._freed = Wakeup()
        self._stop_event: asyncio.Event | None = None
        self._queue: asyncio.Queue[Row | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: list[asyncio.TimerHandle] = []
        self._grace_ends = 0.0  # loop time when requests in flight are cancelled
        self._signal: str | None = None
        self._aborted = False
        self._requests = 0  # requests sent and not answered yet
        self._at_halt = 0  # requests in flight when the run halted
        self._cancelled = 0  # requests cancelled in flight
        self._wake: asyncio.Task[None] | None = None

    @property
    def pace(self) -> float | None:
        """Return the rate requests are paced at after 429s (requests/s), or None unpaced."""
        return self._throttle.rate

    @property
    def stopping(self) -> bool:
        """Tell whether the run has stopped dispatching."""
        return self.summary.stopped is not None

    def _halted(self) -> bool:
        """Tell whether every wait ends now (any stop but --max-rows)."""
        return self._stop_event is not None and self._stop_event.is_set()

    def stop(self, reason: str, message: str) -> None:
        """Stop dispatching; any reason but "limit" also halts. The first reason is kept.

        A halting reason replaces "limit" (--max-rows), which lets retry waits run on.
        """
        summary = self.summary
        if summary.stopped is None or (summary.stopped == "limit" and reason != "limit"):
            summary.stopped = reason
            summary.message = message
        if reason != "limit" and self._stop_event is not None and not self._halted():
            self._halt()

    def _halt(self) -> None:
        """End every wait now, drop the queued rows, give requests in flight the grace period."""
        assert self._stop_event is not None
        self._stop_event.set()
        self._at_halt = self._requests
        queue = self._queue
        ends = 0
        while queue is not None and not queue.empty():
            # Queued rows are not sent (they count as left); this also frees a producer
            # blocked on a full queue while every worker waits on a silent server.
            item = queue.get_nowait()
            if item is None:
                ends += 1
            else:
                self._in_flight.discard(key(item))
        for _ in range(ends):
            assert queue is not None
            queue.put_nowait(None)
        loop = asyncio.get_running_loop()
        # A producer waiting to claim the id of a row just dropped is woken to see the halt.
        self._wake = loop.create_task(self._freed.notify())
        self._grace_ends = loop.time() + self.grace
        self._timers.append(loop.call_later(self.grace, self._cut))

    def _cut(self) -> None:
        """End the grace period: cancel the workers; rows in flight become retryable."""
        for task in self._tasks[1:]:
            task.cancel()

    def interrupt(self, signal_name: str) -> None:
        """Handle a signal: the first halts the run with a grace period, the second aborts."""
        if self._signal is not None:
            self.abort()
            return
        self._signal = signal_name
        self.stop("interrupted", f"interrupted by {signal_name}")
        again = "press Ctrl-C again" if signal_name == "SIGINT" else f"send {signal_name} again"
        if self._requests:
            grace = max(0.0, self._grace_ends - asyncio.get_running_loop().time())
            waiting = f"waiting for {self._requests} requests in flight (up to {grace:.0f} s)"
        else:
            waiting = "no requests in flight"
        self._progress("stopping", self.summary, None, f"stopping: {waiting}; {again} to abort")

    def abort(self) -> None:
        """Cancel every task now; rows in flight become retryable, the count of rows left stops."""
        self._aborted = True
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
            manifest=self.manifest,
            retry_failed=self.settings.retry_failed,
            dry_run=self.settings.dry_run,
            progress=self._progress,
            events=self._events,
        )
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=self.settings.concurrency * 2)
        self._queue = queue
        workers = (
            []
            if self.settings.dry_run
            else [
                asyncio.create_task(self._worker(queue))
                for _ in range(self.settings.concurrency * 2)
            ]
        )
        producer = asyncio.create_task(self._produce(rows, queue, len(workers)))
        self._tasks = [producer, *workers]
        if self.summary.stopped not in (None, "limit"):
            self._halt()  # stopped before the run began
        if self.deadline is not None:
            # The producer checks the deadline as it reads; this timer also catches it
            # while every worker waits on a slow server or a Retry-After.
            delay = max(0.0, self.deadline - self._clock())
            self._timers.append(
                asyncio.get_running_loop().call_later(
                    delay, self.stop, "deadline", self.deadline_reason
                )
            )
        try:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for task in self._tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            if self._books.holding:
                self._wrong_url()  # fewer than five answers, all 404 or 405
            for timer in self._timers:
                timer.cancel()
            self._books.release_open()  # never sent: stopped, aborted, or failed mid-run
            how = "by a second signal" if self._aborted else f"after the {self.grace:g} s grace"
            self._books.close_message(self._cancelled, how, self._at_halt if self._signal else 0)
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
            chunk = list(islice(rows, self.chunk))
            if not chunk:
                decider.read_all()
                self._progress("read", summary, None, "")  # every row is decided
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
                if self.max_rows is not None and sent >= self.max_rows:
                    self.stop("limit", self.max_rows_reason)
                    rest = chunk[index:]
                    break
                summary.total += 1
                sent += 1
                if settings.dry_run:
                    summary.would_send += 1
                    self._progress("decision", summary, row, "send")
                    continue
                if not self._books.target_ok and decider.answered_before(row):
                    self._books.answered.add(key(row))
                self._progress("queued", summary, row, "")
                batch.append(row)
            decider.remember()
            await self._dispatch(batch, queue)
            await asyncio.sleep(0)
        await self._count_left(chain(rest, rows))

    def _check_deadline(self) -> None:
        deadline = self.deadline
        if deadline is not None and self._clock() >= deadline:
            self.stop("deadline", self.deadline_reason)

    async def _count_left(self, rows: Iterator[Row]) -> None:
        """Count the rows a stop left unread that a next run would send."""
        while chunk := list(islice(rows, 4096)):
            if self._aborted:
                return  # aborted while counting: the count is a lower bound
            self.summary.left += self._decider.unsettled(chunk)
            await asyncio.sleep(0)

    async def _dispatch(self, rows: list[Row], queue: asyncio.Queue[Row | None]) -> None:
        """Commit a chunk's rows as pending in one transaction, then queue them."""
        if not rows:
            return
        if self._halted():
            self.summary.left += len(rows)  # never sent: the ledger keeps their prior state
            return
        assert self.ledger is not None
        if self.client is not None:
            self.client.open()  # built when a first row goes: a run that sends none never pays
        fresh: set[str] = set()
        batch = []
        for row in rows:
            external_id = key(row)
            if external_id in fresh or external_id in self._in_flight:
                continue  # repeated id: its worker marks it pending just before sending
            fresh.add(external_id)
            batch.append(row)
        self.ledger.mark_pending(batch, self.manifest)
        self._books.open.update(key(row) for row in batch)
        for row in rows:
            if self._halted():
                return  # the rest stay open; run() releases them as left
            await self._claim(key(row))
            if self._stage is not None and self._stage.wants(row):
                self._stage.start(row)
            elif self._media is not None:
                self._media.start(row)
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
                # Halted: queued rows are not in flight yet, so they are not sent; run()
                # releases them.
                await self._release(key(row))
                continue
            try:
                await self._send(row)
            except Exception:
                self.abort()  # a bug, not a bad answer: end the run now; run() re-raises it
                raise
            finally:
                if self._stage is not None:
                    self._stage.drop(row)
                await self._release(key(row))

    def _wrong_url(self) -> None:
        """Stop the run: its answers were all 404 or 405 (held rows become retryable)."""
        self.stop("wrong_url", self._books.wrong_url())

    async def _send(self, row: Row) -> None:
        assert self.client is not None
        assert self.ledger is not None
        assert row.encoded is not None
        stop = self._stop_event
        books = self._books
        if key(row) not in books.open:
            # A repeat of an id this run finished already: pending again before it goes out.
            books.open.add(key(row))
            self.ledger.mark_pending([row], self.manifest)
        stage = self._stage
        if stage and not await stage.ready(row, books, self._decider.invalid, self.stop):
            return  # its media could not be staged: invalid or retryable, never sent
        if self._media and await self._media.refused(row, books, self._decider.invalid, self.stop):
            return  # its media check failed: invalid, never sent
        attempts = 0  # requests sent
        tries = 0  # the row's own attempts: requests not answered 429
        limited = 0  # 429s in a row
        reached = False  # an earlier attempt may have reached the server
        asking = False  # a request is in flight
        outcome: Outcome | None = None
        latency = 0.0
        try:
            while True:
                sent_at = await self._throttle.acquire(stop)
                if sent_at is None:
                    break  # halted while waiting (a Retry-After pause, a slot)
                try:
                    if self._pacer is not None and not await self._pacer.wait(stop):
                        break
                    attempts += 1
                    self._progress("sent", self.summary, row, str(attempts))
                    began = self._clock()
                    self._requests += 1
                    asking = True
                    try:
                        outcome = await self.client.create(row.encoded)
                    finally:
                        self._requests -= 1
                    asking = False
                    latency = self._clock() - began
                finally:
                    await self._throttle.release()
                if not books.target_ok and answered_by_the_api(outcome):
                    books.confirm()
                status = outcome.http_status
                limited = limited + 1 if status == 429 else 0
                tries += status != 429
                step = self._policy.after(outcome, tries, reached, limited)
                reached = step.reached
                if step.pause is not None:
                    self._throttle.rate_limited(step.pause, sent_at, status or 429)
                    self._progress("paused", self.summary, row, f"{step.pause:g}")
                elif outcome.kind in ("created", "existing", "failed"):
                    await self._throttle.answered(latency, sent_at)
                if step.stop is not None:
                    self.stop(*step.stop)
                if step.final is not None:
                    if not books.target_ok and books.suspect(row, outcome):
                        if books.hold(row, attempts, outcome, latency):
                            self._wrong_url()
                        return
                    books.finish(row, step.final, attempts, outcome, latency)
                    if stage is not None:
                        await stage.finished(row, step.final)
                    return
                self._progress(
                    "retry", self.summary, row, str(outcome.http_status or outcome.error_code)
                )
                if not step.retry or self._halted():
                    break
                books.retry_event(row, attempts, outcome, latency)
                if step.wait > 0:
                    await wait_or_stop(self._sleep(step.wait), stop)
                    if self._halted():
                        break
        except asyncio.CancelledError:
            # Grace over, or a second signal. A row never sent stays open: run() counts it
            # left. A row tried is retryable (its request may have reached the server),
            # unless its answer came and only its recording was cut short.
            if asking or outcome is None:
                self._cancelled += asking
                cut = Outcome("retry", error_code="cancelled", error_detail="cancelled in flight")
                if attempts:
                    books.finish(row, "retryable", attempts, cut)
            elif outcome.kind in ("created", "existing"):
                books.finish(row, "created" if reached else outcome.kind, attempts, outcome)
            else:
                books.finish(row, "retryable", attempts, outcome)
            raise
        if outcome is not None:
            books.give_up(row, attempts, outcome, latency, tries)
        # else never sent (halted before its first attempt): run() counts it left
