"""Rates and the token bucket, with the clock passed in (tests never wait).

Shared by the sandbox (which answers 429 past its rate) and the run engine (which
paces itself).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

__all__ = ["Clock", "Pacer", "Sleep", "Throttle", "TokenBucket", "Wakeup", "parse_rate"]

Clock = Callable[[], float]

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)?\s*([a-z]+))?\s*$", re.IGNORECASE)
_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
}


def parse_rate(text: str) -> float:
    """Read a rate such as ``5``, ``5/s``, ``300/m`` or ``5000/12h``; return requests per second."""
    match = _RATE.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a rate; write it as 5/s, 300/m or 5000/12h")
    count, span, unit = match.groups()
    seconds = 1.0
    if unit is not None:
        name = unit.lower().rstrip("s") if len(unit) > 1 else unit.lower()
        if name not in _UNITS:
            raise ValueError(f"'{text}': unknown unit '{unit}'; use s, m, h or d")
        seconds = _UNITS[name] * (float(span) if span else 1.0)
    rate = float(count) / seconds
    if rate <= 0:
        raise ValueError(f"'{text}': a rate must be above zero")
    return rate


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, holding at most ``burst``."""

    def __init__(self, rate: float, burst: float | None = None, clock: Clock = time.monotonic):
        """Start full; ``burst`` defaults to one second's worth of tokens (at least 1)."""
        if rate <= 0:
            raise ValueError("rate must be above zero")
        self.rate = rate
        self.burst = max(1.0, rate if burst is None else burst)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def try_acquire(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` if there are enough and return 0.0; else return the seconds to wait."""
        self._refill()
        if self._tokens >= tokens:
            self._tokens -= tokens
            return 0.0
        return (tokens - self._tokens) / self.rate


Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Spaces sends to at most ``rate`` a second (``--rate``), across all workers."""

    def __init__(self, rate: float, clock: Clock, sleep: Sleep) -> None:
        """Pace to ``rate`` requests a second; no bursts beyond one token."""
        self._bucket = TokenBucket(rate, burst=1.0, clock=clock)
        self._sleep = sleep

    async def wait(self) -> None:
        """Return when the next send is allowed."""
        while (delay := self._bucket.try_acquire()) > 0:
            await self._sleep(delay)


class Wakeup:
    """A condition that coroutines wait on; notifying costs nothing when nobody waits."""

    def __init__(self) -> None:
        """Start with no waiters."""
        self._condition = asyncio.Condition()
        self._waiting = 0

    async def wait(self) -> None:
        """Wait for the next notify."""
        self._waiting += 1
        try:
            async with self._condition:
                await self._condition.wait()
        finally:
            self._waiting -= 1

    async def notify(self) -> None:
        """Wake every waiter, if there is one."""
        if self._waiting:
            async with self._condition:
                self._condition.notify_all()


class Throttle:
    """The run's shared brake: a pause after 429, and concurrency that backs off and recovers.

    On a 429 every worker pauses until ``Retry-After`` has passed, and the number of
    requests allowed in flight halves (at least 1). Each time as many answers as the
    current limit come back without a 429, the limit grows by one, up to its maximum
    (additive increase, multiplicative decrease).
    """

    def __init__(self, limit: int, clock: Clock, sleep: Sleep) -> None:
        """Allow ``limit`` requests in flight."""
        self.max_limit = limit
        self.limit = limit
        self.in_flight = 0
        self.paused_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self._good = 0
        self._changed = Wakeup()

    async def acquire(self) -> None:
        """Wait for the pause to end and for a free slot; take it."""
        while True:
            now = self._clock()
            if now < self.paused_until:
                await self._sleep(self.paused_until - now)
                continue
            if self.in_flight < self.limit:
                self.in_flight += 1
                return
            await self._changed.wait()

    async def release(self) -> None:
        """Give back a slot."""
        self.in_flight -= 1
        await self._changed.notify()

    def rate_limited(self, wait: float) -> None:
        """Record a 429: pause everyone for ``wait`` seconds and halve the limit."""
        self.paused_until = max(self.paused_until, self._clock() + wait)
        self.limit = max(1, self.limit // 2)
        self._good = 0

    async def answered(self) -> None:
        """Record an answer that was not a 429: recover the limit gradually."""
        if self.limit >= self.max_limit:
            return
        self._good += 1
        if self._good >= self.limit:
            self._good = 0
            self.limit += 1
            await self._changed.notify()
