"""How the rate controller estimates a server's limit, each rule on the draw that needed it.

200 rows through the engine to a limiter model of ``sandbox/limits.py`` in simulated
time (``tests/helpers/ratesim.py``, a fraction of a second each), or the throttle alone
on a fake clock.
"""

from __future__ import annotations

import asyncio

from ae_import.sandbox.limits import LimiterSpec
from ae_import.sending.throttle import Cut, Throttle
from tests.helpers.engine import FakeTime
from tests.helpers.ratesim import simulate

WINDOW = LimiterSpec("fixed-window", 20, 1.0)
SLIDING = LimiterSpec("sliding-window", 20, 1.0)


def test_a_closed_window_is_its_count_not_the_last_seconds() -> None:
    """A fixed window closes twice: the limit found is its count, 20, not 38.

    The last second before the second closure holds the first window's 20 and most
    of the second's: counted as the limit, the run climbed back to 38 a second and was
    refused on and on (17 refusals in 200 rows with this draw, now 3).
    """
    cuts: list[Cut] = []
    result = simulate(WINDOW, "seconds", rows=200, seed=5, on_cut=cuts.append)
    closed = [cut.ceiling for cut in cuts if cut.pause > 0]
    assert all(ceiling <= 21 for ceiling in closed), closed
    assert result.refused <= 6


def test_a_window_edge_inside_the_first_burst_is_counted_at_the_next_window() -> None:
    """An edge inside the unpaced first burst: 37 let in for 20; the next window says 20.

    Seed 6 puts a fixed window's edge 0.21 s into the first burst (17 and 20 let in
    before the first refusal). Its count, 37, held until dives and near cuts wore it
    down: 15 refusals of 600 (2.5%). The window let in after the pause is counted too,
    and, its count spent, waited out at once: 9 refusals.
    """
    cuts: list[Cut] = []
    result = simulate(WINDOW, "seconds", rows=600, seed=6, on_cut=cuts.append)
    closed = [index for index, cut in enumerate(cuts) if cut.pause > 0]
    assert cuts[closed[0]].ceiling > 30  # the first burst's count spans two windows
    after = [cut.ceiling for cut in cuts[closed[0] + 1 :]]
    assert after[0] <= 20.5, after  # the next window's count
    assert max(after) <= 21, after  # no dive finds more
    # Its count spent, that window is closed until its edge: everyone waits at once.
    assert cuts[closed[0] + 1].pause > 0
    assert result.created == 600
    assert result.refused_share <= 0.02, result.refused
    assert result.goodput >= 0.95


def test_a_dive_counts_a_burst_over_a_whole_window() -> None:
    """20 accepted in 0.3 s, then refused on: the limit found is 20 a second, not 66."""
    cuts: list[Cut] = []
    simulate(SLIDING, "none", rows=200, seed=3, on_cut=cuts.append)
    dives = [cut.ceiling for cut in cuts[1:]]  # after the first cut, of the unpaced burst
    assert dives
    assert max(dives) <= 22, dives


def test_answers_that_came_back_first_still_count_as_in_flight() -> None:
    """A 429 overtaken on the way back by a sibling's answer still saw 2 in flight."""
    time = FakeTime()
    throttle = Throttle(8, time.clock, time.sleep)

    async def scenario() -> None:
        for _ in range(20):  # 16 a second at 100 ms: under 2 in flight
            sent = await throttle.acquire()
            assert sent is not None
            await throttle.release()
            await throttle.answered(0.1, sent)
            time.now += 0.06
        held = [await throttle.acquire() for _ in range(3)]
        assert None not in held
        await throttle.release()  # the first of the two in the server: answered ...
        await throttle.answered(0.1, held[0])
        time.now += 0.001
        await throttle.release()  # ... before the third's 429, sent with both in
        throttle.rate_limited(1.0, sent_at=held[-1])
        assert throttle.limit == 2
        await throttle.release()

    asyncio.run(scenario())
