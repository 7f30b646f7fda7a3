"""The sandbox's rate limiters: the shapes real APIs put in front of an endpoint.

Each model decides, at the moment a request arrives, whether it is served or refused
with 429, and if refused, how long until it could be served (the ``Retry-After`` the
server gives). The same models run the controller's unit tests in simulated time, so
what is tested is what ``ae-import sandbox`` serves.

=================  ======================================================================
limiter            rule
=================  ======================================================================
``token-bucket``   ``rate`` tokens a second, at most ``burst`` saved up (burst 1: strict)
``fixed-window``   ``limit`` requests per window of ``window`` s, reset on the window's edge
                   (on the minute for 1200/m), as counters keyed by the clock's window do
``sliding-window`` ``limit`` requests in any ``window`` s (a log of the admitted times)
``concurrency``    at most ``limit`` requests in flight; 429 beyond
=================  ======================================================================

``Retry-After`` can be given as whole seconds (rounded up, at least 1, as most servers
do), as an HTTP-date, as ``0`` ("retry now, at a lower rate") or left out (``none``).
"""

from __future__ import annotations

import email.utils
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from ae_import.sending import Clock, TokenBucket

__all__ = [
    "LIMITERS",
    "RETRY_AFTER_FORMS",
    "ConcurrencyLimit",
    "FixedWindow",
    "Limiter",
    "LimiterSpec",
    "SlidingWindow",
    "TokenBucketLimit",
    "make_limiter",
    "retry_after_value",
]

LIMITERS = ("token-bucket", "fixed-window", "sliding-window", "concurrency")
RETRY_AFTER_FORMS = ("seconds", "date", "0", "none")
# What a concurrency limit says to wait: it cannot know when a slot frees.
CONCURRENCY_RETRY_S = 1.0
# The limiter read the clock an instant before the date is written: a moment this little
# past a whole second is that second (a fixed window's edge, not the second after it).
EDGE_SLACK_S = 0.001


class Limiter(Protocol):
    """A server-side limit: serve a request now, or say how long until one would be."""

    def admit(self) -> float | None:
        """Serve a request arriving now (None), or refuse it: return the seconds to wait."""
        ...

    def release(self) -> None:
        """Record the end of a request that was served (only a concurrency limit counts)."""
        ...


class TokenBucketLimit:
    """A token bucket: ``rate`` a second, ``burst`` saved up."""

    def __init__(self, rate: float, burst: float | None, clock: Clock) -> None:
        """Start full."""
        self.bucket = TokenBucket(rate, burst, clock)

    def admit(self) -> float | None:
        """Take a token, or return the seconds until one is there."""
        wait = self.bucket.try_acquire()
        return None if wait <= 0 else wait

    def release(self) -> None:
        """Nothing to give back."""


class FixedWindow:
    """``limit`` requests per window of ``window`` seconds, counted from the clock's zero."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        """Start with an empty window."""
        self.limit = limit
        self.window = window
        self.clock = clock
        self._index = -1
        self._count = 0

    def admit(self) -> float | None:
        """Count the request in this window, or return the seconds to the next window."""
        now = self.clock()
        index = math.floor(now / self.window)
        if index != self._index:
            self._index, self._count = index, 0
        if self._count < self.limit:
            self._count += 1
            return None
        return (index + 1) * self.window - now

    def release(self) -> None:
        """Nothing to give back."""


class SlidingWindow:
    """``limit`` requests in any ``window`` seconds."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        """Start with an empty log."""
        self.limit = limit
        self.window = window
        self.clock = clock
        self._served: deque[float] = deque()

    def admit(self) -> float | None:
        """Log the request, or return the seconds until the oldest one leaves the window."""
        now = self.clock()
        served = self._served
        while served and served[0] <= now - self.window:
            served.popleft()
        if len(served) < self.limit:
            served.append(now)
            return None
        return served[0] + self.window - now

    def release(self) -> None:
        """Nothing to give back."""


class ConcurrencyLimit:
    """At most ``limit`` requests in flight."""

    def __init__(self, limit: int) -> None:
        """Start with none in flight."""
        self.limit = limit
        self.in_flight = 0

    def admit(self) -> float | None:
        """Take a slot, or refuse (the server cannot know when one frees)."""
        if self.in_flight < self.limit:
            self.in_flight += 1
            return None
        return CONCURRENCY_RETRY_S

    def release(self) -> None:
        """Free the slot of a request served."""
        self.in_flight -= 1


@dataclass(frozen=True)
class LimiterSpec:
    """Which limiter, and its numbers: ``count`` per ``period`` seconds (or in flight)."""

    kind: str = "token-bucket"
    count: float = 20.0
    period: float = 1.0
    burst: float | None = None

    @property
    def rate(self) -> float:
        """Return the limit in requests a second (for a concurrency limit: its slots)."""
        return self.count / self.period


def make_limiter(spec: LimiterSpec, clock: Clock) -> Limiter:
    """Build the limiter ``spec`` names, on ``clock``."""
    if spec.kind == "token-bucket":
        return TokenBucketLimit(spec.rate, spec.burst, clock)
    if spec.kind == "fixed-window":
        return FixedWindow(max(1, round(spec.count)), spec.period, clock)
    if spec.kind == "sliding-window":
        return SlidingWindow(max(1, round(spec.count)), spec.period, clock)
    if spec.kind == "concurrency":
        return ConcurrencyLimit(max(1, round(spec.count)))
    raise ValueError(f"'{spec.kind}' is not a limiter; use one of {', '.join(LIMITERS)}")


def retry_after_value(form: str, wait: float, now: float | None = None) -> str | None:
    """Return the ``Retry-After`` of a refusal ``wait`` s long, in ``form`` (None: no header).

    ``seconds`` rounds up to whole seconds, at least 1 (HTTP allows integers only);
    ``date`` is the first whole second at or after the moment (HTTP-dates have no
    fractions), ``now`` being the wall clock (``time.time()`` by default), read a
    little after the limiter's: within ``EDGE_SLACK_S`` past a whole second, that one.
    """
    if form == "none":
        return None
    if form == "0":
        return "0"
    if form == "date":
        moment = (time.time() if now is None else now) + wait
        return email.utils.formatdate(math.ceil(moment - EDGE_SLACK_S), usegmt=True)
    return str(max(1, math.ceil(wait)))
