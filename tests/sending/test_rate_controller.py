"""The rate controller against every limiter model of the sandbox, in simulated time.

Each run sends 600 rows through the real engine and throttle to a model of a server
limited to 20 requests a second (``tests/helpers/ratesim.py``): the loop's clock jumps
to the next timer, so nothing sleeps. The figures asserted are a little under the
bench's (docs/benchmarks.md), which measures the same against the real sandbox.
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from ae_import.sandbox.limits import LimiterSpec
from ae_import.sending.throttle import Cut, Throttle
from tests.helpers.engine import FakeTime
from tests.helpers.ratesim import simulate

# Heavy: 24 runs of 600 rows in simulated time (about 50 s of CPU).
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

LIMITERS = {
    "token bucket, burst 20": LimiterSpec("token-bucket", 20, 1.0, 20),
    "token bucket, burst 5": LimiterSpec("token-bucket", 20, 1.0, 5),
    "token bucket, burst 1": LimiterSpec("token-bucket", 20, 1.0, 1),
    "fixed window, 20 a second": LimiterSpec("fixed-window", 20, 1.0),
    "sliding window, 20 in any second": LimiterSpec("sliding-window", 20, 1.0),
    "2 in flight (20/s at 100 ms)": LimiterSpec("concurrency", 2, 1.0),
}


@pytest.mark.parametrize("form", ["seconds", "date", "0", "none"])
@pytest.mark.parametrize("name", list(LIMITERS))
def test_controller_converges_on_every_limiter(name: str, form: str) -> None:
    """Every row is created, near the limit, with few 429s, whatever Retry-After says."""
    result = simulate(LIMITERS[name], form, rows=600, seed=3)
    assert result.created == 600
    assert result.summary.retryable == 0
    assert result.goodput >= 0.93, f"{name}, Retry-After {form}: {result.goodput:.3f}"
    assert result.goodput <= 1.1  # a burst can lift it above 1.0, nothing more
    assert result.refused_share <= 0.035, f"{name}: {result.refused} refused"


def test_no_row_ends_retryable_from_429s_alone() -> None:
    """With max_attempts 1 a strict limiter refuses many rows, yet every one is created."""
    result = simulate(LIMITERS["token bucket, burst 1"], "0", rows=200, max_attempts=1)
    assert result.refused > 0
    assert (result.created, result.summary.retryable, result.summary.failed) == (200, 0, 0)


def test_refused_rows_never_go_before_their_retry_after() -> None:
    """Retry-After is the refused row's floor even when the rate is not paused for all."""
    result = simulate(LIMITERS["fixed window, 20 a second"], "seconds", rows=100, seed=5)
    assert result.created == 100
    assert result.early == 0


def test_long_retry_after_pauses_every_worker() -> None:
    """A Retry-After past LONG_WAIT (a spent quota) stops every send until it has passed."""
    time = FakeTime()
    cuts: list[Cut] = []
    throttle = Throttle(8, time.clock, time.sleep, cuts.append)

    async def scenario() -> float:
        sent = await throttle.acquire()
        assert sent is not None
        await throttle.release()
        throttle.rate_limited(30.0, sent_at=sent)
        again = await throttle.acquire()
        assert again is not None
        return again - sent

    assert asyncio.run(scenario()) >= 30.0
    assert cuts[0].pause == 30.0
    assert throttle.paused_until >= 1030.0


def test_short_retry_after_cuts_the_rate_without_pausing_everyone() -> None:
    """A 1 s Retry-After cuts the rate; other rows keep going, paced, without a 1 s gap."""
    time = FakeTime()
    throttle = Throttle(100, time.clock, time.sleep)

    async def scenario() -> list[float]:
        sends = []
        for _ in range(40):  # 40 a second for a second: unpaced
            sent = await throttle.acquire()
            assert sent is not None
            sends.append(sent)
            await throttle.release()
            await throttle.answered(0.1, sent)
            time.now += 0.025
        assert throttle.rate is None
        throttle.rate_limited(1.0, sent_at=sends[-1])
        paced = []
        for _ in range(10):
            sent = await throttle.acquire()
            assert sent is not None
            paced.append(sent)
            await throttle.release()
        return paced

    paced = asyncio.run(scenario())
    assert throttle.paused_until == 0.0
    rate = throttle.rate
    assert rate is not None
    assert 0.6 * 40 <= rate <= 40
    gaps = [b - a for a, b in itertools.pairwise(paced)]
    assert max(gaps) < 0.1  # paced at the cut rate, not paused
    assert min(gaps) >= 1 / 41


def test_climb_is_fast_far_below_and_slow_near_the_limit() -> None:
    """After a cut the rate is most of the way back within RECOVER/3, then creeps."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def first_cut() -> None:
        for _ in range(20):
            sent = await throttle.acquire()
            assert sent is not None
            await throttle.release()
            await throttle.answered(0.1, sent)
            time.now += 0.05  # 20 a second
        throttle.rate_limited(0.0, sent_at=time.now)

    asyncio.run(first_cut())
    ceiling = throttle.ceiling
    assert ceiling is not None
    start = throttle.rate
    assert start is not None and start < 0.75 * ceiling
    time.now += Throttle.RECOVER / 3
    third = throttle.rate
    assert third is not None and third - start > 0.6 * (ceiling * 0.97 - start)
    time.now += 2 * Throttle.RECOVER / 3
    cruise = throttle.rate
    assert cruise is not None
    assert cruise == pytest.approx(ceiling * (1 - Throttle.MARGIN))
    time.now += 2.0
    later = throttle.rate
    assert later is not None and later - cruise < 0.01 * ceiling  # slow near the limit


def test_same_episode_cuts_once() -> None:
    """429s to requests sent before the last cut do not cut again."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)
    throttle.rate_limited(0.0, sent_at=time.now)
    first = throttle.rate
    throttle.rate_limited(0.0, sent_at=time.now - 0.01)
    assert throttle.rate == first
    assert throttle.cuts == 1


def test_concurrency_follows_rate_times_latency() -> None:
    """Once paced, requests in flight are bounded by rate x latency with headroom."""
    time = FakeTime()
    throttle = Throttle(50, time.clock, time.sleep)

    async def scenario() -> None:
        for _ in range(40):
            sent = await throttle.acquire()
            assert sent is not None
            await throttle.release()
            await throttle.answered(0.5, sent)
            time.now += 0.05
        throttle.rate_limited(0.0, sent_at=time.now)
        time.now += 5
        await throttle.answered(0.5, time.now)

    asyncio.run(scenario())
    rate = throttle.rate
    assert rate is not None
    assert throttle.limit == min(50, int(-(-rate * 0.5 * Throttle.HEADROOM // 1)) + 1)
    assert throttle.limit < 50
