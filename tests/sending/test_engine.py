"""Tests of the worker pool on an injected clock and sleep, with a scripted client."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from ae_import.ledger.db import Ledger
from ae_import.mapping.mapper import encode_body
from ae_import.records import Prior, Problem, Row
from ae_import.sending import Engine, Outcome
from ae_import.sending.decision import decide, encode, fingerprint
from ae_import.sending.policy import Backoff
from ae_import.sending.summary import Summary
from tests.helpers.engine import FakeTime, ScriptedClient, engine_args, given, row
from tests.helpers.ledgerdb import ledger_row


def run(engine: Engine, rows: Iterable[Row]) -> Summary:
    """Run the engine to completion on rows that come checked."""
    return asyncio.run(engine.run(rows, given))


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """Return a fresh ledger."""
    return Ledger(tmp_path / "l.sqlite", "https://api.example.com/api")


def make(
    ledger: Ledger, script: dict[str, list[Outcome]] | None = None, **settings: Any
) -> tuple[Engine, ScriptedClient, FakeTime]:
    """Build an engine with a scripted client and fake time."""
    time = FakeTime()
    client = ScriptedClient(time, script)
    engine = Engine(
        client,
        ledger,
        **engine_args(**settings),
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(7),
    )
    return engine, client, time


def test_every_answer_maps_to_its_row_status(ledger: Ledger) -> None:
    """201 created, 200 existing, 4xx failed with details, 5xx retried then retryable."""
    retry = Outcome("retry", 503, error_code="unavailable", error_detail="down", request_id="r9")
    script = {
        "2": [Outcome("existing", 200, engagement_id="eng_old")],
        "3": [
            Outcome(
                "failed",
                422,
                error_code="validation",
                error_detail="bad",
                errors='[{"field": "title"}]',
                request_id="r3",
            )
        ],
        "4": [Outcome("failed", 404, error_code="not_found", error_detail="cannot see")],
        "5": [Outcome("failed", 409, error_code="conflict", error_detail="deleted")],
        "6": [retry] * 10,
        "7": [
            Outcome("retry", None, error_code="timeout"),
            Outcome("created", 201, engagement_id="e7"),
        ],
    }
    engine, client, _ = make(ledger, script, max_attempts=3)
    summary = run(engine, [row(n) for n in range(1, 8)])
    assert (
        summary.total,
        summary.created,
        summary.existing,
        summary.failed,
        summary.retryable,
    ) == (7, 2, 1, 3, 1)
    status = {n: ledger_row(ledger, str(n))["status"] for n in range(1, 8)}  # type: ignore[index]
    assert status == {
        1: "created",
        2: "existing",
        3: "failed",
        4: "failed",
        5: "failed",
        6: "retryable",
        7: "created",
    }
    failed = ledger_row(ledger, "3")
    assert failed is not None
    assert (
        failed["http_status"],
        failed["error_code"],
        failed["error_detail"],
        failed["errors"],
        failed["request_id"],
    ) == (422, "validation", "bad", '[{"field": "title"}]', "r3")
    assert client.attempts("6") == 3
    assert ledger_row(ledger, "6")["attempts"] == 3  # type: ignore[index]
    assert client.attempts("7") == 2
    assert summary.clean is False


def test_backoff_waits_are_full_jitter_within_bounds(ledger: Ledger) -> None:
    """Retries wait uniform(0, min(60, 2**(n-1))) seconds, via the injected sleep."""
    retry = Outcome("retry", 500)
    engine, client, _ = make(
        ledger, {"1": [retry] * 4}, max_attempts=5, backoff=Backoff(base=1.0, cap=60.0)
    )
    run(engine, [row(1)])
    starts = [t for _, t in client.calls]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(gaps) == 4
    for n, gap in enumerate(gaps, start=1):
        assert 0 <= gap <= 2 ** (n - 1)


def test_retry_after_is_honoured_and_pauses_everyone(ledger: Ledger) -> None:
    """After a 429 no request goes out before Retry-After has passed, for any row."""
    limited = Outcome("retry", 429, error_code="rate_limited", retry_after=30.0)
    engine, client, _ = make(ledger, {"1": [limited]}, concurrency=4)
    summary = run(engine, [row(n) for n in range(1, 9)])
    assert summary.created == 8
    t429 = next(t for e, t in client.calls if e == "1")
    later = [t for e, t in client.calls[client.calls.index(("1", t429)) + 1 :]]
    resent = [t for e, t in client.calls if e == "1"][1]
    assert resent - t429 >= 30.0
    assert all(t - t429 >= 30.0 or t == t429 for t in later)


def test_429_paces_the_run_and_concurrency_follows_the_rate(ledger: Ledger) -> None:
    """A short Retry-After paces the run; requests in flight follow rate x latency."""
    limited = Outcome("retry", 429, retry_after=1.0)
    engine, client, _ = make(ledger, {"1": [limited]}, concurrency=8)
    limits: list[int] = []
    original = engine._throttle.answered

    async def spy(latency: float | None = None, sent_at: float | None = None) -> None:
        await original(latency, sent_at)
        limits.append(engine._throttle.limit)

    engine._throttle.answered = spy  # type: ignore[method-assign]
    summary = run(engine, [row(n) for n in range(1, 60)])
    assert summary.created == 59
    assert engine._throttle.rate is not None  # paced since the 429
    assert engine._throttle.paused_until == 0.0  # 1 s is the row's floor, not everyone's
    assert min(limits) >= 1 and max(limits) <= 8
    t429 = next(t for e, t in client.calls if e == "1")
    assert [t for e, t in client.calls if e == "1"][1] - t429 >= 1.0


def test_never_two_requests_in_flight_for_one_external_id(ledger: Ledger) -> None:
    """Rows repeating an external_id (had validation let them through) are serialised."""
    engine, client, _ = make(ledger, concurrency=8)
    rows = [row(n % 3, line=n + 2) for n in range(30)]
    run(engine, rows)
    assert client.max_in_flight_per_id == 1


def test_auth_failure_stops_dispatching(ledger: Ledger) -> None:
    """A 401 stops the run: nothing new is sent, and no row is left pending."""
    auth = Outcome("auth", 401, error_code="unauthorized", error_detail="the token was refused")
    engine, client, _ = make(ledger, {"3": [auth]}, concurrency=2)
    summary = run(engine, [row(n) for n in range(1, 50)])
    assert summary.stopped == "auth"
    assert summary.message == "the token was refused"
    assert len(client.calls) < 10
    assert ledger.counts()["pending"] == 0
    assert ledger_row(ledger, "3")["status"] == "retryable"  # type: ignore[index]


def test_retry_budget_stops_a_run_that_only_fails(ledger: Ledger) -> None:
    """When the last N attempts all failed, the run stops instead of hammering the server."""
    down = [Outcome("retry", 503, error_detail="down")] * 100
    script = {str(n): list(down) for n in range(1, 200)}
    engine, client, _ = make(ledger, script, retry_budget=10, max_attempts=5, concurrency=2)
    summary = run(engine, [row(n) for n in range(1, 200)])
    assert summary.stopped == "retry_budget"
    assert summary.message is not None
    assert "the last 10 attempts all failed" in summary.message
    assert len(client.calls) < 20
    assert ledger.counts()["pending"] == 0


def test_limit_sends_at_most_n_rows(ledger: Ledger) -> None:
    """--limit N sends N rows and stops cleanly."""
    engine, client, _ = make(ledger, max_rows=3)
    summary = run(engine, [row(n) for n in range(1, 10)])
    assert len(client.calls) == 3
    assert summary.created == 3
    assert summary.stopped == "limit"


def test_rerun_skips_done_rows_and_reports_changed(ledger: Ledger) -> None:
    """A re-run sends nothing for done rows; a done row whose payload changed is 'changed'."""
    engine, _, _ = make(ledger)
    run(engine, [row(1), row(2)])
    engine, client, _ = make(ledger)
    summary = run(engine, [row(1), row(2, title="renamed")])
    assert client.calls == []
    assert (summary.skipped, summary.changed) == (1, 1)
    assert summary.clean


def test_the_client_is_opened_before_the_first_send_and_only_if_a_row_goes(
    ledger: Ledger,
) -> None:
    """A run opens its client once, before any request; a re-run that sends nothing never does."""
    engine, client, _ = make(ledger, chunk=2)
    run(engine, [row(n) for n in range(1, 6)])
    assert client.opened[0] == 0  # before the first request
    assert len(client.calls) == 5
    engine, client, _ = make(ledger)
    summary = run(engine, [row(n) for n in range(1, 6)])
    assert (summary.skipped, client.opened, client.calls) == (5, [], [])


def test_presigned_signature_change_is_not_a_change(ledger: Ledger) -> None:
    """A new query string on the media URL (a fresh signature) does not make a row changed."""
    engine, _, _ = make(ledger)
    run(engine, [row(1)])
    engine, client, _ = make(ledger)
    summary = run(engine, [row(1, media_url="https://cdn.example.com/1.mp3?sig=2")])
    assert (summary.skipped, summary.changed, client.calls) == (1, 0, [])


def test_the_fingerprint_is_the_hash_of_the_bytes_sent(ledger: Ledger) -> None:
    """The body is encoded once: the ledger's fingerprint hashes exactly the bytes sent."""
    engine, client, _ = make(ledger)
    sent: list[bytes] = []
    create = client.create

    async def spy(body: bytes) -> Outcome:
        sent.append(body)
        return await create(body)

    client.create = spy  # type: ignore[method-assign]
    run(engine, [row(1, media_url="https://cdn.example.com/1.mp3")])
    assert len(sent) == 1
    stored = ledger_row(ledger, "1")
    assert stored is not None
    assert stored["fingerprint"] == hashlib.blake2b(sent[0], digest_size=16).hexdigest()


def test_fingerprints_match_those_already_in_ledgers() -> None:
    """Fingerprints are those earlier versions stored: a re-run sees no row as changed."""
    body = {
        "type": "CALL",
        "title": "t",
        "source_system": "s",
        "external_id": "1",
        "media_url": "https://cdn.example.com/1.mp3",
        "run_workflows": False,
    }
    signed = {**body, "media_url": "https://u:p@cdn.example.com/1.mp3?sig=1#t"}
    resigned = {**body, "media_url": "https://cdn.example.com/1.mp3?sig=2"}
    assert fingerprint(body, encode_body(body)) == "3797bdeb513079dd524a57ffe11879f6"
    assert fingerprint(signed, encode_body(signed)) == "bc7f527b4855340de5503a156ade8ae3"
    assert fingerprint(resigned, encode_body(resigned)) == "bc7f527b4855340de5503a156ade8ae3"


def test_failed_rows_resent_only_when_fixed_or_asked(ledger: Ledger) -> None:
    """A failed row is resent when its fingerprint changes, or under --retry-failed."""
    bad = Outcome("failed", 422, error_code="validation")
    engine, _, _ = make(ledger, {"1": [bad]})
    run(engine, [row(1)])
    engine, client, _ = make(ledger)
    summary = run(engine, [row(1)])
    assert (client.calls, summary.failed) == ([], 1)
    engine, client, _ = make(ledger)
    summary = run(engine, [row(1, title="fixed")])
    assert [e for e, _ in client.calls] == ["1"]
    assert summary.created == 1
    engine, _, _ = make(ledger, {"2": [bad]})
    run(engine, [row(2)])
    engine, client, _ = make(ledger, retry_failed=True)
    run(engine, [row(2)])
    assert [e for e, _ in client.calls] == ["2"]


def test_pending_and_retryable_rows_are_resent(ledger: Ledger) -> None:
    """After a crash (pending) or exhausted retries (retryable), a re-run sends the row again."""
    ledger.mark_pending([encode(row(1))], "m.csv")
    engine, _, _ = make(ledger, {"2": [Outcome("retry", 500)]}, max_attempts=1)
    run(engine, [row(2)])
    engine, client, _ = make(ledger)
    summary = run(engine, [row(1), row(2)])
    assert sorted(e for e, _ in client.calls) == ["1", "2"]
    assert summary.created == 2


def test_invalid_rows_are_never_sent_and_recorded(ledger: Ledger) -> None:
    """Invalid rows are counted and recorded as invalid, never sent; duplicates are not recorded."""
    problem = Problem("title", "missing_field", "is required", "Subject")
    dup = Problem("external_id", "duplicate_external_id", "repeat", "Id")
    rows = [
        Row(2, {"Id": "x"}, (problem,), external_id="x"),
        row(1),
        Row(4, {"Id": "1"}, (dup,), external_id="1"),
        Row(5, {}, (problem,)),
    ]
    engine, client, _ = make(ledger)
    summary = run(engine, rows)
    assert [e for e, _ in client.calls] == ["1"]
    assert (summary.invalid, summary.created) == (3, 1)
    assert ledger_row(ledger, "x")["status"] == "invalid"  # type: ignore[index]
    assert ledger_row(ledger, "x")["error_detail"] == "title: is required"  # type: ignore[index]
    assert ledger_row(ledger, "1")["status"] == "created"  # type: ignore[index]


def test_dry_run_sends_and_writes_nothing(ledger: Ledger) -> None:
    """A dry run decides every row from the ledger and sends nothing."""
    engine, _, _ = make(ledger)
    run(engine, [row(1)])
    time = FakeTime()
    events: list[tuple[str, str]] = []
    engine = Engine(
        None,
        ledger,
        **engine_args(manifest="m", dry_run=True),
        clock=time.clock,
        sleep=time.sleep,
        progress=lambda e, s, r, note: events.append((e, note)),
    )
    summary = run(engine, [row(1), row(2)])
    assert (summary.would_send, summary.skipped) == (1, 1)
    assert events == [("decision", "skip"), ("decision", "send"), ("read", "")]
    assert ledger_row(ledger, "2") is None


@pytest.mark.parametrize(
    ("prior", "fp", "retry_failed", "decision"),
    [
        (None, "a", False, "send"),
        (Prior("pending", "a"), "a", False, "send"),
        (Prior("retryable", "a"), "a", False, "send"),
        (Prior("invalid", "a"), "a", False, "send"),
        (Prior("created", "a"), "a", False, "skip"),
        (Prior("existing", "a"), "b", False, "changed"),
        (Prior("failed", "a"), "a", False, "failed"),
        (Prior("failed", "a"), "b", False, "send"),
        (Prior("failed", "a"), "a", True, "send"),
    ],
)
def test_decide(prior: Prior | None, fp: str, retry_failed: bool, decision: str) -> None:
    """What a re-run does with each ledger state."""
    assert decide(prior, fp, retry_failed) == decision


def test_interrupt_finishes_in_flight_and_leaves_nothing_pending(ledger: Ledger) -> None:
    """A first signal stops dispatching; rows waiting to retry are retryable, the rest left."""
    script = {"1": [Outcome("retry", 500)] * 3}
    engine, client, _ = make(ledger, script, concurrency=2)

    async def go() -> Summary:
        task = asyncio.create_task(engine.run([row(n) for n in range(1, 100)], given))
        while len(client.calls) < 5:
            await asyncio.sleep(0)
        engine.interrupt("SIGINT")
        return await task

    summary = asyncio.run(go())
    assert summary.stopped == "interrupted"
    assert ledger.counts()["pending"] == 0
    assert len(client.calls) < 20
    assert summary.created + summary.retryable + summary.left == 99
    tried = [ledger_row(ledger, str(n)) for n in range(1, 100) if client.attempts(str(n))]
    assert summary.retryable == sum(1 for e in tried if e and e["status"] == "retryable") == 1


def test_abort_cancels_and_releases_rows(ledger: Ledger) -> None:
    """A second signal aborts at once; rows in flight are retryable, rows queued are left.

    Until a first answer comes, Throttle.INITIAL (2) requests are in flight.
    """
    engine, client, _ = make(ledger, concurrency=4)
    gate = asyncio.Event

    async def hang(body: bytes) -> Outcome:
        client.calls.append((json.loads(body)["external_id"], 0.0))
        await gate().wait()
        raise AssertionError("unreachable")

    client.create = hang  # type: ignore[method-assign]

    async def go() -> Summary:
        task = asyncio.create_task(engine.run([row(n) for n in range(1, 20)], given))
        while len(client.calls) < 2:
            await asyncio.sleep(0)
        engine.interrupt("SIGINT")
        engine.interrupt("SIGINT")
        return await task

    summary = asyncio.run(go())
    assert len(client.calls) == 2
    assert summary.total >= 2
    assert (summary.retryable, summary.left) == (2, summary.total - 2)
    assert summary.message is not None
    assert "2 requests in flight cancelled by a second signal" in summary.message
    assert ledger.counts()["pending"] == 0
    assert ledger.counts()["retryable"] == summary.total
    cut = ledger_row(ledger, client.calls[0][0])
    assert cut is not None
    assert (cut["attempts"], cut["error_code"]) == (1, "cancelled")


def test_limit_does_not_cut_retry_waits_short(ledger: Ledger) -> None:
    """After --limit stops dispatching, rows still retrying keep their backoff waits."""
    engine, client, time = make(
        ledger, {"1": [Outcome("retry", 500)] * 2}, max_rows=1, backoff=Backoff(base=8.0, cap=8.0)
    )
    summary = run(engine, [row(1), row(2)])
    assert summary.created == 1
    starts = [t for e, t in client.calls if e == "1"]
    assert len(starts) == 3
    assert sum(time.slept) > 0
    assert starts[-1] - starts[0] == pytest.approx(sum(time.slept))


def test_manifest_failure_mid_stream_does_not_hang(ledger: Ledger) -> None:
    """If reading the manifest fails mid-run, the error surfaces and no row is left pending."""
    engine, _, _ = make(ledger, concurrency=2)

    def rows() -> Any:
        yield from (row(n) for n in range(1, 600))
        raise OSError("gzip: unexpected end of file")

    with pytest.raises(OSError, match="unexpected end"):
        run(engine, rows())
    assert ledger.counts()["pending"] == 0


def test_max_rows_counts_the_rows_left(ledger: Ledger) -> None:
    """--max-rows 3 sends 3 rows; the other 6 are counted as left, and the run is clean."""
    engine, client, _ = make(ledger, max_rows=3)
    summary = run(engine, [row(n) for n in range(1, 10)])
    assert len(client.calls) == 3
    assert (summary.created, summary.left, summary.retryable) == (3, 6, 0)
    assert summary.budget_reached and summary.clean
    report = summary.as_json()
    assert (report["budget_reached"], report["rows_left"], report["stopped"]) == (True, 6, "limit")


def test_rows_left_leave_out_done_and_failed_rows(ledger: Ledger) -> None:
    """Rows the ledger holds as done or failed (unchanged) are not counted as left."""
    engine, _, _ = make(ledger, {"5": [Outcome("failed", 422)]})
    run(engine, [row(n) for n in (4, 5)])

    def read(n: int) -> Row:
        """Return row ``n`` as the reader gives it: its raw fields fingerprinted."""
        found = row(n)
        found.source_fp = f"fp{n}"
        return found

    ledger.set_source_fingerprints([read(4), read(5)])
    engine, client, _ = make(ledger, max_rows=1)
    summary = run(engine, [read(n) for n in (1, 2, 3, 4, 5, 6)])
    assert [e for e, _ in client.calls] == ["1"]
    assert summary.left == 3  # 2, 3 and 6; 4 is done, 5 failed and unchanged


def test_deadline_stops_dispatching_and_counts_the_rest_as_left(ledger: Ledger) -> None:
    """Once the clock passes the deadline the producer stops; the unsent rows are left."""
    engine, _, time = make(
        ledger,
        {"1": [Outcome("retry", 503)] * 4},
        concurrency=1,
        chunk=1,
        deadline=1005.0,
        deadline_reason="--max-duration 5s reached",
        backoff=Backoff(base=8.0, cap=8.0),
    )
    summary = run(engine, [row(n) for n in range(1, 10)])
    assert sum(time.slept) > 5
    assert summary.stopped == "deadline"
    assert summary.message == "--max-duration 5s reached"
    assert summary.created + summary.left == 9
    assert summary.left >= 3  # a second worker sends on while row 1 backs off
    assert summary.clean
    assert ledger.counts()["pending"] == 0


class StopsAt(ScriptedClient):
    """Calls the engine's stop('deadline') when a given row is sent, then answers 503."""

    engine: Engine

    async def create(self, body: bytes) -> Outcome:
        """Stop the run as if the deadline timer fired during this request."""
        external_id = json.loads(body)["external_id"]
        if external_id == "2":
            self.engine.stop("deadline", "--until 06:00 reached")
            self.calls.append((external_id, self.time.now))
            return Outcome("retry", 503, error_code="unavailable")
        return await super().create(body)


def test_row_retrying_when_the_deadline_hits_is_left_not_failed(ledger: Ledger) -> None:
    """A row whose retry is cut short by a deadline is retryable in the ledger, left in the run."""
    time = FakeTime()
    client = StopsAt(time)
    engine = Engine(
        client,
        ledger,
        **engine_args(concurrency=1),
        clock=time.clock,
        sleep=time.sleep,
    )
    client.engine = engine
    summary = run(engine, [row(n) for n in range(1, 6)])
    assert client.attempts("2") == 1
    assert summary.retryable == 0
    assert summary.left == 4  # row 2 (retry cut short) and rows 3-5 never sent
    assert summary.created == 1
    assert summary.clean
    assert ledger_row(ledger, "2")["status"] == "retryable"  # type: ignore[index]
    assert ledger.counts()["pending"] == 0


def test_events_report_each_outcome_and_retry(ledger: Ledger) -> None:
    """The events hook gets one event per retry and per row outcome, with status and attempt."""
    from ae_import.sending.summary import RowEvent

    script = {
        "2": [Outcome("retry", 503, error_code="unavailable", request_id="r2")],
        "3": [Outcome("failed", 422, error_code="validation", error_detail="bad")],
    }
    seen: list[RowEvent] = []
    time = FakeTime()
    engine = Engine(
        ScriptedClient(time, script),
        ledger,
        **engine_args(concurrency=1, backoff=Backoff(base=1.0, cap=1.0)),
        events=seen.append,
        clock=time.clock,
        sleep=time.sleep,
        rng=random.Random(1),
    )
    invalid = Row(9, {}, (Problem("title", "missing_field", "is required"),), external_id="bad")
    run(engine, [row(1), row(2), row(3), invalid])
    brief = [(e.event, e.external_id, e.status, e.attempt, e.http_status) for e in seen]
    assert brief[:3] == [
        ("row", "bad", "invalid", 0, None),
        ("row", "1", "created", 1, 201),
        ("retry", "2", "retry", 1, 503),
    ]
    # Row 3 goes on while row 2 waits out its backoff (a second worker per slot).
    assert sorted(brief[3:]) == [("row", "2", "created", 2, 201), ("row", "3", "failed", 1, 422)]
    assert seen[1].rate is None  # unpaced until the 503 was heard
    assert all(e.rate is not None for e in seen[2:])  # paced since: the log shows the rate
    assert all(e.latency is not None for e in seen if e.http_status)
    assert seen[0].error_detail == "title: is required"
    assert seen[2].request_id == "r2"


def test_a_client_bug_ends_the_run_at_once(ledger: Ledger) -> None:
    """An exception from the client (a bug) ends the run promptly, with no row left pending."""

    class Broken(ScriptedClient):
        """A client whose every call raises."""

        async def create(self, body: bytes) -> Outcome:
            """Raise, as a bug in the HTTP layer would."""
            raise RuntimeError("bug in the client")

    time = FakeTime()
    engine = Engine(Broken(time), ledger, **engine_args(concurrency=4))

    async def bounded() -> Summary:
        return await asyncio.wait_for(
            engine.run([row(n) for n in range(1, 200)], given), timeout=30
        )

    with pytest.raises(RuntimeError, match="bug in the client"):
        asyncio.run(bounded())
    assert ledger.counts()["pending"] == 0
