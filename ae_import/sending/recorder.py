"""The run's recorder: each row's end into the ledger, the summary, progress and log.

The engine decides (asking ``policy``); this module records. It also keeps the rows
held while the base URL is in doubt: until the target gives an answer other than 404 or
405, rows answered 404 or 405 (rows the target never answered before) are held, not
failed. Any other answer confirms the target (the ledger is bound to it then) and fails
the held rows; a fifth 404 or 405, or a run that ends with only those, says the base URL
is wrong and leaves them retryable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ae_import.ledger import Ledger
from ae_import.records import Row
from ae_import.redact import redact_url

from .policy import Outcome
from .summary import Events, Progress, RowEvent, Summary

__all__ = ["WRONG_URL_AFTER", "Recorder", "answered_by_the_api", "external_id_of"]
# What a wrong base URL answers: no such route, no such method, or a redirect elsewhere.
_WRONG_URL_STATUSES = (301, 302, 303, 307, 308, 404, 405)


def answered_by_the_api(outcome: Outcome) -> bool:
    """Tell whether an answer shows the base URL is the API's (the ledger may be bound to it).

    An engagement (201/200 with an id), a refusal of the row (a 4xx other than 404/405),
    or a 429 does; a redirect, an HTML 200, a 5xx or a network error does not.
    """
    status = outcome.http_status
    if outcome.kind in ("created", "existing"):
        return True
    if status is None or status in _WRONG_URL_STATUSES:
        return False
    return outcome.kind in ("failed", "auth") or status == 429


WRONG_URL_AFTER = 5  # answers, all 404, 405 or redirects, that stop a run: the URL is wrong
_TIMES = {1: "once", 2: "twice", 3: "three times", 4: "four times", 5: "five times"}


def external_id_of(row: Row) -> str:
    """Return the external_id of a row to send (the decider sends no row without one)."""
    assert row.external_id is not None
    return row.external_id


def _event(
    row: Row,
    kind: str,
    status: str,
    attempt: int,
    o: Outcome,
    latency: float | None,
    rate: float | None = None,
) -> RowEvent:
    """Return the log event of an answer to ``row``; ``rate``: the controller's, then."""
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
        rate=None if rate is None else round(rate, 2),
    )


def _unpaced() -> float | None:
    return None


class Recorder:
    """Records rows' final states; holds the rows answered 404 or 405 before the target is known."""

    def __init__(
        self,
        ledger: Ledger | None,
        summary: Summary,
        *,
        url: str | None,
        max_attempts: int,
        progress: Progress,
        events: Events,
    ) -> None:
        """Record into ``ledger`` and ``summary``; ``url`` is where rows are posted."""
        self.ledger = ledger
        self.summary = summary
        self.url = redact_url(url) if url else "the base URL"
        self.max_attempts = max_attempts
        self.progress = progress
        self.events = events
        self.open: set[str] = set()  # marked pending by this run, not yet final
        self.target_ok = False  # an answer other than 404/405 came: the base URL is right
        self.answered: set[str] = set()  # ids the target answered in earlier runs
        self._held: list[tuple[Row, int, Outcome, float]] = []
        self._wrong: str | None = None  # why the base URL looks wrong, once said
        self.pace: Callable[[], float | None] = _unpaced  # the controller's rate now

    def retry_event(self, row: Row, attempts: int, outcome: Outcome, latency: float) -> None:
        """Log one attempt that will be retried."""
        self.events(_event(row, "retry", "retry", attempts, outcome, latency, self.pace()))

    def finish(
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
            external_id_of(row),
            status,
            attempts=attempts,
            http_status=o.http_status,
            engagement_id=o.engagement_id,
            error_code=o.error_code,
            error_detail=o.error_detail,
            errors=o.errors,
            request_id=o.request_id,
        )
        self.open.discard(external_id_of(row))
        counter = counted or status
        setattr(self.summary, counter, getattr(self.summary, counter) + 1)
        if counter in ("failed", "retryable"):
            code = o.error_code or (f"http_{o.http_status}" if o.http_status else counter)
            self.summary.count_problem([code], new=True)
        self.progress("row", self.summary, row, status)
        self.events(_event(row, "row", counter, attempts, o, latency, self.pace()))

    def give_up(
        self, row: Row, attempts: int, outcome: Outcome, latency: float, tries: int | None = None
    ) -> None:
        """Leave a row retryable: out of attempts, or the run stopped while it retried.

        ``tries``: the row's own attempts (not answered 429), ``attempts`` if not given.
        """
        own = attempts if tries is None else tries
        left = own < self.max_attempts and self.summary.budget_reached
        self.finish(row, "retryable", attempts, outcome, latency, "left" if left else None)

    def close_message(self, cancelled: int, how: str, finished: int) -> None:
        """Say in the summary's message what became of the requests in flight at the stop.

        ``cancelled`` were cut (``how``), or ``finished`` ended on their own after a signal.
        """
        summary = self.summary
        if summary.message is None:
            return
        if cancelled:
            summary.message += f"; {cancelled} requests in flight cancelled {how}, left retryable"
        elif finished:
            summary.message += f"; the {finished} requests in flight finished"

    def release_open(self) -> None:
        """Count the rows marked pending but never sent as left; the ledger releases them."""
        if self.open and self.ledger is not None:
            self.ledger.release_pending(sorted(self.open))
            self.summary.left += len(self.open)
        self.open.clear()

    def confirm(self) -> None:
        """Take the target as right (an API answered): bind the ledger to it, fail the held rows."""
        assert self.ledger is not None
        self.target_ok = True
        self.answered.clear()
        self.ledger.confirm_target()
        held, self._held = self._held, []
        for row, attempts, outcome, latency in held:
            self.finish(row, "failed", attempts, outcome, latency)

    def suspect(self, row: Row, outcome: Outcome) -> bool:
        """Tell whether an answer hints at a wrong base URL: 404, 405 or a redirect, new row."""
        status = outcome.http_status
        return status in _WRONG_URL_STATUSES and external_id_of(row) not in self.answered

    def hold(self, row: Row, attempts: int, outcome: Outcome, latency: float) -> bool:
        """Hold a row answered 404 or 405; return True when enough say the URL is wrong."""
        self._held.append((row, attempts, outcome, latency))
        return len(self._held) >= WRONG_URL_AFTER or self.summary.stopped == "wrong_url"

    @property
    def holding(self) -> bool:
        """Tell whether rows are held."""
        return bool(self._held)

    def wrong_url(self) -> str:
        """Return why the base URL looks wrong; the held rows become retryable."""
        held, self._held = self._held, []
        if self._wrong is None:
            statuses = "/".join(sorted({str(outcome.http_status) for _, _, outcome, _ in held}))
            times = _TIMES.get(len(held), f"{len(held)} times")
            self._wrong = (
                f"POST {self.url} answered {statuses} {times}: check --base-url; "
                "it should end in /api"
            )
        message = self._wrong
        for row, attempts, outcome, latency in held:
            self.finish(row, "retryable", attempts, replace(outcome, error_detail=message), latency)
        return message
