"""The rate controller: it finds a server's limit after a 429 and sends just below it.

The clock and sleep are passed in, so tests never wait: the controller's unit tests
run it against the sandbox's limiter models (``sandbox/limits.py``) in simulated time.
The pacing primitives it shares with ``--rate`` (the token bucket, the pacer, waits
that a stop ends) are in ``pacing.py``; what it measures of its own traffic (send and
answer times, the latency) in ``traffic.py``.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .pacing import Clock, Sleep, wait_or_stop
from .traffic import Traffic

__all__ = ["Cut", "Throttle"]


@dataclass(frozen=True, slots=True)
class Cut:
    """One decrease of the controller, as the run log shows it."""

    refused: float  # the rate (requests/s) the server refused
    rate: float  # the rate allowed right after the cut
    ceiling: float  # the controller's estimate of the server's limit
    limit: int  # requests allowed in flight after the cut
    pause: float  # seconds every worker pauses (a long Retry-After), else 0
    status: int  # 429 or 503


class Throttle:
    """The run's rate controller: it finds the server's limit and sends just below it.

    Until the first answer that is not a refusal, ``INITIAL`` requests are in flight (a
    strict limiter would refuse the rest of a first burst); then, without a 429 (or 503),
    nothing acts: no pacing, ``max_limit`` requests in flight. After one, requests are
    paced at ``rate`` a second, and at most about ``rate`` x the latency (the least of
    the last answers', ``traffic.py``) of requests (with headroom) are in flight:
    concurrency follows from the rate, it is not halved blindly. Slots go to the
    workers waiting for one in the order they asked.

    - The cut, once per episode (a refusal of a request sent after the last cut): the
      rate falls from the rate the server refused (the pace, or the send rate up to
      the refused request's send if lower) to ``NEAR_BETA`` of it when that is within
      15% of the last limit found (the limit held: a small step back), else to ``BETA`` of it (a
      limit that moved), or ``FIRST`` (the first refusal, of an unpaced burst that
      may be far above the limit), and to ``DIVE`` while no request sent
      since the last cut has been accepted (far above the limit). The limit found is the
      rate refused; lower when the server accepted much less than that over the last
      2 s (a burst hid the limit), or when it was refused well under the last limit found
      (CUBIC's fast convergence); in a dive, the rate the server accepted. Three
      refinements (issue 23's bench, reproduced in ``tests/helpers/ratesim.py``):
      a refusal at or under the limit found after ``HELD`` requests accepted is
      jitter, not a new limit (a burst-1 bucket refuses a request 1 ms early): a
      ``JITTER_BETA`` step back and the limit kept, unless such refusals pass
      ``BUDGET`` of the requests accepted (then ``STEP`` down: the limit was a
      little high). Refused on and on for ``CLOSED`` x latency with nothing accepted
      is a closed window: every worker waits until the first moment a refusal of
      this streak named (its Retry-After, up to ``LONG_WAIT``; with none ahead, as
      long again as it has been closed, until a ``WINDOW`` after it closed at most)
      instead of being refused on and on, and the limit found is what the server
      accepted from the first acceptance after the last streak of refusals to this
      one (a fixed window's count, not the two windows the last second spans): a
      count, so the probe above it is slow.
      The first refusal after such a pause counts again: what the server let in
      since it reopened, if within a ``WINDOW``, is that window's count or more (an
      unpaced first burst's count may span two windows); it lowers the limit
      found, and no dive finds more than it; and, its count spent, every worker
      waits for that window's edge, a ``WINDOW`` after it reopened.
      Refused only with K or more requests in flight, never fewer, where K /
      latency carries the limit found: a concurrency limit, so at most K are in
      flight and the pacer keeps out of its way (``CROWD``).
    - The climb back, in time since the cut, CUBIC-like: fast when far below the
      cruise rate (``MARGIN`` under the refused rate), reaching it after ``RECOVER``
      seconds; then slow near it, probing above on a cubic that adds 1% of the limit
      in ``PROBE`` x 0.22 s and doubles it in ``PROBE`` s (a limit that was raised is
      found again).
    - ``Retry-After`` is a floor: the refused row never goes again before it (the
      engine waits); one longer than ``LONG_WAIT`` (a spent quota, a closed window:
      every request would be refused) pauses every worker. A shorter one cuts the rate
      and nothing more: a token bucket's ``Retry-After: 1`` often means 50 ms, and a
      whole second of silence from every worker would waste 20 requests at 20/s.

    Every wait ends early when the run stops (``acquire``'s ``stop``): a one-hour pause
    never outlives a deadline. ``rate`` (None when unpaced) and ``paused_until`` are
    read by the run's monitors; ``cuts`` counts the decreases and ``on_cut`` hears each.
    """

    BETA = 0.7  # the cut from a rate far from the last limit found (CUBIC's beta)
    NEAR_BETA = 0.9  # the cut from a rate within 15% of the last limit found
    DIVE = 0.5  # the cut while nothing sent since the last cut was accepted
    FIRST = 0.25  # the first cut, from an unpaced burst: two dives at once (one 429 each)
    MARGIN = 0.03  # cruise this far below the rate the server refused
    RECOVER = 1.0  # seconds from a cut back to the cruise rate (CUBIC's K)
    PROBE = 60.0  # seconds of probing above cruise that double the rate, at a known limit
    PROBE_FAST = 10.0  # the same while the limit is an estimate, not yet refused twice
    WINDOW = Traffic.WINDOW  # seconds the send rate and the accepted rate are measured over
    MIN_RATE = Traffic.MIN_RATE
    LONG_WAIT = 2.0  # a longer Retry-After pauses every worker
    HEADROOM = 1.5  # requests in flight: rate x latency x HEADROOM, plus one
    INITIAL = 2  # requests in flight until the first answer comes
    JITTER_BETA = 0.95  # a refusal at a rate that held: this small step back
    CLOSED = 2.0  # refused for this x latency with nothing accepted: a closed window
    HELD = 40  # requests accepted since the last cut that make its rate one that held (2 s)
    BUDGET = 0.005  # refusals at a rate that held, per request accepted, before a STEP
    STEP = 0.02  # ... down of the limit found
    FAR = 0.7  # accepted under this share of what was sent since the first refusal: far above
    FAR_FLOOR = 0.7  # ... and the limit found is the accepted rate, at least this x refused
    OVER = 0.03  # more refused than this share since the last cut: above the limit
    CROWD = 0.95  # a cap on requests in flight is kept if it allows this share of the limit

    def __init__(
        self,
        limit: int,
        clock: Clock,
        sleep: Sleep,
        on_cut: Callable[[Cut], None] | None = None,
    ) -> None:
        """Allow ``limit`` requests in flight, unpaced; tell ``on_cut`` of each cut."""
        self.max_limit = limit
        self.limit = min(limit, self.INITIAL)
        self.in_flight = 0
        self.paused_until = 0.0
        self.ceiling: float | None = None  # the last rate the server refused
        self.cuts = 0
        self._on_cut = on_cut
        self._paced = False
        self._known = False  # refused twice near the same rate: the limit is known
        self._base = 0.0  # the rate right after the last cut
        self._cut_at = -math.inf
        self._accepted_since_cut = False
        self._next_send = 0.0
        self._traffic = Traffic(limit)  # the times all figures are measured from
        self._drained: float | None = None  # the send time of the first refused request
        self._held = 0  # requests accepted since the last cut
        self._took_last = -math.inf  # the send time of the last request accepted
        self._refused_last = -math.inf  # ... and of the last refused
        self._open = (-math.inf, -math.inf)  # send times between two streaks of refusals
        self._closed = False  # the last streak was a closed window (it paused everyone)
        self._count: float | None = None  # the count of the window after a closed one
        self._back = math.inf  # the earliest moment a refusal of this streak named
        self._streak_from = 0.0  # ... and when its first came
        self._cap: int | None = None  # requests in flight a concurrency limit allows
        self._jitters = 0  # refusals taken for jitter since the limit was found
        self._kept = 0  # requests accepted since the limit was found
        self._dive_from = 0.0  # the last cut that was not a dive
        self._probe_sent: float | None = None  # the first send after it
        self._took_since_dive = False  # a request sent after it was accepted
        self._fewest = limit  # the fewest other requests in flight at a refusal
        self._out = 0  # requests sent and not answered yet (not those waiting to go)
        self._clock = clock
        self._sleep = sleep
        self._queue: deque[asyncio.Future[bool]] = deque()  # waiting for a slot, in order
        self._watchers: dict[asyncio.Event, asyncio.Future[None]] = {}  # end waits at a stop

    @property
    def latency(self) -> float | None:
        """Return the least latency of the last accepted answers (None before the first)."""
        return self._traffic.latency

    @property
    def rate(self) -> float | None:
        """Return the requests a second allowed now, or None while unpaced."""
        if not self._paced:
            return None
        return self._rate_at(self._clock())

    def _rate_at(self, now: float) -> float:
        assert self.ceiling is not None
        cruise = self.ceiling * (1 - self.MARGIN)
        since = now - self._cut_at
        if since < self.RECOVER:
            # Concave: most of the way back in the first third of RECOVER.
            return cruise - (cruise - self._base) * (1 - since / self.RECOVER) ** 3
        probe = self.PROBE if self._known else self.PROBE_FAST
        return cruise + self.ceiling * ((since - self.RECOVER) / probe) ** 3

    def _pace(self, now: float) -> float:
        """Return the rate the pacer keeps now (requests a second)."""
        pace = self._rate_at(now)
        latency = self.latency
        if self._cap is not None and latency:
            # Under a cap on requests in flight the cap sets the rate; the pacer keeps
            # the sends apart at the rate the cap allows.
            pace = max(pace, self._cap / latency)
        return pace

    async def acquire(self, stop: asyncio.Event | None = None) -> float | None:
        """Take a slot (first come, first served), then wait out the pause and the pacer.

        Return the send time, holding the slot; or None, holding none, as soon as
        ``stop`` is set.
        """
        if self.in_flight < self.limit and not self._queue:
            self.in_flight += 1
        elif not await self._turn(stop):
            return None  # stopped while waiting for a slot
        now = self._clock()
        held = False  # held for the pacer: sent on its schedule
        # Unpaced, never paused, not stopped: nothing to wait for (the fast path).
        while self._paced or self.paused_until or (stop is not None and stop.is_set()):
            if stop is not None and stop.is_set():
                self._give_back()
                return None
            if now < self.paused_until:
                await wait_or_stop(self._sleep(self.paused_until - now), stop)
            elif self._paced and now < self._next_send:
                await wait_or_stop(self._sleep(self._next_send - now), stop)
                held = True
            else:
                break
            now = self._clock()
        if self._paced:
            pace = self._pace(now)
            # On a schedule, so late wake-ups do not add up (1 ms late at every 50 ms
            # gap is 2% of the rate), but the gap after a late send shrinks by MARGIN
            # at most: never shorter than the limit found allows (a strict limiter
            # refuses a request that comes early).
            gap = 1.0 / pace
            self._next_send = max(now - self.MARGIN * gap, self._next_send) + gap
        if self._probe_sent is None and self._paced:
            self._probe_sent = now
        self._out += 1
        self._traffic.sent(now, held)
        return now

    async def _turn(self, stop: asyncio.Event | None) -> bool:
        """Wait for a slot in line; return False, holding none, once ``stop`` is set.

        The waiter awaits its own future, nothing more: one task watches ``stop`` for
        every waiter in line. (``wait_or_stop``'s task and ``asyncio.wait`` for each
        waiter took 30 us of CPU a request at 50 in flight, unpaced; this, 9 us.)
        """
        if stop is not None:
            if stop.is_set():
                return False
            self._watch(stop)
        turn: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append(turn)
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled() and turn.result():
                self._give_back()  # handed a slot just as the worker was cancelled
            raise

    def _watch(self, stop: asyncio.Event) -> None:
        """Have one task end every wait in line when ``stop`` is set."""
        if stop not in self._watchers:
            self._watchers[stop] = asyncio.ensure_future(self._stop_waits(stop))

    async def _stop_waits(self, stop: asyncio.Event) -> None:
        await stop.wait()
        del self._watchers[stop]
        for turn in self._queue:
            if not turn.done():
                turn.set_result(False)
        self._queue.clear()

    def _give_back(self) -> None:
        """Free a slot and hand free slots to the first waiters."""
        self.in_flight -= 1
        self._hand_over()

    def _hand_over(self) -> None:
        queue = self._queue
        while queue and self.in_flight < self.limit:
            turn = queue.popleft()
            if not turn.done():  # not given up (cancelled)
                self.in_flight += 1
                turn.set_result(True)
        if not queue and self._watchers:
            # Nobody in line: the watchers go (a run that ends leaves no task behind).
            for watcher in self._watchers.values():
                watcher.cancel()
            self._watchers.clear()

    async def release(self) -> None:
        """Give back the slot of a request sent (``acquire`` returned its send time)."""
        self._out -= 1
        self._give_back()

    def rate_limited(self, wait: float, sent_at: float | None = None, status: int = 429) -> None:
        """Record a 429 (or 503) whose ``Retry-After`` is ``wait`` s; cut once per episode."""
        now = self._clock()
        pause = wait if wait > self.LONG_WAIT else 0.0
        # In the server with it: those sent and not answered (the refused one is given
        # back), and those answered since it was sent (the server let them go before
        # its refusal came back: the ways back jitter).
        since = now if sent_at is None else sent_at
        traffic = self._traffic
        others = self._out + traffic.answered_since(since)
        if self._drained is None:
            self._drained = now if sent_at is None else sent_at
        this = now if sent_at is None else sent_at
        if self._took_last > self._refused_last or self._refused_last == -math.inf:
            # Refused after an acceptance: a new streak of refusals. Between the last
            # streak and this one the server was open (a window's count).
            self._open = (self._refused_last, this)
            self._back, self._streak_from = math.inf, now
        self._refused_last = max(self._refused_last, this)
        self._back = min(self._back, now + wait)
        if sent_at is not None and sent_at < self._cut_at:
            self._crowded(others, self.ceiling)
            self._pause(now, pause)
            return  # sent before the last cut: the same episode
        sent = traffic.send_rate(this)
        latency = self.latency
        # The pace (a cap on requests in flight may set it above the rate), or the rate
        # requests went at if lower (too few in flight, too few rows); but in the first
        # WINDOW after the first answer, the pace if the pacer held the refused request:
        # the send rate would count the wait for the first answers (TLS handshakes, a
        # stalled loop) as a trickle of ours.
        pace = self._pace(now) if self._paced else sent
        first = traffic.first_answer is not None and this - self.WINDOW < traffic.first_answer
        refused = pace if first and this in traffic.scheduled else min(pace, sent)
        last = self.ceiling
        if last is not None and not self._accepted_since_cut:
            # Refused again and nothing sent since the last cut came back accepted:
            # the refused rate says little (a closed window refuses any rate); the
            # rate the server accepted says where its limit is.
            beta = self.DIVE
            measured = traffic.accepted_rate(now, 0.05, 2 * self.WINDOW)
            # Over a WINDOW at least: a burst of 20 in 0.3 s is not 66 a second.
            took = measured[0] * measured[2] / max(measured[2], self.WINDOW) if measured else 0
            # ... and it is at least BETA of the last rates (a pause may be measured).
            found = max(took, min(refused, last) * self.BETA)
            self._known = False
            if self._count is not None and found >= self._count:
                found, self._known = self._count, True
            probe = self._probe_sent
            if (
                probe is not None
                and latency is not None
                and not self._took_since_dive
                and now - probe > latency * self.CLOSED
            ):
                # Refused on and on, for longer than an answer takes, whatever the
                # rate: a closed window. Every worker waits (up to LONG_WAIT) until the
                # first moment a refusal of this streak named, when it opens, rather
                # than be refused again; with none ahead (Retry-After 0 or none, or
                # refused after it), as long again as it has been closed: a backoff of
                # the probes, fewer refusals than a dive every 0.1 s, and no whole
                # Retry-After (or our own backoff) waited again for a sliding window
                # that opens bit by bit; but never past a WINDOW after the streak began,
                # when a window that closed then has reopened (a backoff that doubled
                # past a fixed window's edge let in the tail of one window and all of
                # the next before a refusal: a count of two).
                back = self._back if self._back > now else now + now - self._streak_from
                if self._back <= now and self._streak_from + self.WINDOW > now:
                    back = min(back, self._streak_from + self.WINDOW)
                pause = max(pause, min(back - now, self.LONG_WAIT))
                # The limit is what the server accepted while it was open, between the
                # last streak of refusals and this one: the window's count (the last
                # WINDOW s would span two windows of a fixed one, up to twice the
                # limit). A count, not a guess: the probe above it is the slow one.
                counted = traffic.open_rate(*self._open)
                if counted:
                    found, self._known = counted, True
                self._closed = True
        else:
            self._dive_from = now
            self._probe_sent = None
            self._took_since_dive = False
            near = last is not None and abs(refused - last) <= 0.15 * last
            beta = self.NEAR_BETA if near else self.BETA
            if last is None:
                beta = self.FIRST
            found = refused
            if last is not None and refused < last * (1 - 2 * self.MARGIN):
                # Refused well below the limit found: it was too high (a burst hid
                # the limit), and is lower still (CUBIC's fast convergence).
                found = refused * (1 + self.NEAR_BETA) / 2
            self._known = near and abs(refused - (last or 0)) <= 0.05 * refused
            # Since the first refusal: before it, a saved-up burst was being spent,
            # which says nothing of the limit's rate.
            measured = traffic.accepted_rate(now, self.WINDOW / 4, 3 * self.WINDOW, self._drained)
            if measured is not None and measured[0] < measured[1] * self.FAR:
                # Far above the limit: since the saved-up burst was spent, the server
                # has accepted only its rate of what was sent (a bucket's refill, a
                # window's count), whatever the rate refused says.
                found = min(found, max(measured[0], refused * self.FAR_FLOOR))
            elif last is not None and self._held >= self.HELD and refused <= last:
                # Refused at a rate that held for HELD requests or more.
                held = traffic.accepted_rate(now, 0.0, 3 * self.WINDOW, self._cut_at)
                took, tried, seconds = held or (0.0, 0.0, 0.0)
                missed = (tried - took) * seconds  # refused (or failed) since the last cut
                if seconds >= 2 * self.WINDOW and took < tried * (1 - self.OVER) and missed >= 2:
                    # Refused often lately: a little above the limit (a bucket's burst
                    # hid it), which is the rate the server accepted.
                    found = min(last, max(took, refused * self.NEAR_BETA))
                else:
                    # The timing of one request (jitter on the way, a strict limiter),
                    # not a new limit: a small step back, and the limit found stays,
                    # unless such refusals, counted since it was found, pass BUDGET:
                    # then it was a little high (a window's count, a bucket's refill).
                    beta = self.JITTER_BETA
                    found = last
                    self._known = True
                    self._jitters += 1
                    if self._jitters >= 2 and self._jitters > self.BUDGET * self._kept:
                        found = last * (1 - self.STEP)
                        self._jitters = self._kept = 0
        if self._closed and self._open[1] == this and last is not None:
            # The first refusal after a closed window's pause: what the server let in
            # since it reopened is one window's count (the first burst's may span two
            # windows of a fixed one: 37 found for 20 when an edge fell inside it).
            window = traffic.window_count(*self._open)
            if window is not None:
                count, reopened = window
                if count < found:
                    found, self._known = count, True
                    self._count = count
                # Its count spent, the window stays closed until its edge, a WINDOW
                # after it reopened (or the moment a refusal named, if sooner): every
                # worker waits rather than be refused on until a dive finds it closed.
                named = self._back if self._back > now else math.inf  # none ahead: 0
                back = min(named, reopened + self.WINDOW)
                pause = max(pause, min(back - now, self.LONG_WAIT))
        if self._open[1] == this:
            self._closed = False
        if found != last:
            self._jitters = self._kept = 0  # a new limit: its refusals counted afresh
        self.ceiling = max(self.MIN_RATE, found)
        self._crowded(others, self.ceiling)
        self._base = max(self.MIN_RATE, refused * beta)
        self._cut_at = now
        self._paced = True
        self._accepted_since_cut = False
        self._held = 0
        self._pause(now, pause)
        self._next_send = max(self._next_send, now + 1.0 / self._base, self.paused_until)
        self._set_limit(self._base)
        self.cuts += 1
        if self._on_cut is not None:
            self._on_cut(Cut(refused, self._base, self.ceiling, self.limit, pause, status))

    def _crowded(self, others: int, ceiling: float | None) -> None:
        """Learn a limit on requests in flight from a refusal with ``others`` in flight.

        A server that counts requests in flight (429 beyond K) refuses only while K of
        ours are in it, so never with fewer than K in flight here. If the fewest ever in
        flight at a refusal would still carry most of the limit found, they are the
        cap, and the rate follows from it. A rate limit refuses with few in flight too
        (one, at 20/s and 100 ms), and so gets no cap.
        """
        if not self.latency or ceiling is None:  # no latency measured yet (or none)
            return
        self._fewest = min(self._fewest, others)
        fewest = self._fewest
        keep = fewest >= 1 and fewest / self.latency >= self.CROWD * ceiling
        self._cap = fewest if keep else None

    def _pause(self, now: float, pause: float) -> None:
        if pause > 0:
            self.paused_until = max(self.paused_until, now + pause)

    def _set_limit(self, rate: float) -> None:
        """Allow about ``rate`` x latency requests in flight, with headroom (all, unpaced)."""
        if not self._paced or self.latency is None:
            return
        wanted = math.ceil(rate * self.latency * self.HEADROOM) + 1
        if self._cap is not None:
            wanted = self._cap  # a limit on requests in flight: it bounds the rate
        self.limit = max(1, min(self.max_limit, wanted))

    async def answered(self, latency: float | None = None, sent_at: float | None = None) -> None:
        """Record an answer that was not a 429 (nor a 503), ``latency`` s after its send."""
        self._traffic.took(latency, sent_at, self._clock())
        if sent_at is None or sent_at >= self._dive_from:
            self._took_since_dive = True
        if sent_at is None or sent_at >= self._cut_at:
            self._accepted_since_cut = True
            self._held += 1
            self._kept += 1
        if sent_at is not None:
            self._took_last = max(self._took_last, sent_at)
        if self._paced:
            self._set_limit(self._rate_at(self._clock()))
        else:
            self.limit = self.max_limit  # the first answer: no limit in sight
        self._hand_over()
