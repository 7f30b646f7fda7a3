"""How a run stops, on virtual time: deadlines, signals, silent servers, a wrong base URL.

The engine runs on an event loop whose clock jumps to the next timer whenever nothing
else is ready, so a one-hour Retry-After or a 30 s grace costs no wall time, and when
the run ends on that clock is exact. A run that would wait for ever (nothing left to
wake it) fails at once instead of hanging.
"""

from __future__ import annotations

import asyncio
import json
import random
import selectors
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.ledger.db import Ledger
from ae_import.records import Problem, Row
from ae_import.sending import Engine, Outcome
from ae_import.sending.decision import Decider
from ae_import.sending.summary import Summary
from ae_import.sending.summary import Summary as Counts
from tests.helpers import SANDBOX_TOKEN, Writer
from tests.helpers.engine import engine_args, given, row
from tests.helpers.ledgerdb import ledger_row

T = TypeVar("T")
START = 1000.0


class _Jumping(selectors.DefaultSelector):
    """A selector that, when nothing is ready, moves its loop's clock to the next timer."""

    loop: VirtualLoop

    def select(self, timeout: float | None = None) -> list[Any]:
        """Poll without waiting; if nothing is ready, jump the clock by ``timeout``."""
        ready: list[Any] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            raise RuntimeError("the run waits for ever: no timer, no I/O, nothing ready")
        self.loop.now += timeout
        return ready


class VirtualLoop(asyncio.SelectorEventLoop):
    """An event loop on virtual time: it starts at START and never sleeps."""

    def __init__(self) -> None:
        """Start at START with the jumping selector."""
        self.now = START
        selector = _Jumping()
        selector.loop = self
        super().__init__(selector)

    def time(self) -> float:
        """Return the virtual time."""
        return self.now


def on_virtual_time(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on a fresh virtual-time loop."""
    loop = VirtualLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


class Client:
    """Answers each request with its script, after ``latency`` virtual seconds (None: never)."""

    def __init__(
        self,
        answer: Outcome | list[Outcome] | None = None,
        latency: float | None = 0.0,
        url: str = "https://api.example.com/api/v2/engagements",
    ) -> None:
        """Answer ``answer`` (the same to all, or one per request in order; None: 201)."""
        self.answer = answer
        self.latency = latency
        self._url = url
        self.calls: list[tuple[str, float]] = []

    @property
    def url(self) -> str:
        """Return where requests go."""
        return self._url

    def open(self) -> None:
        """Nothing to set up."""

    async def create(self, body: bytes) -> Outcome:
        """Record the request; answer after the latency, or never."""
        external_id = json.loads(body)["external_id"]
        self.calls.append((external_id, asyncio.get_running_loop().time()))
        if self.latency is None:
            await asyncio.Event().wait()  # a silent server: no answer, ever
        else:
            await asyncio.sleep(self.latency)
        if isinstance(self.answer, list):
            return self.answer.pop(0) if self.answer else self.created(external_id)
        return self.answer or self.created(external_id)

    @staticmethod
    def created(external_id: str) -> Outcome:
        """Return a 201."""
        return Outcome("created", 201, engagement_id=f"eng_{external_id}")

    async def aclose(self) -> None:
        """Nothing to close."""


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    """Return a fresh ledger."""
    return Ledger(tmp_path / "l.sqlite", "https://api.example.com/api")


def engine_for(
    ledger: Ledger, client: Client, notes: list[tuple[str, str]] | None = None, **settings: Any
) -> Engine:
    """Build an engine on the running virtual loop's clock."""
    seen = notes if notes is not None else []
    return Engine(
        client,
        ledger,
        **engine_args(**settings),
        progress=lambda event, summary, r, note: seen.append((event, note)),
        clock=asyncio.get_running_loop().time,
        sleep=asyncio.sleep,
        rng=random.Random(0),  # seeded: a backoff drawn under a deadline must not flake
    )


def run_rows(
    ledger: Ledger,
    client: Client,
    rows: Iterable[Row],
    *,
    signal_at: float | None = None,
    deadline_in: float | None = None,
    notes: list[tuple[str, str]] | None = None,
    **settings: Any,
) -> tuple[Summary, float]:
    """Run the engine on virtual time; return the summary and the virtual time it ended."""

    async def go() -> tuple[Summary, float]:
        loop = asyncio.get_running_loop()
        deadline = None if deadline_in is None else loop.time() + deadline_in
        engine = engine_for(ledger, client, notes, deadline=deadline, **settings)
        if signal_at is not None:
            loop.call_later(signal_at, engine.interrupt, "SIGINT")
        summary = await engine.run(list(rows), given)
        return summary, loop.time()

    return on_virtual_time(go())


def statuses(ledger: Ledger, n: int) -> dict[str, int]:
    """Count the ledger's statuses of rows 1..n."""
    found: dict[str, int] = {}
    for i in range(1, n + 1):
        entry = ledger_row(ledger, str(i))
        status = "absent" if entry is None else str(entry["status"])
        found[status] = found.get(status, 0) + 1
    return found


LIMITED = Outcome("retry", 429, error_code="rate_limited", retry_after=3600.0)


def test_an_hour_of_retry_after_ends_at_the_deadline(ledger: Ledger) -> None:
    """Retry-After 3600 and a 3 s deadline: the run ends at the deadline, not an hour later."""
    client = Client(LIMITED)
    summary, ended = run_rows(
        ledger, client, [row(n) for n in range(1, 21)], deadline_in=3.0, concurrency=4
    )
    assert ended - START <= 3.0 + 30.0  # the deadline, plus the grace at most
    assert ended - START < 4.0  # nothing was in flight: no grace needed
    assert summary.stopped == "deadline"
    assert len(client.calls) == 2  # the first two (Throttle.INITIAL); the rest waited
    assert (summary.retryable, summary.left) == (0, 20)
    assert summary.clean
    assert statuses(ledger, 20).get("pending", 0) == 0


def test_a_first_signal_ends_an_hour_of_retry_after_at_once(ledger: Ledger) -> None:
    """A signal during a one-hour pause ends the run then, and says nothing was in flight."""
    notes: list[tuple[str, str]] = []
    client = Client(LIMITED)
    summary, ended = run_rows(
        ledger, client, [row(n) for n in range(1, 21)], signal_at=2.0, notes=notes, concurrency=4
    )
    assert ended - START < 3.0  # was 32: the grace, then an abort
    assert summary.stopped == "interrupted"
    assert summary.message == "interrupted by SIGINT"  # no "requests in flight finished"
    assert ("stopping", "stopping: no requests in flight; press Ctrl-C again to abort") in notes
    assert summary.retryable == 2  # tried once (Throttle.INITIAL in flight), answered 429
    assert summary.left == 18  # never tried: not retryable after 0 attempts
    assert summary.as_json()["rows_left"] == 18


def test_a_silent_server_is_cut_at_the_deadline_plus_grace(ledger: Ledger) -> None:
    """No answer ever, a 5 s deadline: cut after the 30 s grace; rows retryable, message true."""
    client = Client(latency=None)
    summary, ended = run_rows(
        ledger,
        client,
        [row(n) for n in range(1, 21)],
        deadline_in=5.0,
        concurrency=4,
        deadline_reason="--max-duration 5s reached",
    )
    assert ended - START == pytest.approx(35.0)
    assert summary.stopped == "deadline"
    assert summary.message is not None
    assert summary.message == (
        "--max-duration 5s reached; 2 requests in flight cancelled after the 30 s grace, "
        "left retryable"
    )
    assert "finished" not in summary.message
    assert summary.retryable == 2  # Throttle.INITIAL in flight until a first answer
    assert summary.left == 18
    assert not summary.clean  # cut requests are retryable: exit 1
    cut = ledger_row(ledger, "1")
    assert cut is not None
    assert (cut["status"], cut["attempts"], cut["error_code"]) == ("retryable", 1, "cancelled")
    assert statuses(ledger, 20).get("pending", 0) == 0


def test_a_signal_waits_for_requests_in_flight_and_says_so(ledger: Ledger) -> None:
    """A signal with 2 slow requests in flight: says so at once, they finish, the rest are left."""
    notes: list[tuple[str, str]] = []
    client = Client(latency=10.0)
    summary, ended = run_rows(
        ledger, client, [row(n) for n in range(1, 21)], signal_at=1.0, notes=notes, concurrency=4
    )
    stopping = [note for event, note in notes if event == "stopping"]
    assert stopping == [
        "stopping: waiting for 2 requests in flight (up to 30 s); press Ctrl-C again to abort"
    ]
    assert ended - START == pytest.approx(10.0)
    assert (summary.created, summary.retryable, summary.left) == (2, 0, 18)
    assert summary.message == "interrupted by SIGINT; the 2 requests in flight finished"
    report = summary.as_json()
    assert (report["stopped"], report["rows_left"]) == ("interrupted", 18)


def test_a_signal_with_a_silent_server_cuts_after_the_grace(ledger: Ledger) -> None:
    """A signal, then no answer within the grace: the requests are cancelled, and it says so."""
    client = Client(latency=None)
    summary, ended = run_rows(
        ledger, client, [row(n) for n in range(1, 9)], signal_at=1.0, concurrency=2
    )
    assert ended - START == pytest.approx(31.0)
    assert summary.message is not None
    assert summary.message.startswith("interrupted by SIGINT; 2 requests in flight cancelled")
    assert (summary.retryable, summary.left) == (2, 6)


def test_a_backoff_wait_ends_at_the_deadline(ledger: Ledger) -> None:
    """A row waiting out a long backoff when the deadline comes gives up then."""
    from ae_import.sending.policy import Backoff

    client = Client([Outcome("retry", 503)])
    summary, ended = run_rows(
        ledger,
        client,
        [row(1)],
        deadline_in=2.0,
        concurrency=1,
        backoff=Backoff(base=600.0, cap=600.0),
    )
    assert ended - START == pytest.approx(2.0)
    assert (summary.left, summary.retryable) == (1, 0)


WRONG = "https://user:hunter2@host.example/v2/v2/engagements"
NOT_FOUND = Outcome("failed", 404, error_code="http_404", error_detail="cannot see (Not Found)")


class Confirms:
    """Counts calls to a ledger's confirm_target."""

    def __init__(self, ledger: Ledger) -> None:
        """Wrap ``ledger.confirm_target``."""
        self.calls = 0
        original = ledger.confirm_target

        def counted() -> None:
            self.calls += 1
            original()

        ledger.confirm_target = counted  # type: ignore[method-assign]


def test_five_404s_first_stop_the_run_as_a_wrong_url(ledger: Ledger) -> None:
    """The first five answers all 404: stop (wrong_url), rows retryable, URL shown redacted."""
    confirms = Confirms(ledger)
    client = Client(NOT_FOUND, url=WRONG)
    summary, _ = run_rows(ledger, client, [row(n) for n in range(1, 40)], concurrency=1)
    assert summary.stopped == "wrong_url"
    assert summary.message == (
        "POST https://host.example/v2/v2/engagements answered 404 five times: "
        "check --base-url; it should end in /api"
    )
    assert len(client.calls) == 5
    assert (summary.failed, summary.retryable) == (0, 5)
    entry = ledger_row(ledger, "1")
    assert entry is not None
    assert entry["status"] == "retryable"
    assert "hunter2" not in str(dict(entry))
    assert "check --base-url" in str(entry["error_detail"])
    assert confirms.calls == 0  # never bound to a URL that answered nothing else


def test_a_short_run_of_only_404s_is_a_wrong_url_too(ledger: Ledger) -> None:
    """Two rows, both 404 and 405, and nothing else: the URL is wrong, not the rows."""
    client = Client([NOT_FOUND, Outcome("failed", 405, error_code="http_405")])
    summary, _ = run_rows(ledger, client, [row(1), row(2)], concurrency=1)
    assert summary.stopped == "wrong_url"
    assert summary.message is not None
    assert "answered 404/405 twice" in summary.message
    assert (summary.failed, summary.retryable) == (0, 2)


def test_404s_after_a_success_are_failed_rows(ledger: Ledger) -> None:
    """Once the target answered 201, a 404 is the row's: failed; confirm_target called once."""
    confirms = Confirms(ledger)
    client = Client([Client.created("1")] + [NOT_FOUND] * 6)
    summary, _ = run_rows(ledger, client, [row(n) for n in range(1, 10)], concurrency=1)
    assert summary.stopped is None
    assert (summary.created, summary.failed) == (3, 6)
    assert confirms.calls == 1


def test_held_404s_become_failed_when_the_target_answers(ledger: Ledger) -> None:
    """Three 404s, then a 201: the URL is right, so the three are failed after all."""
    confirms = Confirms(ledger)
    client = Client([NOT_FOUND] * 3)
    summary, _ = run_rows(ledger, client, [row(n) for n in range(1, 6)], concurrency=1)
    assert summary.stopped is None
    assert (summary.failed, summary.created, summary.retryable) == (3, 2, 0)
    assert ledger_row(ledger, "1")["status"] == "failed"  # type: ignore[index]
    assert confirms.calls == 1
    assert ledger.counts()["pending"] == 0


def test_404s_for_rows_answered_before_do_not_count(ledger: Ledger) -> None:
    """Rows the target answered in an earlier run (failed, resent) are not evidence of a bad URL."""
    ledger.mark_pending([row(n) for n in range(1, 7)], "m.csv")
    for n in range(1, 7):
        ledger.finish(str(n), "failed", attempts=1, http_status=404)
    client = Client(NOT_FOUND)
    summary, _ = run_rows(
        ledger, client, [row(n) for n in range(1, 7)], concurrency=1, retry_failed=True
    )
    assert summary.stopped is None
    assert summary.failed == 6


def test_a_200_after_a_lost_answer_is_counted_created(ledger: Ledger) -> None:
    """A 200 after this run's 5xx or timeout is its own creation; after a 429 or refusal, not."""
    existing = Outcome("existing", 200, engagement_id="e")
    refused = Outcome(
        "retry", error_code="network", error_detail="ConnectionRefusedError: [Errno 111]"
    )
    cases = {
        "503": Outcome("retry", 503),
        "timeout": Outcome("retry", error_code="timeout", error_detail="timed out"),
        "reset": Outcome("retry", error_code="network", error_detail="ServerDisconnectedError"),
        "429": Outcome("retry", 429, retry_after=0.0),
        "refused": refused,
    }
    counted = {}
    for name, first in cases.items():
        book = Ledger(ledger.path.with_name(f"{name}.sqlite"), "https://api.example.com/api")
        summary, _ = run_rows(book, Client([first, existing]), [row(1)], concurrency=1)
        counted[name] = (summary.created, summary.existing)
        entry = ledger_row(book, "1")
        assert entry is not None
        assert entry["http_status"] == 200
    assert counted == {
        "503": (1, 0),
        "timeout": (1, 0),
        "reset": (1, 0),
        "429": (0, 1),
        "refused": (0, 1),
    }


def test_an_invalid_source_row_whose_id_is_done_is_skipped_or_changed(ledger: Ledger) -> None:
    """An id created (say through a fix file) makes its invalid source row skipped or changed."""
    fixed = row(1)
    fixed.source_fp = "fixed-fp"
    ledger.mark_pending([fixed], "fix.csv")
    ledger.finish("1", "created", attempts=1, http_status=201, engagement_id="e1")
    problem = (Problem("title", "missing_field", "is required", "Subject"),)
    same = Row(2, {"Id": "1"}, problem, external_id="1", source_fp="fixed-fp")
    other = Row(3, {"Id": "1"}, problem, external_id="1", source_fp="source-fp")
    fresh = Row(4, {"Id": "9"}, problem, external_id="9", source_fp="x")
    summary = Counts()
    decider = Decider(
        ledger,
        summary,
        given,
        manifest="m.csv",
        retry_failed=False,
        dry_run=False,
        progress=lambda *_: None,
        events=lambda _: None,
    )
    decider.lookup([same, other, fresh])
    assert [decider.decide(r) for r in (same, other, fresh)] == [False, False, False]
    assert (summary.skipped, summary.changed, summary.invalid) == (1, 1, 1)
    assert ledger_row(ledger, "1")["status"] == "created"  # type: ignore[index]
    assert ledger_row(ledger, "9")["status"] == "invalid"  # type: ignore[index]


def test_a_wrong_base_url_exits_2_through_the_cli(
    runner: CliRunner, sandbox: Any, tmp_path: Path, write: Writer
) -> None:
    """`--base-url .../api/v2` against the sandbox: exit 2, the advice, no row failed."""
    rows = "".join(f"CALL,t{n},crm,w{n},https://cdn.example.com/{n}.mp3\n" for n in range(8))
    manifest = write("m.csv", "type,title,source_system,external_id,media_url\n" + rows)
    ledger_path = tmp_path / "l.sqlite"
    args = ["run", str(manifest), "--base-url", sandbox.base_url + "/v2"]
    args += ["--ledger", str(ledger_path), "--json", "--concurrency", "1"]
    result = runner.invoke(app, args, env={"AE_API_TOKEN": SANDBOX_TOKEN})
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert report["failed"] == 0
    assert report["stopped"] == "wrong_url"
    assert "answered 404 five times: check --base-url; it should end in /api" in result.stderr
    assert "Traceback" not in result.stderr
    assert sandbox.store.count() == 0


def test_redirects_first_are_a_wrong_url_and_bind_nothing(ledger: Ledger) -> None:
    """A base URL that redirects (301) five times: wrong_url, rows retryable, ledger unbound."""
    confirms = Confirms(ledger)
    moved = Outcome("failed", 301, error_code="http_301", error_detail="Moved Permanently")
    client = Client(moved, url=WRONG)
    summary, _ = run_rows(ledger, client, [row(n) for n in range(1, 20)], concurrency=1)
    assert summary.stopped == "wrong_url"
    assert summary.message is not None and "answered 301 five times" in summary.message
    assert (summary.failed, summary.retryable) == (0, 5)
    assert confirms.calls == 0


def test_an_html_200_or_a_5xx_does_not_bind_the_ledger(ledger: Ledger) -> None:
    """Answers that are not the API's (an HTML 200, a 502) never bind; a 201 then does."""
    confirms = Confirms(ledger)
    html = Outcome("retry", 200, error_code="bad_answer", error_detail="not an engagement")
    bad_gateway = Outcome("retry", 502, error_code="http_502", error_detail="Bad Gateway")
    client = Client([html, bad_gateway])
    summary, _ = run_rows(ledger, client, [row(1)], concurrency=1, max_attempts=2)
    assert summary.retryable == 1
    assert confirms.calls == 0
    again = Client([Client.created("1")])
    assert run_rows(ledger, again, [row(1)], concurrency=1)[0].created == 1
    assert confirms.calls == 1
