"""The worker pool: checked rows in, answers in the ledger, a summary out.

A producer reads checked rows in chunks, asks the ledger about a whole chunk at once,
and decides each row (``decide``): send it, skip it, report it changed, or leave it
failed. Rows to send go through a bounded queue (memory stays flat for any manifest)
to ``concurrency`` workers that share one client, the throttle (429 pause and AIMD
concurrency) and the pacer (``--rate``). At most one request is in flight for any
one external_id.

Stopping: ``stop()`` (auth failure, spent retry budget, ``--limit``, first signal)
stops dispatching; requests in flight finish; rows waiting to retry become
``retryable``. ``abort()`` (second signal, or the grace period ending) cancels the
workers; their rows become ``retryable`` too. No row is left ``pending``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Any

from .client import Client, Outcome
from .ledger import Ledger, Prior
from .mapping import encode_body
from .pipeline import CheckedRow, PendingRow
from .ratelimit import Clock, Pacer, Throttle, Wakeup
from .redact import redact_url
from .retry import Backoff, RetryBudget

__all__ = ["Engine", "EngineSettings", "Progress", "Summary", "decide", "fingerprint"]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class EngineSettings:
    """How a run behaves."""

    manifest: str
    concurrency: int = 8
    max_attempts: int = 5
    rate: float | None = None
    retry_budget: int = 50
    limit: int | None = None
    retry_failed: bool = False
    dry_run: bool = False
    grace: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    chunk: int = 256


@dataclass
class Summary:
    """Counts of a run's rows by how they ended, and why it stopped, if it stopped early."""

    total: int = 0
    created: int = 0
    existing: int = 0
    failed: int = 0
    invalid: int = 0
    retryable: int = 0
    skipped: int = 0
    changed: int = 0
    would_send: int = 0
    duration_s: float = 0.0
    stopped: str | None = None
    message: str | None = None

    def as_json(self, dry_run: bool = False) -> dict[str, Any]:
        """Return the summary as the JSON object ``--json`` prints."""
        keys = [
            "total",
            "created",
            "existing",
            "failed",
            "invalid",
            "retryable",
            "skipped",
            "changed",
            "duration_s",
        ]
        data = asdict(self)
        out = {k: data[k] for k in keys}
        out["duration_s"] = round(self.duration_s, 3)
        if dry_run:
            out["would_send"] = self.would_send
        if self.stopped:
            out["stopped"] = self.stopped
        return out

    @property
    def clean(self) -> bool:
        """Tell whether every row is created, existing or skipped."""
        return not (self.failed or self.invalid or self.retryable)


# progress(event, summary, row): events are "sent", "retry", "row" (a row is final),
# "decision" (a row was not sent: skipped, changed, failed earlier, would send).
Progress = Callable[[str, Summary, "CheckedRow | PendingRow | None", str], None]


def _no_progress(
    event: str, summary: Summary, row: CheckedRow | PendingRow | None, note: str
) -> None:
    return None


def fingerprint(body: dict[str, Any]) -> str:
    """Hash a request body, its media URL's query string left out (signatures change daily)."""
    url = body.get("media_url")
    if isinstance(url, str) and ("?" in url or "#" in url or "@" in url):
        body = {**body, "media_url": redact_url(url)}
    return hashlib.blake2b(encode_body(body), digest_size=16).hexdigest()


def _fields_fingerprint(fields: dict[str, Any]) -> str:
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def decide(prior: Prior | None, fp: str, retry_failed: bool) -> str:
    """Decide what to do with a valid row: send, skip, changed or failed (left as it was)."""
    if prior is None or prior.status in ("pending", "retryable", "invalid"):
        return "send"
    if prior.status in ("created", "existing"):
        return "skip" if prior.fingerprint == fp else "changed"
    # failed: send again only when the user fixed the row, or asked
    return "send" if retry_failed or prior.fingerprint != fp else "failed"


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


def _unchanged_and_done(item: PendingRow, prior: dict[str, Prior]) -> bool:
    """Tell whether a row is done and its raw record unchanged: skip it unchecked."""
    if item.external_id is None or item.first_line is not None:
        return False
    known = prior.get(item.external_id)
    return (
        known is not None
        and known.status in ("created", "existing")
        and known.source_fingerprint == item.source_fp
    )


class Engine:
    """One run: a producer, a pool of workers, one ledger, one client."""

    def __init__(
        self,
        client: Client | None,
        ledger: Ledger | None,
        settings: EngineSettings,
        *,
        progress: Progress = _no_progress,
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

    @property
    def stopping(self) -> bool:
        """Tell whether the run has stopped dispatching."""
        return self.summary.stopped is not None

    def _halted(self) -> bool:
        """Tell whether rows waiting to retry should give up (any stop but --limit)."""
        return self.summary.stopped not in (None, "limit")

    def stop(self, reason: str, message: str) -> None:
        """Stop dispatching; in-flight requests finish. The first reason given is kept."""
        if self.summary.stopped is None:
            self.summary.stopped = reason
            self.summary.message = message
        if self._stop_event is not None and self._halted():
            self._stop_event.set()  # rows waiting to retry give up; --limit lets them retry

    def interrupt(self, signal_name: str) -> None:
        """Handle a signal: the first stops dispatching with a grace period, the second aborts."""
        if self.summary.stopped == "interrupted":
            self.abort()
            return
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
        try:
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for task in self._tasks:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            if self._abort_timer is not None:
                self._abort_timer.cancel()
            if self._open and self.ledger is not None:
                # Marked pending but never answered: stopped, aborted, or failed mid-run.
                self.ledger.release_pending(sorted(self._open))
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

    async def _feed(self, rows: Any, queue: asyncio.Queue[_Job | None]) -> None:
        settings = self.settings
        summary = self.summary
        sent = 0
        while not self.stopping:
            chunk: list[CheckedRow | PendingRow] = list(islice(rows, settings.chunk))
            if not chunk:
                return
            ids = [row.external_id for row in chunk if row.external_id is not None]
            prior = self.ledger.lookup(ids) if self.ledger is not None else {}
            learnt: list[tuple[str, str]] = []
            jobs: list[_Job] = []
            for index, item in enumerate(chunk):
                if self.stopping:
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
                    continue
                if settings.limit is not None and sent >= settings.limit:
                    self.stop("limit", f"--limit {settings.limit} reached")
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
        self.ledger.mark_pending_many(
            [
                (
                    j.external_id,
                    self.settings.manifest,
                    j.row.line,
                    j.fingerprint,
                    j.media_url,
                    j.source_fingerprint,
                )
                for j in batch
            ]
        )
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
                _fields_fingerprint(row.fields),
                first.code,
                detail,
            )
        self._progress("row", self.summary, row, "invalid")

    async def _worker(self, queue: asyncio.Queue[_Job | None]) -> None:
        while True:
            job = await queue.get()
            if job is None:
                return
            try:
                await self._send(job)
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

    def _finish(self, job: _Job, status: str, attempts: int, outcome: Outcome | None) -> None:
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
        setattr(self.summary, status, getattr(self.summary, status) + 1)
        self._progress("row", self.summary, job.row, status)

    async def _send(self, job: _Job) -> None:
        assert self.client is not None
        assert self.ledger is not None
        settings = self.settings
        if not job.marked:
            self._open.add(job.external_id)
            self.ledger.mark_pending(
                job.external_id,
                settings.manifest,
                job.row.line,
                job.fingerprint,
                job.media_url,
                job.source_fingerprint,
            )
        attempts = 0
        outcome: Outcome | None = None
        try:
            while True:
                await self._throttle.acquire()
                try:
                    if self._pacer is not None:
                        await self._pacer.wait()
                    attempts += 1
                    self._progress("sent", self.summary, job.row, str(attempts))
                    outcome = await self.client.create(job.body)
                finally:
                    await self._throttle.release()
                if outcome.kind in ("created", "existing", "failed"):
                    self._budget.success()
                    await self._throttle.answered()
                    self._finish(job, outcome.kind, attempts, outcome)
                    return
                if outcome.kind == "auth":
                    self.stop("auth", outcome.error_detail or "authentication failed")
                    self._finish(job, "retryable", attempts, outcome)
                    return
                delay = 0.0
                if outcome.http_status == 429:
                    wait = outcome.retry_after
                    if wait is None:
                        wait = settings.backoff.delay(attempts, self._rng)
                    self._throttle.rate_limited(wait)
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
                    self._finish(job, "retryable", attempts, outcome)
                    return
                await self._pause(delay)
                if self._halted():
                    self._finish(job, "retryable", attempts, outcome)
                    return
        except asyncio.CancelledError:
            self._progress("row", self.summary, job.row, "retryable")
            raise  # run() releases the row as retryable
