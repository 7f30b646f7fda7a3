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


@dataclass
class LimitedClient:
    """The network and a server behind a limiter model, on the loop's clock."""

    spec: LimiterSpec
    retry_after: str = "seconds"
    latency: float = 0.1
    seed: int = 1
    statuses: Counter[int] = field(default_factory=Counter)
    created: set[str] = field(default_factory=set)
    not_before: dict[str, float] = field(default_factory=dict)  # a refused row's Retry-After
    early: int = 0  # requests sent before their row's Retry-After had passed

    def __post_init__(self) -> None:
        """Build the limiter on the running loop's clock."""
        loop = asyncio.get_running_loop()
        self.limiter = make_limiter(self.spec, loop.time)
        self.rng = random.Random(self.seed)

    async def create(self, body: bytes) -> Outcome:
        """Reach the server after a small delay; 429 at once, or 201 after the latency."""
        external_id = json.loads(body)["external_id"]
        loop = asyncio.get_running_loop()
        if loop.time() < self.not_before.get(external_id, 0.0) - 1e-9:
            self.early += 1
        # The way there: 0.2 ms, plus now and then a scheduling hiccup of up to 2 ms.
        await asyncio.sleep(0.0002 + self.rng.expovariate(1 / 0.0003))
        wait = self.limiter.admit()
        if wait is not None:
            await asyncio.sleep(0.0005)
            self.statuses[429] += 1
            now = asyncio.get_running_loop().time() + WALL
            value = retry_after_value(self.retry_after, wait, now=now)
            seconds = parse_retry_after(value, now=lambda: datetime.fromtimestamp(now, UTC))
            self.not_before[external_id] = loop.time() + (seconds or 0.0)
            return Outcome("retry", 429, error_code="rate_limited", retry_after=seconds)
        try:
            await asyncio.sleep(self.latency + self.rng.uniform(0, 0.001))
        finally:
            self.limiter.release()
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
    **settings: Any,
) -> SimResult:
    """Run ``rows`` rows through the engine against ``spec``; return the counts.

    ``on_cut`` hears each cut of the controller (with the loop's clock, for traces).
    """
    loop = VirtualLoop()
    with tempfile.TemporaryDirectory() as folder:
        ledger = Ledger(Path(folder) / "l.sqlite", "https://api.example.com/api")
        try:

            async def main() -> tuple[Summary, LimitedClient]:
                client = LimitedClient(spec, retry_after, seed=seed)
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
    limit_rate = spec.count / 0.1 if spec.kind == "concurrency" else spec.rate
    return SimResult(
        summary,
        sum(client.statuses.values()),
        client.statuses[429],
        len(client.created),
        limit_rate,
        client.early,
    )
