"""The run meter: a run's events, a minute at a time, into the ledger's per-minute series.

``RunMeter`` is a ``Progress`` listener. It counts what each minute of a run sent and how
rows ended, the 429s, the seconds every worker was paused by them (a pause that runs into
the next minutes is split across them), the longest ``Retry-After``, and the pacer's rate
at the minute's end. A minute is added to the ledger once the run is past it, and the rest
when the run ends (``close``): a few rows a minute, whatever the run's size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ae_import.ledger import Ledger, Minute
from ae_import.records import Row

from .pacing import Clock
from .summary import Summary

__all__ = ["ENDS", "RunMeter"]

ENDS = ("created", "existing", "failed", "invalid")  # a row's ends the series counts
_MINUTE = 60.0
_METERED = frozenset({"sent", "retry", "row", "paused"})


class RunMeter:
    """Counts a run's events by minute and adds each finished minute to the ledger."""

    def __init__(
        self,
        ledger: Ledger,
        run_id: int,
        *,
        pace: Callable[[], float | None] = lambda: None,
        clock: Clock = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """Meter run ``run_id`` into ``ledger``; ``pace`` reads the pacer's rate (requests/s)."""
        self.ledger = ledger
        self.run_id = run_id
        self._pace = pace
        self._clock = clock
        self._started = clock()
        self._wall = datetime.fromtimestamp(wall(), UTC)
        self._minutes: dict[int, Minute] = {}
        self._paused_until = self._started
        self._flushed = 0  # minutes below this one are in the ledger

    def _at(self, index: int) -> Minute:
        minute = self._minutes.get(index)
        if minute is None:
            began = self._wall + timedelta(seconds=index * _MINUTE)
            stamp = began.isoformat(timespec="seconds").replace("+00:00", "Z")
            minute = self._minutes[index] = Minute(index, stamp)
        return minute

    def __call__(self, event: str, summary: Summary, row: Row | None, note: str) -> None:
        """Take one engine event (``Progress``)."""
        if event not in _METERED:
            return  # rows decided without a request (a resume's million skips) cost nothing
        now = self._clock()
        index = max(0, int((now - self._started) // _MINUTE))
        if event == "sent":
            self._at(index).sent += 1
        elif event == "retry":
            self._at(index).retries += 1
        elif event == "row" and note in ENDS:
            minute = self._at(index)
            setattr(minute, note, getattr(minute, note) + 1)
        elif event == "paused":
            self._paused(index, now, float(note))
        else:
            return
        self._at(index).pace = self._pace()
        if index > self._flushed:
            self._flush(index)

    def _paused(self, index: int, now: float, wait: float) -> None:
        """Count a 429 and its pause; split the new paused seconds across their minutes."""
        minute = self._at(index)
        minute.rate_limited += 1
        minute.max_retry_after = max(minute.max_retry_after or 0.0, wait)
        begin = max(now, self._paused_until)
        end = now + wait
        self._paused_until = max(self._paused_until, end)
        while begin < end:
            at = int((begin - self._started) // _MINUTE)
            edge = min(end, self._started + (at + 1) * _MINUTE)
            self._at(at).paused_s += edge - begin
            begin = edge

    def _flush(self, below: int) -> None:
        """Add the minutes before ``below`` to the ledger."""
        done = [self._minutes.pop(i) for i in sorted(self._minutes) if i < below]
        self.ledger.add_minutes(self.run_id, done)
        self._flushed = below

    def close(self) -> None:
        """Add every minute left to the ledger; keep the series of the last runs only."""
        if self._minutes:
            self._at(max(self._minutes)).pace = self._pace()
        self._flush(max(self._minutes, default=0) + 1)
        self.ledger.prune_minutes()
