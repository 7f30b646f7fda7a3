"""The rate controller when the first answers come late, in simulated time.

Against a real https server the first request on each connection carries a TLS
handshake, and the first request can stall the loop (a TLS context built at first
use): ``tests/helpers/ratesim.py`` models both. The controller's first second must not
hang on them: the latency is the least of the last answers', not an average that
starts from the first; the rate refused is not read off the wait for the first answers.
"""

from __future__ import annotations

import pytest

from ae_import.sandbox.limits import LimiterSpec
from tests.helpers.ratesim import LIMITERS, simulate

# Heavy: 22 runs of 600 rows in simulated time (about 8 s of CPU).
pytestmark = pytest.mark.slow

SLOW_STARTS = {  # seconds of (handshake on each new connection, stall at the first request)
    "60 ms stall at the first request": (0.0, 0.06),
    "100 ms handshake on each new connection": (0.1, 0.0),
}
MARGIN = 0.02  # goodput lost to a slow first flight, at most
REFUSED = 0.02  # issue 23's target


@pytest.mark.parametrize("start", list(SLOW_STARTS))
@pytest.mark.parametrize("name", list(LIMITERS))
def test_a_slow_first_flight_costs_little(name: str, start: str) -> None:
    """Goodput within MARGIN of the same run with a quick start, 2% refused at most.

    Before, a 60 ms stall took a burst-1 bucket from 0.92 to 0.49 (a cap of 1 in
    flight, found at a rate misread, was never let go) and 2 in flight from 0.97 to 0.92.
    """
    quick = simulate(LIMITERS[name], "seconds", rows=600, seed=3)
    handshake, stall = SLOW_STARTS[start]
    slow = simulate(LIMITERS[name], "seconds", rows=600, seed=3, handshake=handshake, stall=stall)
    assert (slow.created, slow.summary.retryable) == (600, 0)
    assert slow.goodput >= quick.goodput - MARGIN, f"{slow.goodput:.3f} for {quick.goodput:.3f}"
    assert slow.refused_share <= REFUSED, f"{slow.refused} refused"


@pytest.mark.parametrize("form", ["0", "none"])
def test_a_fixed_window_without_a_moment_is_waited_out_a_window_at_most(form: str) -> None:
    """300 ms handshakes, no moment named: the closed window's wait ends a second after it.

    The backoff doubled to 0.59 s past the window's edge; the next stretch let in the
    tail of one window and all of the next (37), read as the limit: 15 to 18
    refusals (up to 2.9%) on seeds 3 and 4, goodput 0.92 to 0.95. Now 9, 0.97 to 0.98.
    """
    for seed in (3, 4):
        result = simulate(LIMITERS["fixed window, 20 a second"], form, seed=seed, handshake=0.3)
        assert (result.created, result.summary.retryable) == (600, 0)
        assert result.refused_share <= REFUSED, f"seed {seed}: {result.refused} refused"
        assert result.goodput >= 0.95, f"seed {seed}: {result.goodput:.3f}"


def test_the_handshake_is_paid_once_per_connection() -> None:
    """The model: a connection's handshake delays its first request only."""
    unlimited = LimiterSpec("token-bucket", 1000, 1.0, 1000)
    quick = simulate(unlimited, "seconds", rows=100, seed=3)
    slow = simulate(unlimited, "seconds", rows=100, seed=3, handshake=0.3)
    # 2 connections for the first flight, then 6 more at once: two handshakes longer
    # (one each time for all 100 rows would be 12 or more).
    assert 0.3 <= slow.summary.duration_s - quick.summary.duration_s <= 0.8
    assert slow.refused == 0
