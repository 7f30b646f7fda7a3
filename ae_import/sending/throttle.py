"""The run's pacing: the token bucket, ``--rate``'s pacer, and the brake after 429s.

The clock and sleep are passed in, so tests never wait. The token bucket is shared
with the sandbox, which answers 429 past its rate.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = [
    "Clock",
    "Pacer",
    "Sleep",
    "Throttle",
    "TokenBucket",
    "Wakeup",
    "wait_or_stop",
]

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


class Throttle:
    """The run's shared brake after 429s: a pause, a paced rate, and a concurrency limit.

    On a 429 every worker pauses until ``Retry-After`` has passed. The first 429 of an
    episode (one whose request left after the last cut) also cuts two things, as TCP
    and the AWS SDKs' adaptive retry mode do:

    - the send rate: requests are paced at 0.7 of the rate they were sent at over the
      last two seconds; each answer that is not a 429 raises it by 0.025 a second, so
      it grows about 2.5% a second, probing for the server's limit again;
    - the requests allowed in flight: halved (at least 1); each time as many answers
      as the current limit come back without a 429, it grows by one, up to its maximum.

    Without 429s none of this acts: no pacing, full concurrency. Every wait ends early
    when the run stops (``acquire``'s ``stop``): a one-hour pause never outlives a deadline.
    """

    BETA = 0.7  # multiplicative decrease of the rate on a 429
    STEP = 0.025  # rate increase per good answer (about 2.5% a second)
    WINDOW = 2.0  # seconds of sends the rate is measured over
    MIN_RATE = 0.1

    def __init__(self, limit: int, clock: Clock, sleep: Sleep) -> None:
        """Allow ``limit`` requests in flight, unpaced."""
        self.max_limit = limit
        self.limit = limit
        self.in_flight = 0
        self.paused_until = 0.0
        self.rate: float | None = None
        self._next_send = 0.0
        self._sends: deque[float] = deque()
        self._last_cut = -1.0
        self._clock = clock
        self._sleep = sleep
        self._good = 0
        self._changed = Wakeup()

    async def acquire(self, stop: asyncio.Event | None = None) -> float | None:
        """Wait for the pause, a free slot and the pacer; take the slot; return the send time.

        Return None, holding no slot, as soon as ``stop`` is set.
        """
        while True:
            if stop is not None and stop.is_set():
                return None
            now = self._clock()
            if now < self.paused_until:
                await wait_or_stop(self._sleep(self.paused_until - now), stop)
                continue
            if self.rate is not None and now < self._next_send:
                await wait_or_stop(self._sleep(self._next_send - now), stop)
                continue
            if self.in_flight < self.limit:
                self.in_flight += 1
                if self.rate is not None:
                    self._next_send = max(now, self._next_send) + 1.0 / self.rate
                sends = self._sends
                sends.append(now)
                while sends and sends[0] < now - self.WINDOW:
                    sends.popleft()
                return now
            await wait_or_stop(self._changed.wait(), stop)

    async def release(self) -> None:
        """Give back a slot."""
        self.in_flight -= 1
        await self._changed.notify()

    def rate_limited(self, wait: float, sent_at: float | None = None) -> None:
        """Record a 429: pause everyone for ``wait`` s; cut rate and limit once per episode."""
        now = self._clock()
        self.paused_until = max(self.paused_until, now + wait)
        if sent_at is not None and sent_at < self._last_cut:
            return  # sent before the last cut: the same episode
        self._last_cut = now
        span = min(self.WINDOW, max(now - self._sends[0], 0.05)) if self._sends else self.WINDOW
        measured = len(self._sends) / span
        current = measured if self.rate is None else min(self.rate, measured)
        self.rate = max(self.MIN_RATE, current * self.BETA)
        self._next_send = self.paused_until
        self.limit = max(1, self.limit // 2)
        self._good = 0

    async def answered(self) -> None:
        """Record an answer that was not a 429: raise the rate and the limit gradually."""
        if self.rate is not None:
            self.rate += self.STEP
        if self.limit >= self.max_limit:
            return
        self._good += 1
        if self._good >= self.limit:
            self._good = 0
            self.limit += 1
            await self._changed.notify()
