"""Tests of the retry rules: backoff bounds, Retry-After forms, the run-level budget."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from ae_import.sending.client import EngagementClient
from ae_import.sending.policy import (
    MAX_RETRY_AFTER,
    Backoff,
    Outcome,
    RetryBudget,
    RetryPolicy,
    parse_retry_after,
)
from tests.helpers.httpthread import serving


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


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("²", None),  # byte 0xB2 read as latin-1: str.isdigit() says yes, float() raises
        ("١٠", None),  # Arabic-Indic ten: float() would read 10
        ("５", None),  # a fullwidth digit
        ("-5", None),
        ("+5", None),
        ("1e3", None),
        ("10.5", None),
        ("0x10", None),
        (" 10 ", 10.0),
        ("\t10\t", 10.0),
        ("10\n", None),  # only spaces and tabs are HTTP whitespace
        ("3600", 3600.0),
        ("3601", MAX_RETRY_AFTER),
        ("99999999999999999999", MAX_RETRY_AFTER),
        ("9" * 5000, MAX_RETRY_AFTER),  # int() refuses more than 4300 digits
        ("0000000000000000000000007", 7.0),  # leading zeros are still 1*DIGIT
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),  # long past
        ("Sunday, 30-Nov-26 12:01:00 GMT", 60.0),  # RFC 850 form
        ("Mon Nov 30 12:02:00 2026", 120.0),  # asctime form
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),  # far future
        ("Mon, 30 Nov 2026 12:00:30 -2359", MAX_RETRY_AFTER),
        ("Mon, 30 Nov 99999 12:00:30 GMT", None),  # year out of range
        ("Mon, 31 Feb 2026 12:00:00 GMT", None),  # no such day
        ("Mon, 30 Nov 2026 12:00:30 +9999", None),  # offset out of range
        ("Mon, ٣٠ Nov 2026 12:00:30 GMT", None),  # Unicode digits inside a date
        ("Mon, 30 Nov 2026", None),  # a date without a time
        ("caf\xe9", None),  # latin-1 bytes
        ("\xff\xfe\xb2", None),
        ("   ", None),
        ("5, 5", None),  # the header sent twice
        ("garbage; q=1", None),
    ],
)
def test_parse_retry_after_by_the_http_rules(value: str, seconds: float | None) -> None:
    """Only ASCII digits or a valid HTTP-date count; waits clamp to [0, 3600]; nothing raises."""
    assert parse_retry_after(value, now=lambda: NOW) == seconds


class _Answer429(BaseHTTPRequestHandler):
    """Answers every POST with 429 and the Retry-After bytes the server was given."""

    retry_after = "1"

    def do_POST(self) -> None:
        """Read the request, answer 429 with the configured Retry-After."""
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"type": "rate_limited", "detail": "slow down"}'
        self.send_response(429)
        self.send_header("Retry-After", self.server.retry_after)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "application/problem+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("\xb2", None), ("-5", None), ("99999999999999999999", MAX_RETRY_AFTER), ("7", 7.0)],
)
def test_the_client_reads_any_retry_after_without_crashing(
    header: str, seconds: float | None
) -> None:
    """A 429 whose Retry-After is byte 0xB2 (or negative, or huge) is a retry, not a crash."""

    async def go(base_url: str) -> tuple[str, float | None]:
        client = EngagementClient(base_url, "t0ken")
        try:
            outcome = await client.create(b"{}")
        finally:
            await client.aclose()
        return outcome.kind, outcome.retry_after

    with serving(_Answer429, retry_after=header) as base_url:
        assert asyncio.run(go(base_url)) == ("retry", seconds)


def test_retry_budget_counts_failures_in_a_row() -> None:
    """The budget is spent by N failures in a row; a success resets it."""
    budget = RetryBudget(3)
    assert budget.failure() is False
    assert budget.failure() is False
    budget.success()
    assert [budget.failure() for _ in range(3)] == [False, False, True]


def test_a_429_never_uses_up_an_attempt() -> None:
    """A 429 is retried whatever the attempts; its Retry-After is the row's wait and pause."""
    policy = RetryPolicy(max_attempts=1, retry_budget=3, rng=random.Random(1))
    limited = Outcome("retry", 429, retry_after=7.0)
    for _ in range(10):
        step = policy.after(limited, attempts=1)
        assert (step.retry, step.wait, step.pause, step.final) == (True, 7.0, 7.0, None)
    assert policy.budget.failures_in_a_row == 0  # nor the run's budget of failures
    gone = policy.after(Outcome("retry", 500), attempts=1)
    assert gone.retry is False  # the row's own error: max_attempts 1 is spent


def test_a_429_without_retry_after_backs_off_by_its_own_count() -> None:
    """Without Retry-After the wait is the backoff of the row's n-th 429 in a row."""
    policy = RetryPolicy(max_attempts=5, retry_budget=3, rng=random.Random(1))
    waits = [policy.after(Outcome("retry", 429), 1, limited=n).wait for n in range(1, 8)]
    assert all(0 <= w <= 2 ** (n - 1) for n, w in enumerate(waits, start=1))
    assert max(waits) > 1.0  # grows with the 429s in a row, not with attempts


def test_a_503_tells_the_throttle_and_its_retry_after_is_a_floor() -> None:
    """A 503 uses an attempt, waits at least its Retry-After, and slows the run."""
    policy = RetryPolicy(max_attempts=3, retry_budget=9, rng=random.Random(1))
    step = policy.after(Outcome("retry", 503, retry_after=20.0), attempts=1)
    assert step.retry and step.wait >= 20.0 and step.pause == 20.0
    assert policy.after(Outcome("retry", 503), attempts=3).retry is False
