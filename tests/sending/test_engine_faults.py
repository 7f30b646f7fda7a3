"""Fault injection over real HTTP on loopback: every fault, every row's final state.

The engine runs with a real client through a fault proxy in front of the sandbox.
Its clock and sleep are fake, so backoff and Retry-After waits cost no wall time
and can be checked exactly: for every 429 answered at fake time t with a wait of R,
no request goes out before t + R.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time as wall
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ae_import.ledger.db import Ledger
from ae_import.records import Row
from ae_import.sandbox.faults import FAULTS, FaultPlan, FaultProxy, parse_fault
from ae_import.sending import EngagementClient, Engine, Outcome
from ae_import.sending.policy import Backoff
from ae_import.sending.summary import Summary
from tests.helpers import SANDBOX_TOKEN, Sandboxes
from tests.helpers.engine import FakeTime, engine_args, given, row
from tests.helpers.ledgerdb import integrity_ok, ledger_row


class Recording:
    """Wraps the real client: records each request's fake send time and its answer."""

    def __init__(self, client: EngagementClient, time: FakeTime) -> None:
        """Wrap ``client``; times come from ``time``."""
        self.client = client
        self.time = time
        self.sent: list[tuple[float, str]] = []
        self.answers: list[tuple[float, float, str, Outcome]] = []  # fake, real, id, outcome
        self.order: list[tuple[str, float, Outcome | None]] = []  # sends and answers, in order

    def open(self) -> None:
        """Get the real client ready."""
        self.client.open()

    async def create(self, body: bytes) -> Outcome:
        """Send through the real client; record when and what came back."""
        external_id = json.loads(body)["external_id"]
        self.sent.append((self.time.now, external_id))
        self.order.append(("sent", self.time.now, None))
        outcome = await self.client.create(body)
        self.answers.append((self.time.now, wall.time(), external_id, outcome))
        self.order.append(("answer", self.time.now, outcome))
        return outcome

    @property
    def url(self) -> str:
        """Return the real client's URL."""
        return self.client.url

    async def aclose(self) -> None:
        """Close the real client."""
        await self.client.aclose()


@dataclass
class Result:
    """What a run through the fault proxy left behind."""

    summary: Summary
    ledger: Ledger
    proxy: FaultProxy
    server: Any
    client: Recording


def run_faults(
    sandboxes: Sandboxes,
    tmp_path: Path,
    plan: FaultPlan,
    rows: list[Row],
    *,
    max_attempts: int = 5,
    timeout: float = 30.0,
    concurrency: int = 4,
    retry_budget: int = 1000,
) -> Result:
    """Import ``rows`` through a fault proxy with ``plan``; return what it left."""
    server = sandboxes.start()
    proxy = FaultProxy(("127.0.0.1", int(server.base_url.rsplit(":", 1)[1].split("/")[0])), plan)
    proxy.start()
    time = FakeTime()
    client = Recording(
        EngagementClient(proxy.base_url, SANDBOX_TOKEN, timeout=timeout, concurrency=concurrency),
        time,
    )
    ledger = Ledger(tmp_path / "l.sqlite", proxy.base_url)
    engine = Engine(
        client,
        ledger,
        **engine_args(
            concurrency=concurrency,
            max_attempts=max_attempts,
            retry_budget=retry_budget,
            backoff=Backoff(),
        ),
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(5),
    )

    async def drive() -> Summary:
        try:
            return await engine.run(rows, given)
        finally:
            await client.aclose()

    try:
        summary = asyncio.run(drive())
    finally:
        proxy.stop()
    return Result(summary, ledger, proxy, server, client)


def entry_of(ledger: Ledger, external_id: str) -> dict[str, Any]:
    """Return the ledger row of ``external_id``, which must exist."""
    found = ledger_row(ledger, external_id)
    assert found is not None
    return dict(found)


def check_invariants(result: Result, valid: list[str], max_attempts: int) -> None:
    """Check the promises of a fault run: one creation per id, bounded attempts, none pending.

    A 429 is the limiter's answer, not the row's failure: it never uses up an attempt.
    """
    store = result.server.store
    assert result.ledger.counts()["pending"] == 0
    done = {e for e in valid if entry_of(result.ledger, e)["status"] in ("created", "existing")}
    stored = set(store.external_ids())
    assert done <= stored <= set(valid)
    creations = result.server.app.state.sandbox.statuses.get(201, 0)
    assert creations == store.count() == len(stored)  # never created twice
    for external_id in valid:
        limited = result.proxy.rate_limited(external_id)
        assert result.proxy.attempts(external_id) - limited <= max_attempts
        entry = entry_of(result.ledger, external_id)
        assert entry["attempts"] - limited <= max_attempts  # the ledger counts every request
        if external_id in done:
            assert entry["engagement_id"] == store.get(external_id)["id"]
    assert integrity_ok(result.ledger)


def ids(n: int) -> list[str]:
    """Return n external_ids."""
    return [f"f{i}" for i in range(n)]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ("500", "created"),
        ("503", "created"),
        ("reset-before", "created"),
        ("reset-after", "created"),
        ("non-json", "created"),
        ("truncated", "created"),
        ("create-500", "created"),
    ],
)
def test_each_fault_then_success(
    sandboxes: Sandboxes, tmp_path: Path, fault: str, status: str
) -> None:
    """Two attempts hit the fault, the third succeeds: one engagement, created by this run."""
    names = ids(6)
    plan = FaultPlan(script={e: [fault, fault] for e in names})
    result = run_faults(sandboxes, tmp_path, plan, [row(e) for e in names])
    assert result.summary.clean
    assert (result.summary.created, result.summary.existing) == (6, 0)
    assert result.server.store.count() == 6
    created_first = fault in ("reset-after", "non-json", "truncated", "create-500")
    for external_id in names:
        assert result.proxy.attempts(external_id) == 3
        entry = entry_of(result.ledger, external_id)
        assert entry["status"] == status
        assert entry["http_status"] == (200 if created_first else 201)  # the answer, as it came
    assert result.proxy.injected[fault] == 12
    check_invariants(result, names, 5)


@pytest.mark.parametrize("fault", ["503", "reset-before", "reset-after", "create-500", "truncated"])
def test_fault_that_never_ends_leaves_rows_retryable(
    sandboxes: Sandboxes, tmp_path: Path, fault: str
) -> None:
    """A fault on every attempt: exactly --max-attempts tries, then the row is retryable."""
    names = ids(3)
    plan = FaultPlan(script={e: [fault] * 10 for e in names})
    result = run_faults(sandboxes, tmp_path, plan, [row(e) for e in names], max_attempts=3)
    assert result.summary.retryable == 3
    for external_id in names:
        assert result.proxy.attempts(external_id) == 3
        entry = ledger_row(result.ledger, external_id)
        assert entry is not None
        assert (entry["status"], entry["attempts"]) == ("retryable", 3)
    created_anyway = fault in ("reset-after", "create-500", "truncated")
    assert result.server.store.count() == (3 if created_anyway else 0)
    check_invariants(result, names, 3)


def test_answer_slower_than_the_timeout_is_retried(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """An answer held past --timeout is a retry; the engagement was created once."""
    names = ids(2)
    plan = FaultPlan(script={e: ["slow"] for e in names}, slow_s=3.0)
    result = run_faults(sandboxes, tmp_path, plan, [row(e) for e in names], timeout=0.5)
    assert (result.summary.created, result.summary.existing) == (2, 0)  # the 200 is ours
    timeouts = [o for *_, o in result.client.answers if o.error_code == "timeout"]
    assert len(timeouts) == 2
    check_invariants(result, names, 5)


@pytest.mark.parametrize("fault", ["429", "429-date"])
def test_429_storm_waits_are_never_shorter_than_retry_after(
    sandboxes: Sandboxes, tmp_path: Path, fault: str
) -> None:
    """Under a storm of 429s, no request leaves before the last Retry-After has passed."""
    names = ids(20)
    plan = FaultPlan(rates={fault: 0.6}, seed=11, retry_after=7.0)
    result = run_faults(sandboxes, tmp_path, plan, [row(e) for e in names], max_attempts=8)
    order = result.client.order
    limited = 0
    for index, (kind, fake, outcome) in enumerate(order):
        if kind != "answer" or outcome is None or outcome.http_status != 429:
            continue
        limited += 1
        wait = outcome.retry_after
        assert wait is not None
        if fault == "429":
            assert wait == 7.0
        else:
            assert 5.0 <= wait <= 7.0  # an HTTP-date has whole seconds
        later = [t for k, t, _ in order[index + 1 :] if k == "sent"]
        assert all(t >= fake + wait for t in later)
    assert limited >= 10
    check_invariants(result, names, 8)
    assert result.summary.created + result.summary.retryable == 20


def test_429_date_form_is_read_against_the_clock(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """Retry-After as an HTTP-date: the wait lasts until that date, read when the answer came."""
    plan = FaultPlan(script={"d": ["429-date"]}, retry_after=30.0)
    result = run_faults(sandboxes, tmp_path, plan, [row("d")])
    (_, real, _, first), (_, _, _, second) = result.client.answers
    date = email.utils.parsedate_to_datetime(
        email.utils.formatdate(real + 30.0, usegmt=True)
    ).timestamp()
    assert first.http_status == 429
    assert first.retry_after is not None
    assert first.retry_after >= date - real - 1.0  # HTTP-dates have whole seconds
    sent_times = [t for t, _ in result.client.sent]
    assert sent_times[1] >= sent_times[0] + first.retry_after
    assert second.kind == "created"


def test_random_mix_of_every_fault(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """A seeded mix of all faults over 120 rows: every row ends created or existing, once."""
    names = ids(120)
    share = 0.3 / (len(FAULTS) - 1)
    plan = FaultPlan(rates={f: share for f in FAULTS if f != "slow"}, seed=2, retry_after=2.0)
    result = run_faults(
        sandboxes, tmp_path, plan, [row(e) for e in names], max_attempts=10, concurrency=8
    )
    assert result.summary.created + result.summary.existing == 120
    assert result.server.store.count() == 120
    assert sum(result.proxy.injected.values()) >= 30
    check_invariants(result, names, 10)


def test_parse_fault() -> None:
    """--fault NAME=P reads a known fault and a probability; anything else is refused."""
    assert parse_fault("reset-after=0.05") == ("reset-after", 0.05)
    assert parse_fault("503") == ("503", 1.0)
    with pytest.raises(ValueError, match="'boom' is not a fault"):
        parse_fault("boom=0.1")
    with pytest.raises(ValueError, match="from 0 to 1"):
        parse_fault("503=2")
