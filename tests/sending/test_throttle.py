"""Tests of rate parsing and the token bucket, on an injected clock."""

from __future__ import annotations

import itertools

import pytest

from ae_import.options import parse_rate
from ae_import.sending import TokenBucket


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("5", 5.0),
        ("5/s", 5.0),
        ("0.5/s", 0.5),
        ("300/m", 5.0),
        ("300/min", 5.0),
        ("7200/h", 2.0),
        ("5000/12h", 5000 / 43200),
        ("86400/d", 1.0),
        (" 10 / 2s ", 5.0),
        ("60/minutes", 1.0),
    ],
)
def test_parse_rate(text: str, per_second: float) -> None:
    """Rates read as count per unit, with an optional multiple of the unit."""
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["", "fast", "-1/s", "5/s/s", "/s"])
def test_parse_rate_refuses(text: str) -> None:
    """Anything else is a ValueError that shows the accepted forms."""
    with pytest.raises(ValueError, match="write it as 5/s, 300/m or 5000/12h"):
        parse_rate(text)


def test_unknown_unit_and_zero_rate_messages() -> None:
    """An unknown unit or a zero rate says so."""
    with pytest.raises(ValueError, match="unknown unit 'x'"):
        parse_rate("5/x")
    with pytest.raises(ValueError, match="above zero"):
        parse_rate("0/s")


def test_token_bucket_on_an_injected_clock() -> None:
    """A full bucket serves its burst, then refills at its rate; waits are exact."""
    now = [100.0]
    bucket = TokenBucket(rate=2.0, burst=3, clock=lambda: now[0])
    assert [bucket.try_acquire() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.try_acquire() == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.try_acquire() == 0.0
    assert bucket.try_acquire() == pytest.approx(0.5)
    now[0] += 100
    assert [bucket.try_acquire() for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(0.5)]


def test_token_bucket_default_burst_is_one_second() -> None:
    """Without a burst the bucket holds one second of tokens, and at least one."""
    assert TokenBucket(rate=20).burst == 20
    assert TokenBucket(rate=0.1).burst == 1
    with pytest.raises(ValueError):
        TokenBucket(rate=0)


class Fake:
    """A clock that moves only when slept on."""

    def __init__(self) -> None:
        """Start at t=100."""
        self.now = 100.0

    def clock(self) -> float:
        """Return the fake time."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Advance the fake time."""
        self.now += seconds


def test_throttle_paces_only_after_a_429() -> None:
    """Unthrottled until a 429; then FIRST of the measured send rate, once per episode."""
    import asyncio

    from ae_import.sending.throttle import Throttle

    time = Fake()
    throttle = Throttle(100, time.clock, time.sleep)

    async def take() -> float:
        """Take a slot; no stop is given, so a send time always comes back."""
        sent = await throttle.acquire()
        assert sent is not None
        return sent

    async def scenario() -> list[float]:
        sends = []
        for _ in range(80):  # 40 requests a second for two seconds: no pacing at all
            sends.append(await take())
            await throttle.release()
            await throttle.answered(0.1, sends[-1])
            time.now += 0.025
        assert throttle.rate is None
        assert throttle.limit == 100  # the first answer opened every slot
        throttle.rate_limited(1.0, sent_at=sends[-1])
        assert throttle.rate == pytest.approx(40 * Throttle.FIRST, rel=0.03)
        assert throttle.ceiling == pytest.approx(40, rel=0.03)
        assert throttle.paused_until == 0.0  # a 1 s Retry-After: the row's floor only
        throttle.rate_limited(1.0, sent_at=sends[-2])  # same episode: no second cut
        assert throttle.cuts == 1
        paced = []
        for _ in range(10):
            paced.append(await take())
            await throttle.release()
            await throttle.answered(0.1, paced[-1])
        gaps = [b - a for a, b in itertools.pairwise(paced)]
        assert min(gaps) >= 1 / 40
        throttle.rate_limited(1.0, sent_at=paced[-1])  # a new episode cuts again
        assert throttle.cuts == 2
        return paced

    asyncio.run(scenario())


def test_waiting_for_a_slot_unpaced_creates_no_task_per_request() -> None:
    """Workers in line for a slot await a future each; one task watches the stop for all."""
    import asyncio

    from ae_import.sending.throttle import Throttle

    time = Fake()
    throttle = Throttle(2, time.clock, time.sleep)

    async def scenario() -> None:
        stop = asyncio.Event()
        await throttle.answered(0.1, time.now)  # the first answer: every slot open
        held = [await throttle.acquire(stop) for _ in range(2)]
        before = len(asyncio.all_tasks())
        waiters = [asyncio.ensure_future(throttle.acquire(stop)) for _ in range(6)]
        await asyncio.sleep(0)
        assert len(asyncio.all_tasks()) - before == len(waiters) + 1  # + the one watcher
        for sent in held:
            assert sent is not None
            await throttle.release()
        await asyncio.sleep(0)
        first = [w for w in waiters if w.done()]
        assert [w.result() for w in first] == [time.now, time.now]  # first come, first served
        assert first == waiters[:2]
        stop.set()
        results = await asyncio.gather(*waiters[2:])
        assert results == [None] * 4  # stopped in line: no slot held
        assert throttle.in_flight == 2
        for _ in first:
            await throttle.release()
        assert throttle.in_flight == 0
        assert len(asyncio.all_tasks()) == before  # nobody in line: no watcher left
        assert await throttle.acquire(stop) is None  # stopped: a free slot is not taken

    asyncio.run(scenario())


def test_a_worker_cancelled_in_line_leaves_no_slot_taken() -> None:
    """Cancelling a worker that waits for a slot (the grace's end) frees what it held."""
    import asyncio

    from ae_import.sending.throttle import Throttle

    time = Fake()
    throttle = Throttle(1, time.clock, time.sleep)

    async def scenario() -> None:
        await throttle.answered(0.1, time.now)
        assert await throttle.acquire() is not None
        waiter = asyncio.ensure_future(throttle.acquire())
        await asyncio.sleep(0)
        await throttle.release()  # hands the slot to the waiter ...
        waiter.cancel()  # ... cancelled before it could run
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert throttle.in_flight == 0

    asyncio.run(scenario())
