"""Tests of the retry rules: backoff bounds, Retry-After forms, the run-level budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from ae_import.retry import Backoff, RetryBudget, parse_retry_after


def test_full_jitter_backoff_bounds() -> None:
    """The n-th wait is uniform in [0, min(cap, base * 2**(n-1))]."""
    rng = random.Random(1)
    backoff = Backoff(base=1.0, cap=60.0)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (30, 60)]:
        waits = [backoff.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > ceiling * 0.8


NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 0 ", 0.0),
        ("Mon, 30 Nov 2026 12:00:30 GMT", 30.0),
        ("Mon, 30 Nov 2026 11:59:00 GMT", 0.0),
        ("999999", 3600.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("-5", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Retry-After reads as delta-seconds or an HTTP-date, capped at an hour."""
    assert parse_retry_after(value, now=lambda: NOW) == seconds


def test_retry_budget_counts_failures_in_a_row() -> None:
    """The budget is spent by N failures in a row; a success resets it."""
    budget = RetryBudget(3)
    assert budget.failure() is False
    assert budget.failure() is False
    budget.success()
    assert [budget.failure() for _ in range(3)] == [False, False, True]
