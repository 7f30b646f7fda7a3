"""Tests of the sandbox's limiter models and Retry-After forms, on an injected clock."""

from __future__ import annotations

import email.utils

import pytest

from ae_import.options import parse_rate_period
from ae_import.sandbox.limits import (
    ConcurrencyLimit,
    FixedWindow,
    LimiterSpec,
    SlidingWindow,
    TokenBucketLimit,
    make_limiter,
    retry_after_value,
)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: float = 100.0) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> float:
        """Return the time."""
        return self.now


def test_token_bucket_serves_its_burst_then_its_rate() -> None:
    """Burst 5 at 20/s: five at once, then one every 50 ms; a refusal says how long."""
    clock = Clock()
    bucket = TokenBucketLimit(20, 5, clock)
    assert [bucket.admit() for _ in range(5)] == [None] * 5
    assert bucket.admit() == pytest.approx(0.05)
    clock.now += 0.051
    assert bucket.admit() is None


def test_fixed_window_resets_on_its_edge() -> None:
    """20 per 1 s window counted from the clock's zero: the 21st waits for the edge."""
    clock = Clock(100.25)
    window = FixedWindow(20, 1.0, clock)
    assert all(window.admit() is None for _ in range(20))
    assert window.admit() == pytest.approx(0.75)
    clock.now = 101.0
    assert window.admit() is None


def test_sliding_window_counts_any_period() -> None:
    """20 in any second: the 21st waits until the oldest leaves the window."""
    clock = Clock()
    window = SlidingWindow(20, 1.0, clock)
    for _ in range(20):
        assert window.admit() is None
        clock.now += 0.01
    assert window.admit() == pytest.approx(0.8)
    clock.now = 101.0
    assert window.admit() is None  # the first one left
    assert window.admit() is not None


def test_concurrency_limit_counts_requests_in_flight() -> None:
    """Two in flight: the third is refused until one ends."""
    limit = ConcurrencyLimit(2)
    assert (limit.admit(), limit.admit()) == (None, None)
    assert limit.admit() is not None
    limit.release()
    assert limit.admit() is None


@pytest.mark.parametrize(
    ("form", "value"),
    [("seconds", "1"), ("0", "0"), ("none", None)],
)
def test_retry_after_forms(form: str, value: str | None) -> None:
    """Seconds round up to at least 1; 0 says retry now; none leaves the header out."""
    assert retry_after_value(form, 0.05) == value


def test_retry_after_seconds_round_up() -> None:
    """2.1 s of wait is said as 3: a client waiting that long is never early."""
    assert retry_after_value("seconds", 2.1) == "3"


def test_retry_after_date_is_the_next_whole_second() -> None:
    """An HTTP-date has whole seconds: the first one at or after the moment."""
    value = retry_after_value("date", 0.4, now=1_800_000_000.3)
    assert value is not None
    when = email.utils.parsedate_to_datetime(value).timestamp()
    assert when == 1_800_000_001.0


def test_a_fixed_windows_retry_after_date_is_its_edge() -> None:
    """The date read a few microseconds after the window's clock names its edge, not the next."""
    clock = Clock(1_800_000_000.6)
    limiter = make_limiter(LimiterSpec("fixed-window", 1, 1.0), clock)
    assert limiter.admit() is None
    wait = limiter.admit()
    assert wait is not None
    value = retry_after_value("date", wait, now=clock.now + 0.00002)  # a later read
    assert value is not None
    assert email.utils.parsedate_to_datetime(value).timestamp() == 1_800_000_001.0


def test_make_limiter_from_a_rate() -> None:
    """A spec built from --rate 1200/m is a window of a minute with 1200 requests."""
    count, period = parse_rate_period("1200/m")
    limiter = make_limiter(LimiterSpec("fixed-window", count, period), Clock(0.0))
    assert isinstance(limiter, FixedWindow)
    assert (limiter.limit, limiter.window) == (1200, 60.0)
    with pytest.raises(ValueError, match="not a limiter"):
        make_limiter(LimiterSpec("leaky"), Clock())
