"""The engine against the sandbox's limiter models, in simulated time: no sleeping.

``VirtualLoop`` is an asyncio loop whose clock jumps to the next timer whenever nothing
is ready, so a 30 s run against a 20/s limiter takes a fraction of a second. The
``LimitedClient`` stands in for the network and the server: each request reaches the
server after a small, seeded, random delay, meets the limiter model there, and is
answered 429 at once (with ``Retry-After`` in the form asked) or 201 after the latency.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ae_import.ledger import Ledger
from ae_import.sandbox.limits import LimiterSpec, make_limiter, retry_after_value
from ae_import.sending import Engine, Outcome
from ae_import.sending.policy import parse_retry_after
from ae_import.sending.summary import Summary
from ae_import.sending.throttle import Cut
from tests.helpers.engine import engine_args, given, row

WALL = 1_800_000_000.25  # the simulated wall clock at loop time 0 (for HTTP-dates)
# Issue 23's limiter families, each at 20 requests a second (2 in flight at 100 ms).
LIMITERS = {
    "token bucket, burst 20": LimiterSpec("token-bucket", 20, 1.0, 20),
    "token bucket, burst 5": LimiterSpec("token-bucket", 20, 1.0, 5),
    "token bucket, burst 1": LimiterSpec("token-bucket", 20, 1.0, 1),
    "fixed window, 20 a second": LimiterSpec("fixed-window", 20, 1.0),
    "sliding window, 20 in any second": LimiterSpec("sliding-window", 20, 1.0),
    "2 in flight (20/s at 100 ms)": LimiterSpec("concurrency", 2, 1.0),
}


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on simulated time: when nothing is ready, time jumps to the next timer."""

    def __init__(self) -> None:
        """Start at t=0."""
        super().__init__()
        self.now = 0.0

    def time(self) -> float:
        """Return the simulated time."""
        return self.now

    def _run_once(self) -> None:
        ready = getattr(self, "_ready")  # noqa: B009 (CPython's loop internals)
        scheduled = getattr(self, "_scheduled")  # noqa: B009
        if not ready and scheduled:
            self.now = max(self.now, scheduled[0].when())
        super()._run_once()  # type: ignore[misc]


@dataclass(frozen=True)
class Jitter:
    """How much the timing of each request moves, in seconds (seeded, random).

    The default is measured against the real bench (``bench/ratelimit.py`` on a quiet
    machine, docs/benchmarks.md): a request reaches the sandbox a fraction of a
    millisecond after it is sent, but now and then (``hiccup_share``) a process switch,
    a garbage collection or the other side's event loop holds it up to ``hiccup``
    longer; the server's answer comes ``latency`` plus up to ``spread`` after it arrived,
    and travels back as the request came. With these figures the simulation shows the
    real bench's shortfalls (a fixed pacer at exactly the limit loses a third of its
    requests to a burst-1 bucket); with ``Jitter.NONE`` a perfect network.
    """

    way: float = 0.0003  # mean of the exponential part of each way
    hiccup_share: float = 0.02  # share of ways held up
    hiccup: float = 0.005  # the longest hold-up (uniform from 0)
    spread: float = 0.002  # the server's answer: latency plus uniform(0, spread)

    def one_way(self, rng: random.Random) -> float:
        """Return the seconds one way (there or back) takes."""
        held = rng.uniform(0, self.hiccup) if rng.random() < self.hiccup_share else 0.0
        return 0.0002 + rng.expovariate(1 / self.way) + held if self.way else held


QUIET = Jitter()
PERFECT = Jitter(way=0.0, hiccup_share=0.0, hiccup=0.0, spread=0.0)


@dataclass
class LimitedClient:
    """The network and a server behind a limiter model, on the loop's clock."""

    spec: LimiterSpec
    retry_after: str = "seconds"
    latency: float = 0.1
    seed: int = 1
    jitter: Jitter = QUIET
    statuses: Counter[int] = field(default_factory=Counter)
    created: set[str] = field(default_factory=set)
    not_before: dict[str, float] = field(default_factory=dict)  # a refused row's Retry-After
    early: int = 0  # requests sent before their row's Retry-After had passed
    # A slow first flight, as against a real https server: a request that finds no idle
    # connection opens one, which takes ``handshake`` s (TLS) before the request goes;
    # and the first request blocks the whole loop ``stall`` s (a TLS context built lazily).
    handshake: float = 0.0
    stall: float = 0.0
    idle: int = 0  # connections open and free

    def __post_init__(self) -> None:
        """Build the limiter on the running loop's clock."""
        loop = asyncio.get_running_loop()
        self.rng = random.Random(self.seed)
        # A window keyed by the wall clock starts at no particular moment of the run, and
        # ends on a whole second of it, as an HTTP-date does (the sandbox's windows run
        # on time.time(): a Retry-After date there is the window's edge).
        phase = self.rng.uniform(0, self.spec.period) if self.spec.kind == "fixed-window" else 0
        self.wall = math.floor(WALL) + phase if self.spec.kind == "fixed-window" else WALL
        self.limiter = make_limiter(self.spec, lambda: loop.time() + phase)

    def open(self) -> None:
        """Nothing to set up: the server is simulated."""

    async def create(self, body: bytes) -> Outcome:
        """Reach the server after a small delay; 429 at once, or 201 after the latency."""
        external_id = json.loads(body)["external_id"]
        loop = asyncio.get_running_loop()
        if loop.time() < self.not_before.get(external_id, 0.0) - 1e-9:
            self.early += 1
        if self.stall and isinstance(loop, VirtualLoop):
            loop.now += self.stall  # blocked: nothing else runs meanwhile
            self.stall = 0.0
        if self.idle:
            self.idle -= 1
        elif self.handshake:
            await asyncio.sleep(self.handshake * self.rng.uniform(0.8, 1.2))  # a new connection
        try:
            return await self._exchange(external_id, loop)
        finally:
            self.idle += 1

    async def _exchange(self, external_id: str, loop: asyncio.AbstractEventLoop) -> Outcome:
        """Send one request on an open connection: the way there, the server, the way back."""
        jitter = self.jitter
        await asyncio.sleep(jitter.one_way(self.rng))  # the way there
        wait = self.limiter.admit()
        if wait is not None:
            await asyncio.sleep(jitter.one_way(self.rng))  # the way back
            self.statuses[429] += 1
            now = asyncio.get_running_loop().time() + self.wall
            value = retry_after_value(self.retry_after, wait, now=now)
            seconds = parse_retry_after(value, now=lambda: datetime.fromtimestamp(now, UTC))
            self.not_before[external_id] = loop.time() + (seconds or 0.0)
            return Outcome("retry", 429, error_code="rate_limited", retry_after=seconds)
        try:
            await asyncio.sleep(self.latency + self.rng.uniform(0, jitter.spread))
        finally:
            self.limiter.release()
        await asyncio.sleep(jitter.one_way(self.rng))  # the way back
        self.statuses[201] += 1
        self.created.add(external_id)
        return Outcome("created", 201, engagement_id=f"eng_{external_id}", request_id="r")

    @property
    def url(self) -> str:
        """Return where requests would go."""
        return "https://api.example.com/api/v2/engagements"

    async def aclose(self) -> None:
        """Nothing to close."""


@dataclass(frozen=True)
class SimResult:
    """What one simulated run came to."""

    summary: Summary
    requests: int
    refused: int
    created: int
    limit_rate: float
    early: int

    @property
    def goodput(self) -> float:
        """Return rows created per second of the run, as a share of the limit."""
        return self.created / self.summary.duration_s / self.limit_rate

    @property
    def refused_share(self) -> float:
        """Return the share of requests answered 429."""
        return self.refused / self.requests


def simulate(
    spec: LimiterSpec,
    retry_after: str = "seconds",
    rows: int = 600,
    seed: int = 1,
    on_cut: Callable[[Cut], None] | None = None,
    jitter: Jitter = QUIET,
    handshake: float = 0.0,
    stall: float = 0.0,
    **settings: Any,
) -> SimResult:
    """Run ``rows`` rows through the engine against ``spec``; return the counts.

    ``on_cut`` hears each cut of the controller (with the loop's clock, for traces);
    ``handshake`` and ``stall`` slow the first flight (``LimitedClient``).
    """
    loop = VirtualLoop()
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "l.sqlite", "https://api.example.com/api")
        try:

            async def main() -> tuple[Summary, LimitedClient]:
                client = LimitedClient(
                    spec, retry_after, seed=seed, jitter=jitter, handshake=handshake, stall=stall
                )
                engine = Engine(
                    client,
                    ledger,
                    **engine_args(**settings),
                    clock=loop.time,
                    sleep=asyncio.sleep,
                    rng=random.Random(seed),
                    on_cut=on_cut,
                )
                summary = await engine.run((row(n) for n in range(rows)), given)
                return summary, client

            summary, client = loop.run_until_complete(main())
        finally:
            ledger.close()
            loop.close()
    return _result(spec, summary, client)


def _limit_rate(spec: LimiterSpec) -> float:
    """Return the limit in requests a second (a concurrency limit at 100 ms)."""
    return spec.count / 0.1 if spec.kind == "concurrency" else spec.rate


def _result(spec: LimiterSpec, summary: Summary, client: LimitedClient) -> SimResult:
    """Return what a run came to, from the server's counts."""
    return SimResult(
        summary,
        sum(client.statuses.values()),
        client.statuses[429],
        len(client.created),
        _limit_rate(spec),
        client.early,
    )


def simulate_pacer(
    spec: LimiterSpec,
    rows: int = 600,
    seed: int = 1,
    jitter: Jitter = QUIET,
    share: float = 1.0,
) -> SimResult:
    """Send ``rows`` rows at ``share`` of the limit on a fixed schedule, as the bench's reference.

    One request every 1/(share x limit) s; a refused row goes back in line once its
    Retry-After (in seconds) has passed. What a client that knows the limit gets through.
    """
    loop = VirtualLoop()
    limit_rate = _limit_rate(spec)

    async def main() -> tuple[float, LimitedClient]:
        client = LimitedClient(spec, "seconds", seed=seed, jitter=jitter)
        ready = list(range(rows))
        waiting: list[tuple[float, int]] = []
        tasks: set[asyncio.Task[None]] = set()

        async def send(n: int) -> None:
            outcome = await client.create(json.dumps({"external_id": f"p{n}"}).encode())
            if outcome.http_status == 429:
                waiting.append((loop.time() + (outcome.retry_after or 0.0), n))

        tick = 0
        while len(client.created) < rows:
            waiting.sort()
            while waiting and waiting[0][0] <= loop.time():
                ready.insert(0, waiting.pop(0)[1])
            if ready:
                task = asyncio.create_task(send(ready.pop(0)))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            tick += 1
            await asyncio.sleep(max(0.0, tick / (limit_rate * share) - loop.time()))
            if not ready and not waiting and not tasks:
                break
        await asyncio.gather(*tasks)
        return loop.time(), client

    try:
        seconds, client = loop.run_until_complete(main())
    finally:
        loop.close()
    summary = Summary()
    summary.duration_s = seconds
    return _result(spec, summary, client)
