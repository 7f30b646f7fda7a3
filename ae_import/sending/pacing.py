"""The run's pacing primitives: the token bucket, ``--rate``'s pacer, waits a stop ends.

The clock and sleep are passed in, so tests never wait. The token bucket is shared
with the sandbox, which answers 429 past its rate; the rate controller that finds a
server's limit after a 429 is ``throttle.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

__all__ = ["Clock", "Pacer", "Sleep", "TokenBucket", "Wakeup", "wait_or_stop"]

Clock = Callable[[], float]


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


async def wait_or_stop(waiting: Awaitable[object], stop: asyncio.Event | None) -> None:
    """Await ``waiting``, or give it up (cancelled) as soon as ``stop`` is set."""
    if stop is None:
        await waiting
        return
    task = asyncio.ensure_future(waiting)
    if stop.is_set():
        task.cancel()
        return
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        task.cancel()
        stopper.cancel()


class Pacer:
    """Spaces sends to at most ``rate`` a second (``--rate``), across all workers."""

    def __init__(self, rate: float, clock: Clock, sleep: Sleep) -> None:
        """Pace to ``rate`` requests a second; no bursts beyond one token."""
        self._bucket = TokenBucket(rate, burst=1.0, clock=clock)
        self._sleep = sleep

    async def wait(self, stop: asyncio.Event | None = None) -> bool:
        """Return True when the next send is allowed, or False as soon as ``stop`` is set."""
        while (delay := self._bucket.try_acquire()) > 0:
            if stop is not None and stop.is_set():
                return False
            await wait_or_stop(self._sleep(delay), stop)
        return True


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
