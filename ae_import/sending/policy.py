"""What an answer means and what the run does next: the retry rules, stated once.

``Outcome`` is what one attempt came to (the client makes one of every answer and every
error); ``RetryPolicy.after`` is the one decision the engine asks after each attempt:
finish the row, try it again (after how long, and whether every worker pauses), give
it up, or stop the run.

- 408, 5xx, connect errors, timeouts, resets and unparseable answers are retried,
  up to ``max_attempts`` attempts in all for a row: its own refusals and errors.
- The wait is full-jitter exponential backoff: uniform(0, min(cap, base * 2**(n-1)))
  after the n-th failed attempt, base 1 s, cap 60 s; a 503's ``Retry-After`` is its floor.
- A 429 is a signal, not a failure: it never uses up an attempt, and the row is
  retried until it goes through, bounded only by the run's budgets (``--max-duration``,
  ``--until``, a stop). It waits its ``Retry-After`` (seconds or an HTTP-date, capped
  at one hour), never less; without a valid one, the backoff wait of its n-th 429 in
  a row. The throttle hears every 429 and 503 (``Step.pause``) and slows the run.
- 400, 401, 403, 404, 409 and 422 are never retried.
- A run whose last ``budget`` attempts in a row all failed stops: the server is down,
  and hammering it for hours helps no one.
- An attempt retried after a 5xx, a timeout, a garbled answer or a connection lost once
  the request was sent may have reached the server: a 200 that follows is the run's own
  creation (counted ``created``), not an engagement that was there before.

The random source and the clock are passed in, so tests decide every wait.
"""

from __future__ import annotations

import email.utils
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

__all__ = [
    "MAX_RETRY_AFTER",
    "RETRY_STATUSES",
    "STOPPING_KINDS",
    "Backoff",
    "Outcome",
    "OutcomeKind",
    "RetryBudget",
    "RetryPolicy",
    "Step",
    "may_have_reached",
    "parse_retry_after",
]

# "auth" (401/403), "tls" (the server's certificate is not trusted), "local" (a cause on
# this machine, such as too many open files) and "cloud" (a media reference cannot be
# signed: no credentials) stop the run: no retry can fix them.
OutcomeKind = Literal["created", "existing", "failed", "retry", "auth", "tls", "local", "cloud"]
STOPPING_KINDS: tuple[OutcomeKind, ...] = ("auth", "tls", "local", "cloud")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    kind: OutcomeKind
    http_status: int | None = None
    engagement_id: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    errors: str | None = None
    request_id: str | None = None
    retry_after: float | None = None


RETRY_STATUSES = frozenset({408, 429}) | frozenset(range(500, 600))
MAX_RETRY_AFTER = 3600.0  # the longest Retry-After wait honoured, in seconds (one hour)
_DELAY_SECONDS = re.compile(r"[0-9]+")  # ASCII only: \d would take "²" and "١٠"
# Network errors that come before the request is sent: the server never saw it.
_BEFORE_SENDING = ("ConnectionRefusedError", "gaierror")


def may_have_reached(http_status: int | None, error_code: str | None, detail: str | None) -> bool:
    """Tell whether a failed attempt may have reached the server (and created the row)."""
    if http_status is not None:
        return http_status not in (408, 429)  # both say the request was not acted on
    return not (error_code == "network" and (detail or "").startswith(_BEFORE_SENDING))


@dataclass(frozen=True)
class Backoff:
    """Full-jitter exponential backoff."""

    base: float = 1.0
    cap: float = 60.0

    def delay(self, failed_attempts: int, rng: random.Random) -> float:
        """Return the wait after ``failed_attempts`` failures (1 for the first)."""
        ceiling = min(self.cap, self.base * 2 ** max(0, failed_attempts - 1))
        return rng.uniform(0, ceiling)


def parse_retry_after(value: str | None, now: Callable[[], datetime] | None = None) -> float | None:
    """Read a Retry-After header by the HTTP rules; return seconds in [0, 3600], or None.

    ``delay-seconds`` is ``1*DIGIT`` in ASCII only (``"²"``, ``"-5"``, ``"1e3"`` and
    ``"10.5"`` are not delays); an HTTP-date (ASCII, any of HTTP's three formats)
    counts from ``now()`` (UTC by default), a past one as 0. Any longer wait is cut to
    ``MAX_RETRY_AFTER``, 3600 s (one hour). A value of neither form gives None (the
    caller falls back to its backoff); nothing raises.
    """
    if value is None:
        return None
    text = value.strip(" \t")  # HTTP's optional whitespace: spaces and tabs only
    if _DELAY_SECONDS.fullmatch(text):
        digits = text.lstrip("0") or "0"
        # Past 10 digits the value is beyond any cap (and int() refuses > 4300 digits).
        return MAX_RETRY_AFTER if len(digits) > 10 else min(float(int(digits)), MAX_RETRY_AFTER)
    if not text.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now() if now is not None else datetime.now(UTC)
    return min(max(0.0, (when - current).total_seconds()), MAX_RETRY_AFTER)


class RetryBudget:
    """Counts failed attempts in a row across the whole run; spent means stop."""

    def __init__(self, budget: int) -> None:
        """Allow ``budget`` consecutive failed attempts before the run stops."""
        self.budget = budget
        self.failures_in_a_row = 0

    def success(self) -> None:
        """Record an attempt that got a definite answer: the server is up."""
        self.failures_in_a_row = 0

    def failure(self) -> bool:
        """Record a failed attempt; return True when the budget is spent."""
        self.failures_in_a_row += 1
        return self.failures_in_a_row >= self.budget


@dataclass(frozen=True, slots=True)
class Step:
    """What the engine does after one attempt, as ``RetryPolicy.after`` decides."""

    final: str | None = None  # the row ends now with this status (created, existing, ...)
    retry: bool = False  # try the row again (after ``wait``), else give it up as retryable
    wait: float = 0.0  # this row's backoff before its next attempt
    pause: float | None = None  # a 429 or 503: the throttle slows down (its Retry-After)
    stop: tuple[str, str] | None = None  # (reason, message): the run stops dispatching
    reached: bool = False  # some attempt of this row may have reached the server


class RetryPolicy:
    """The retry rules of one run: backoff, attempts per row, the run's budget of failures."""

    def __init__(
        self,
        max_attempts: int,
        retry_budget: int,
        rng: random.Random,
        backoff: Backoff | None = None,
    ) -> None:
        """Allow ``max_attempts`` per row and ``retry_budget`` failed attempts in a row."""
        self.max_attempts = max_attempts
        self.budget = RetryBudget(retry_budget)
        self.backoff = backoff or Backoff()
        self._rng = rng

    def after(
        self, outcome: Outcome, attempts: int, reached: bool = False, limited: int = 1
    ) -> Step:
        """Decide what follows ``outcome``, the answer to a row's ``attempts``-th attempt.

        ``attempts`` counts the row's own attempts, not those answered 429; ``limited``
        is how many 429s in a row this one makes. ``reached``: an earlier attempt of the
        row may have reached the server, so a 200 now is the run's own creation.
        """
        kind = outcome.kind
        if kind in ("created", "existing", "failed"):
            self.budget.success()
            own = "created" if reached and kind == "existing" else kind
            return Step(final=own, reached=reached)
        if kind in STOPPING_KINDS:
            why = outcome.error_detail or "authentication failed"
            return Step(final="retryable", stop=(kind, why), reached=reached)
        reached = reached or may_have_reached(
            outcome.http_status, outcome.error_code, outcome.error_detail
        )
        if outcome.http_status == 429:
            pause = outcome.retry_after
            if pause is None:
                pause = self.backoff.delay(limited, self._rng)
            return Step(retry=True, wait=pause, pause=pause, reached=reached)
        retry = attempts < self.max_attempts
        stop = None
        if self.budget.failure():
            stop = (
                "retry_budget",
                f"the last {self.budget.budget} attempts all failed "
                f"(last: {outcome.http_status or outcome.error_code}: "
                f"{outcome.error_detail}); the server seems down, re-run later",
            )
        wait = self.backoff.delay(attempts, self._rng)
        if outcome.http_status == 503:
            told = outcome.retry_after or 0.0
            return Step(retry=retry, wait=max(wait, told), pause=told, stop=stop, reached=reached)
        return Step(retry=retry, wait=wait, stop=stop, reached=reached)
