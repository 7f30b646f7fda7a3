"""What the rate controller measures of its own traffic: sends, acceptances, latency.

The controller (``throttle.py``) decides; this keeps the times it decides from: when
each request went, which were accepted and when their answers came, and how long an
answer takes. Every figure is read off these times, by the send time of the requests
(what the server saw), never by how long an answer happened to take.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Traffic"]


class Traffic:
    """The send and answer times of the last seconds, and the latency they show."""

    WINDOW = 1.0  # seconds the send rate and the accepted rate are measured over
    LATENCIES = 20  # the latency is the least of this many last answers' (about 1 s at 20/s)
    MIN_RATE = 0.1  # the send rate when nothing went

    def __init__(self, limit: int) -> None:
        """Keep the times; remember the last ``limit`` sends the pacer held."""
        self.sends: deque[float] = deque()  # send times of the last 3 s and more
        self.scheduled: deque[float] = deque(maxlen=limit)  # ... of the last held for the pacer
        self.accepted: deque[float] = deque()  # send times of accepted requests
        self.answers: deque[float] = deque()  # ... and the times their answers came
        self.latencies: deque[float] = deque(maxlen=self.LATENCIES)
        self.first_send: float | None = None
        self.first_answer: float | None = None

    @property
    def latency(self) -> float | None:
        """Return the least latency of the last accepted answers (None before the first).

        The least, as BBR's min RTT: the first answers on each connection carry its TLS
        handshake and a stalled loop, tens to hundreds of ms, and a moving average that
        started from them read the server as slower for seconds (too few requests in
        flight, a cap on them missed, a closed window called late).
        """
        return min(self.latencies) if self.latencies else None

    def sent(self, now: float, held: bool = False) -> None:
        """Record a send at ``now``; ``held``: the pacer held it for its slot."""
        if held:
            self.scheduled.append(now)
        if self.first_send is None:
            self.first_send = now
        sends = self.sends
        sends.append(now)
        while sends[0] < now - 3 * self.WINDOW - 1:
            sends.popleft()

    def took(self, latency: float | None, sent_at: float | None, now: float) -> None:
        """Record an accepted answer at ``now``, ``latency`` s after its send at ``sent_at``."""
        if latency is not None:
            self.latencies.append(latency)
        if sent_at is not None:
            accepted = self.accepted
            accepted.append(sent_at)
            answers = self.answers
            answers.append(now)
            while answers[0] < answers[-1] - self.WINDOW:
                answers.popleft()
            while accepted and accepted[0] < sent_at - 3 * self.WINDOW - 1:
                accepted.popleft()
        if self.first_answer is None:
            self.first_answer = now

    def answered_since(self, since: float) -> int:
        """Return how many accepted answers came after ``since``."""
        return sum(1 for answer in self.answers if answer > since)

    def send_rate(self, at: float) -> float:
        """Return the rate requests were sent at over the ``WINDOW`` s up to ``at``.

        ``at`` is the refused request's send: what was sent after it says nothing of the
        rate refused, nor does how long its answer took (a first answer slowed by a TLS
        handshake or a stalled loop would read a burst as a trickle).
        """
        sends = [sent for sent in self.sends if at - self.WINDOW <= sent <= at]
        if not sends:
            return self.MIN_RATE
        # A burst of sends at one instant is measured over at least 50 ms.
        return len(sends) / min(self.WINDOW, max(at - sends[0], 0.05))

    def accepted_rate(
        self, now: float, shortest: float, span: float, since: float | None = None
    ) -> tuple[float, float, float] | None:
        """Return the rates accepted and sent, by send time, and the seconds they span.

        The span is the last ``span`` s whose answers have all come, from ``since`` on
        (None if shorter than ``shortest``).
        """
        latency = self.latency
        if self.first_send is None or latency is None:
            return None
        end = now - latency  # requests sent later may not be answered yet
        start = max(end - span, self.first_send, since or self.first_send)
        if end - start < shortest:
            return None  # too short to tell the limit from a burst
        took = sum(1 for sent in self.accepted if start <= sent <= end)
        sent = sum(1 for sent in self.sends if start <= sent <= end)
        return took / (end - start), sent / (end - start), end - start

    def open_rate(self, streak: float, end: float) -> float:
        """Return the rate accepted from the first acceptance after ``streak`` to ``end``.

        The stretch runs from the first send accepted after the last streak of refusals
        (a pause's end, a window's edge; not the last refusal before a pause) to the
        first refusal of this one (``end``). Its acceptances are counted up to now: a
        request sent just after that refusal may have reached the server first (the
        ways jitter).
        """
        took = [sent for sent in self.accepted if sent > max(streak, end - 3 * self.WINDOW)]
        if not took:
            return 0.0
        return len(took) / max(end - min(took), self.WINDOW)

    def window_count(self, streak: float, end: float) -> tuple[int, float] | None:
        """Return the requests let in from the first acceptance after ``streak`` to ``end``.

        With the send time of that first acceptance; None if it took longer than a
        ``WINDOW``. A window that reopened after a pause let in all of its count in
        this stretch (nothing went during the pause), so within a ``WINDOW`` it is that
        count, or more, never less; over a longer stretch our own pace would be
        counted. The requests sent before ``end`` and not answered yet count: they
        reached the server before the refused one.
        """
        took = [sent for sent in self.accepted if sent > max(streak, end - 3 * self.WINDOW)]
        if not took or end - min(took) > self.WINDOW:
            return None
        first = min(took)
        return max(len(took), sum(1 for sent in self.sends if first <= sent < end)), first
