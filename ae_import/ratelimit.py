"""Rates and the token bucket, with the clock passed in (tests never wait).

Shared by the sandbox (which answers 429 past its rate) and the run engine (which
paces itself).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

__all__ = ["Clock", "TokenBucket", "parse_rate"]

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
