"""Tests of the run meter: a run's events, minute by minute, into the ledger's series."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from ae_import.ledger import Ledger
from ae_import.records import Row
from ae_import.sending import Engine, Outcome, RunMeter
from ae_import.sending.summary import Summary
from tests.helpers.engine import FakeTime, ScriptedClient, engine_args, given, row

RUN = {"pid": 1, "host": "h", "version": "0", "manifest": "m"}


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """Return a fresh ledger."""
    return Ledger(tmp_path / "l.sqlite", "https://api.example.com/api")


def test_minutes_are_counted_and_a_pause_is_split_across_them(ledger: Ledger) -> None:
    """A 90 s pause from 0:30 is 30 s of minute 0 and 60 s of minute 1; counts add per minute."""
    now = [0.0]
    run_id = ledger.start_run(RUN)
    meter = RunMeter(ledger, run_id, pace=lambda: 2.5, clock=lambda: now[0], wall=lambda: 0.0)
    summary = Summary()
    r = Row(2, {}, external_id="a")
    for event, note in (("sent", "1"), ("sent", "1"), ("row", "created"), ("retry", "503")):
        meter(event, summary, r, note)
    now[0] = 30.0
    meter("paused", summary, r, "90")
    assert ledger.run_minutes(run_id) == []  # minute 0 is not over yet
    now[0] = 130.0
    meter("row", summary, r, "invalid")  # minute 2: minutes 0 and 1 go to the ledger
    assert [m.minute for m in ledger.run_minutes(run_id)] == [0, 1]
    meter.close()
    first, second, third = ledger.run_minutes(run_id)
    assert (first.sent, first.created, first.retries, first.rate_limited) == (2, 1, 1, 1)
    assert (first.paused_s, first.max_retry_after, first.pace) == (30.0, 90.0, 2.5)
    assert (first.started_at, second.started_at) == ("1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z")
    assert (second.paused_s, second.sent) == (60.0, 0)
    assert (third.minute, third.invalid, third.paused_s) == (2, 1, 0.0)


def test_series_of_old_runs_are_pruned(ledger: Ledger) -> None:
    """Only the series of the last runs are kept (bounded whatever the nights)."""
    ids = [ledger.start_run(RUN) for _ in range(4)]
    for run_id in ids:
        meter = RunMeter(ledger, run_id, clock=lambda: 0.0)
        meter("sent", Summary(), None, "1")
        meter.close()
    assert ledger.prune_minutes(keep=2) == 2
    assert [bool(ledger.run_minutes(i)) for i in ids] == [False, False, True, True]


def test_the_engine_reports_429_pauses_and_the_pace_to_the_meter(ledger: Ledger) -> None:
    """A 429 with Retry-After 20: one 429, 20 s paused, the pace the throttle set, then created."""
    time = FakeTime()
    client = ScriptedClient(
        time, {"1": [Outcome("retry", 429, retry_after=20.0), Outcome("created", 201, "e1")]}
    )
    run_id = ledger.start_run(RUN)
    holder: list[Engine] = []
    meter = RunMeter(ledger, run_id, pace=lambda: holder[0].pace, clock=time.clock)
    engine = Engine(
        client,
        ledger,
        **engine_args(),
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(7),
        progress=meter,
    )
    holder.append(engine)
    asyncio.run(engine.run([row(1)], given))
    meter.close()
    [minute] = ledger.run_minutes(run_id)
    assert (minute.sent, minute.created, minute.rate_limited, minute.retries) == (2, 1, 1, 1)
    assert minute.paused_s == pytest.approx(20.0)
    assert minute.max_retry_after == 20.0
    assert minute.pace is not None and minute.pace > 0
