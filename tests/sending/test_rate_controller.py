"""The rate controller against every limiter model of the sandbox, in simulated time.

Each run sends 600 rows through the real engine and throttle to a model of a server
limited to 20 requests a second (``tests/helpers/ratesim.py``): the loop's clock jumps
to the next timer, so nothing sleeps. The requests' timing jitters as measured on the
real bench (``ratesim.QUIET``: a fixed pacer at exactly 20/s gets what it gets there),
so the figures asserted are issue 23's targets, save where the simulated jitter itself
keeps the controller under them (``FLOORS``; docs/benchmarks.md says why).
"""

from __future__ import annotations

import asyncio
import itertools

import pytest

from ae_import.sending.throttle import Cut, Throttle
from tests.helpers.engine import FakeTime
from tests.helpers.ratesim import LIMITERS, PERFECT, simulate, simulate_pacer

# Heavy: 24 runs of 600 rows in simulated time (about 10 s of CPU).
# Run by scripts/check.py with the slow tests, not by plain pytest.
pytestmark = pytest.mark.slow

GOODPUT = 0.95  # issue 23's targets
REFUSED = 0.02
# A burst-1 bucket refuses any request that arrives under 50 ms after the one before:
# with the bench's jitter the controller holds about 0.93 of the limit (1.0% refused),
# and a fixed pacer that knows the limit gets 0.95 at best (below).
FLOORS = {"token bucket, burst 1": 0.91}


@pytest.mark.parametrize("form", ["seconds", "date", "0", "none"])
@pytest.mark.parametrize("name", list(LIMITERS))
def test_controller_converges_on_every_limiter(name: str, form: str) -> None:
    """Every row is created at the limit, 2% refused at most, whatever Retry-After says."""
    result = simulate(LIMITERS[name], form, rows=600, seed=3)
    assert result.created == 600
    assert result.summary.retryable == 0
    floor = FLOORS.get(name, GOODPUT)
    assert result.goodput >= floor, f"{name}, Retry-After {form}: {result.goodput:.3f}"
    assert result.goodput <= 1.1  # a burst can lift it above 1.0, nothing more
    assert result.refused_share <= REFUSED, f"{name}: {result.refused} refused"


@pytest.mark.parametrize("seed", [4, 5, 6])
@pytest.mark.parametrize("name", list(LIMITERS))
def test_controller_holds_with_other_jitter(name: str, seed: int) -> None:
    """Other draws of the jitter: every row created, never far from the targets.

    Not every draw meets them (docs/benchmarks.md): the bounds are the worst the
    simulation gives (a fixed window whose edge falls badly), so a change that makes
    any draw worse fails here.
    """
    result = simulate(LIMITERS[name], "seconds", rows=600, seed=seed)
    assert (result.created, result.summary.retryable) == (600, 0)
    assert result.goodput >= 0.92, f"{name}, seed {seed}: {result.goodput:.3f}"
    assert result.refused_share <= 0.025, f"{name}, seed {seed}: {result.refused} refused"


def test_simulated_jitter_is_the_benchs() -> None:
    """A fixed pacer at exactly 20/s loses what it loses on the real bench, not nothing."""
    strict = simulate_pacer(LIMITERS["token bucket, burst 1"], rows=300)
    assert 0.25 <= strict.refused_share <= 0.45  # the bench: 37% refused, goodput 0.62
    assert strict.goodput <= 0.75
    crowd = simulate_pacer(LIMITERS["2 in flight (20/s at 100 ms)"], rows=300)
    assert crowd.refused_share >= 0.2  # the bench: 33%
    perfect = simulate_pacer(LIMITERS["token bucket, burst 1"], rows=300, jitter=PERFECT)
    assert perfect.refused_share < strict.refused_share


def test_a_burst_1_bucket_is_at_the_edge_even_for_a_client_that_knows_the_limit() -> None:
    """Paced at 0.97 of the limit (its best share), a fixed pacer gets 0.95 at most.

    The controller, which does not know the limit, stays within 0.03 of it, with
    fewer refusals: the 0.95 target for this limiter is what jitter leaves, no more.
    """
    strict = LIMITERS["token bucket, burst 1"]
    knowing = simulate_pacer(strict, rows=600, seed=3, share=0.97)
    assert knowing.goodput <= 0.96
    result = simulate(strict, "seconds", rows=600, seed=3)
    assert result.goodput >= knowing.goodput - 0.03
    assert result.refused_share <= knowing.refused_share


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


async def _send(throttle: Throttle, time: FakeTime, latency: float = 0.1) -> float:
    """Send one request through ``throttle`` and have it accepted at once."""
    sent = await throttle.acquire()
    assert sent is not None
    await throttle.release()
    await throttle.answered(latency, sent)
    return sent


def test_a_refusal_at_a_rate_that_held_keeps_the_limit_found() -> None:
    """After HELD accepted requests, one refusal is jitter: a small step back, same limit."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> tuple[float, float]:
        for _ in range(40):  # 40 a second, unpaced
            await _send(throttle, time)
            time.now += 0.025
        throttle.rate_limited(0.0, sent_at=time.now)
        assert throttle.ceiling is not None
        found = throttle.ceiling
        for _ in range(Throttle.HELD + 10):  # paced: the fake clock moves as it sleeps
            await _send(throttle, time)
        rate = throttle.rate
        assert rate is not None and rate <= found
        throttle.rate_limited(0.0, sent_at=time.now)
        return found, rate

    found, rate = asyncio.run(scenario())
    assert throttle.ceiling == found  # before: the rate refused, 3% lower at each refusal
    assert throttle.rate == pytest.approx(rate * Throttle.JITTER_BETA, rel=0.02)


def test_refusals_with_two_in_flight_cap_requests_in_flight_at_two() -> None:
    """Refused only with 2 others in flight, at 2 / latency: a concurrency limit of 2."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> None:
        for _ in range(20):  # 16 a second at 100 ms: under 2 in flight
            await _send(throttle, time)
            time.now += 0.06
        held = [await throttle.acquire() for _ in range(3)]
        assert None not in held
        await throttle.release()  # the third, refused with two others in flight
        throttle.rate_limited(1.0, sent_at=held[-1])
        assert throttle.limit == 2
        for _ in range(2):
            await throttle.release()
        time.now += 5
        await throttle.answered(0.1, time.now)
        assert throttle.limit == 2  # not rate x latency x headroom (4)
        sent = await throttle.acquire()  # a refusal with one other in flight: a rate limit
        other = await throttle.acquire()
        assert sent is not None and other is not None
        await throttle.release()
        throttle.rate_limited(1.0, sent_at=other)
        await throttle.release()
        await throttle.answered(0.1, time.now)
        assert throttle.limit > 2

    asyncio.run(scenario())


async def _spend_a_window(throttle: Throttle, time: FakeTime) -> None:
    """Have 20 requests accepted at 80 a second: a window's count spent in 0.25 s."""
    for _ in range(20):
        await _send(throttle, time)
        time.now += 0.0125


async def _refused_until_closed(throttle: Throttle, first: float, wait: float = 1.0) -> float:
    """Have every request refused from ``first`` on until the throttle pauses everyone.

    Return when the last refusal came. Each says ``Retry-After: wait``.
    """
    throttle.rate_limited(wait, sent_at=first)
    sent = first
    while throttle.paused_until <= first:
        taken = await throttle.acquire()
        assert taken is not None
        sent = taken
        await throttle.release()
        throttle.rate_limited(wait, sent_at=sent)
    return sent


def test_a_closed_windows_count_runs_from_the_end_of_the_pause() -> None:
    """The limit found at a second closed window: its count over the time it was open.

    Open from the first send after the pause (a window's edge), not from the last
    refusal before it: the pause is not time the server was open.
    """
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> tuple[float, float]:
        await _spend_a_window(throttle, time)
        await _refused_until_closed(throttle, time.now)
        window = [await _send(throttle, time) for _ in range(20)]  # after the pause
        end = await throttle.acquire()
        assert end is not None
        await throttle.release()
        await _refused_until_closed(throttle, end)
        return window[0], end

    resumed, end = asyncio.run(scenario())
    ceiling = throttle.ceiling
    assert ceiling is not None
    assert ceiling == pytest.approx(20 / max(end - resumed, Throttle.WINDOW))
    # A count, not a guess: 5 s after the climb back, the probe above it is the slow one.
    time.now = end + Throttle.RECOVER + 5
    cruise = ceiling * (1 - Throttle.MARGIN)
    assert throttle.rate == pytest.approx(cruise + ceiling * (5 / Throttle.PROBE) ** 3, rel=1e-3)


def test_a_closed_window_that_names_no_moment_pauses_as_long_again_as_it_was_closed() -> None:
    """Retry-After 0 (or none): the pause doubles the time closed, not a dive every 0.1 s."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> tuple[float, float]:
        await _spend_a_window(throttle, time)
        first = time.now
        last = await _refused_until_closed(throttle, first, wait=0.0)
        return first, last

    first, last = asyncio.run(scenario())
    assert throttle.paused_until == pytest.approx(last + (last - first), abs=1e-3)


def test_refused_on_and_on_is_a_closed_window_and_pauses_everyone() -> None:
    """Refused for longer than CLOSED x latency, nothing accepted: all wait the Retry-After."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> list[float]:
        await _spend_a_window(throttle, time)
        first = time.now
        throttle.rate_limited(1.0, sent_at=first)  # "come back at first + 1 s"
        ends = []
        for _ in range(8):  # every request after the cut is refused
            sent = await throttle.acquire()
            assert sent is not None
            await throttle.release()
            throttle.rate_limited(1.0, sent_at=sent)
            ends.append(throttle.paused_until - first)
        return ends

    ends = asyncio.run(scenario())
    assert ends[0] <= 0  # the first refusals only halve the rate (a burst-5 bucket)
    closed = [end for end in ends if end > 0]
    # Then every worker waits until the moment the streak's first refusal named (not a
    # Retry-After from the refusal that found the window closed, 0.25 s later); refused
    # again after it, as long again as it has been closed (up to LONG_WAIT).
    assert closed[:3] == [pytest.approx(1.0), pytest.approx(2.0), pytest.approx(4.0)]
    assert closed[-1] - closed[-2] == pytest.approx(Throttle.LONG_WAIT)


class LateTime(FakeTime):
    """Fake time whose sleeps wake 1 ms late, as a busy event loop's timers do."""

    async def sleep(self, seconds: float) -> None:
        """Advance the fake time by ``seconds`` and 1 ms more."""
        await super().sleep(seconds + 0.001)


def test_late_wake_ups_do_not_add_up_nor_shorten_a_gap_past_the_margin() -> None:
    """Paced sends keep their schedule when every wake-up is 1 ms late, no gap too short."""
    time = LateTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> list[tuple[float, float]]:
        for _ in range(20):
            await _send(throttle, time)
            time.now += 0.05
        throttle.rate_limited(0.0, sent_at=time.now)
        time.now += 3 * Throttle.RECOVER  # at the cruise rate, probing above it
        paced = []
        for _ in range(41):
            sent = await _send(throttle, time)
            rate = throttle.rate  # the pace of the gap after this send
            assert rate is not None
            paced.append((sent, rate))
        return paced

    paced = asyncio.run(scenario())
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(paced)]
    due = [1 / rate for _, rate in paced[:-1]]
    # Spaced from each late send, 40 gaps of 1/rate + 1 ms would be 2% slow at 20/s.
    assert sum(gaps) == pytest.approx(sum(due), rel=0.005)
    assert all(gap >= (1 - Throttle.MARGIN) * d * 0.999 for gap, d in zip(gaps, due, strict=True))
