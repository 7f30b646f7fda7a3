"""``--check-media``: presigned expiry, the forecast, the probe's verdicts, the cache, ``validate``.

HTTP goes to ``httpx.MockTransport`` handlers (names resolved from a fixed table) or to
raw servers on 127.0.0.1; the real resolver is used only for ``localhost``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.ledger.db import Ledger
from ae_import.media import check as mediacheck
from ae_import.media import probe as media
from ae_import.media.check import MediaCheck
from ae_import.media.presigned import RUN_EVERY_S, Forecast, expires_at
from tests.helpers import Sandboxes, secrets
from tests.helpers.cli import HEADER
from tests.helpers.rawserver import Peer, raw_server

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
SIG = "c0ffee5ign4ture0123456789abcdef"
TABLE = {"cdn.example.com": ["93.184.216.34"], "inside.example.com": ["10.1.2.3"]}
Handler = Callable[[httpx.Request], Any]


def s3_url(path: str, signed: datetime, expires: int) -> str:
    """Return an S3 SigV4 presigned URL signed at ``signed``, living ``expires`` seconds."""
    return (
        f"https://cdn.example.com/{path}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential=AKIAEXAMPLE%2F20261130%2Fus-east-1%2Fs3%2Faws4_request"
        f"&X-Amz-Date={signed:%Y%m%dT%H%M%SZ}&X-Amz-Expires={expires}"
        f"&X-Amz-SignedHeaders=host&X-Amz-Signature={SIG}"
    )


def gcs_url(path: str, signed: datetime, expires: int) -> str:
    """Return a GCS V4 signed URL."""
    return (
        f"https://cdn.example.com/{path}?X-Goog-Algorithm=GOOG4-RSA-SHA256"
        f"&X-Goog-Date={signed:%Y%m%dT%H%M%SZ}&X-Goog-Expires={expires}&X-Goog-Signature={SIG}"
    )


def azure_url(path: str, ends: str) -> str:
    """Return an Azure SAS URL ending at ``ends``."""
    return f"https://cdn.example.com/{path}?sv=2024-08-04&se={ends}&sp=r&sr=b&sig={SIG}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (s3_url("a.mp3", NOW, 900), NOW + timedelta(seconds=900)),
        (gcs_url("a.mp3", NOW, 3600), NOW + timedelta(hours=1)),
        (azure_url("a.mp3", "2026-11-30T07%3A30%3A00Z"), NOW + timedelta(minutes=90)),
        (azure_url("a.mp3", "2026-12-01"), datetime(2026, 12, 1, tzinfo=UTC)),
        (f"https://x.example.com/a.mp3?Expires={NOW.timestamp():.0f}&Signature=abc", NOW),
        ("https://x.example.com/a.mp3?x-amz-date=20261130T060000Z&x-amz-expires=60&X-AMZ-SIGNATURE=s",
         NOW + timedelta(seconds=60)),
        ("https://cdn.example.com/a.mp3", None),
        ("https://cdn.example.com/a.mp3?X-Amz-Signature=s&X-Amz-Date=today&X-Amz-Expires=9", None),
        ("https://cdn.example.com/a.mp3?se=2026-12-01", None),  # no sig: not a SAS
    ],
)  # fmt: skip
def test_expires_at_reads_each_store(url: str, expected: datetime | None) -> None:
    """S3 V4, GCS V4, Azure se (date-time or date), V2 Expires; anything else has no expiry."""
    assert expires_at(url) == expected


def test_forecast_paces_rows_and_puts_rows_past_a_budget_in_later_runs() -> None:
    """At 10/h row 10 goes an hour in; a 6 h budget at 10/h holds 60 rows a run, one run a day."""
    paced = Forecast(NOW, rate=10 / 3600)
    assert paced.send_at(0) == NOW
    assert paced.send_at(10) == NOW + timedelta(hours=1)
    budget = Forecast(NOW, rate=10 / 3600, max_duration_s=6 * 3600)
    assert budget.per_run == 60
    assert budget.send_at(61) == NOW + timedelta(seconds=RUN_EVERY_S + 360)
    assert Forecast(NOW, max_rows=5).send_at(12) == NOW + timedelta(seconds=2 * RUN_EVERY_S)
    assert Forecast(NOW).send_at(10**6) == NOW


async def resolve(host: str, port: int) -> list[str]:
    """Resolve names from TABLE; any other name does not resolve."""
    if host not in TABLE:
        raise OSError("unknown host")
    return TABLE[host]


def check(
    handler: Handler, url: str, *, ledger: Ledger | None = None, now: datetime = NOW, **kw: Any
) -> list[tuple[str, str]]:
    """Check one URL through a mock transport; return its problems."""

    async def go() -> list[tuple[str, str]]:
        checker = MediaCheck(
            resolve=resolve,
            transport=httpx.MockTransport(handler),
            ledger=ledger,
            now=lambda: now,
            **kw,
        )
        try:
            return await checker.check(url)
        finally:
            await checker.aclose()

    return asyncio.run(go())


def answering(*answers: httpx.Response) -> tuple[Handler, list[str]]:
    """Return a handler that gives ``answers`` in turn (the last one again), and its log."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path} {request.headers.get('range')}")
        return answers[min(len(seen), len(answers)) - 1]

    return handler, seen


AUDIO = {"content-type": "audio/mpeg"}
CDN = "cdn.example.com answered"
DENIED = "private, expired or wrongly signed"


def test_head_refused_falls_back_to_a_ranged_get() -> None:
    """HEAD 403 (S3, a URL signed for GET), then GET bytes=0-0 answers 206 audio: good."""
    handler, seen = answering(
        httpx.Response(403), httpx.Response(206, headers={**AUDIO, "content-range": "bytes 0-0/9"})
    )
    assert check(handler, "https://cdn.example.com/a.mp3") == []
    assert seen == ["HEAD /a.mp3 None", "GET /a.mp3 bytes=0-0"]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ((httpx.Response(404),), [("media_http_404", f"{CDN} HTTP 404: no such file")]),
        ((httpx.Response(403),),
         [("media_http_403", f"{CDN} HTTP 403: access denied ({DENIED})")]),
        ((httpx.Response(503),), [("media_http_503", f"{CDN} HTTP 503")]),
        ((httpx.Response(200, headers={**AUDIO, "content-length": "0"}),),
         [("media_empty", "is empty (0 bytes at cdn.example.com); upload the recording again")]),
        ((httpx.Response(403), httpx.Response(416)),
         [("media_empty", "is empty (cdn.example.com answered 416 to a 1-byte range)")]),
        ((httpx.Response(200, headers={"content-type": "application/octet-stream"}),),
         [("media_content_type", "is served as application/octet-stream, not audio/* or video/*; "
           "the server refuses it (set the object's Content-Type, or name it as s3://, gs:// or "
           "az://: its signed URL forces the type)")]),
    ],
)  # fmt: skip
def test_each_failure_has_its_code(
    answers: tuple[httpx.Response, ...], expected: list[tuple[str, str]]
) -> None:
    """403, 404, other statuses, empty objects (size 0 or 416), octet-stream: one problem each."""
    assert check(answering(*answers)[0], "https://cdn.example.com/a.mp3") == expected


def test_redirects_are_followed_five_times_and_no_more() -> None:
    """Five redirects reach the audio; six are refused as unreachable."""

    def handler(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.path.strip("/"))
        if hop == 5:
            return httpx.Response(200, headers=AUDIO)
        return httpx.Response(302, headers={"location": f"/{hop + 1}"})

    assert check(handler, "https://cdn.example.com/0") == []
    assert check(handler, "https://cdn.example.com/-1") == [
        ("media_unreachable", "cannot be fetched: more than 5 redirects")
    ]


def test_a_name_or_a_redirect_that_resolves_privately_is_refused() -> None:
    """A public-looking name pointing inside, or a redirect to 10.0.0.7: nothing is asked there."""
    handler, seen = answering(httpx.Response(302, headers={"location": "https://10.0.0.7/a.mp3"}))
    private = "resolves to a private or internal address; the server fetches public ones only"
    assert check(handler, "https://inside.example.com/a.mp3") == [
        ("media_private_address", f"inside.example.com {private}")
    ]
    assert seen == []
    assert check(handler, "https://cdn.example.com/a.mp3") == [
        ("media_private_address", f"10.0.0.7 {private}")
    ]
    assert seen == ["HEAD /a.mp3 None"]


def test_localhost_is_refused_by_its_resolved_address_unless_private_is_allowed() -> None:
    """Real DNS: https://localhost is refused before any connection; allowed, it is asked."""

    async def go(allow: bool) -> tuple[list[tuple[str, str]], int]:
        async def answer(peer: Peer) -> None:
            await peer.send(
                b"HTTP/1.1 200 OK\r\ncontent-type: audio/wav\r\nconnection: close\r\n\r\n"
            )

        async with raw_server(answer) as server:
            url = server.base_url.replace("127.0.0.1", "localhost") + "/a.wav"
            url = url if allow else url.replace("http:", "https:")  # http needs allow_private
            checker = MediaCheck(allow_private=allow)
            try:
                found = await checker.check(url)
            finally:
                await checker.aclose()
        return found, len(server.peers)

    found, asked = asyncio.run(go(False))
    assert found == [
        (
            "media_private_address",
            "localhost resolves to a private or internal address; the server fetches public "
            "ones only",
        )
    ]
    assert asked == 0
    assert asyncio.run(go(True)) == ([], 1)


@pytest.mark.slow
def test_a_silent_host_is_media_timeout() -> None:
    """No answer within --media-timeout (0.2 s, real time): media_timeout."""

    async def silent(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    found = check(silent, "https://cdn.example.com/a.mp3", timeout_s=0.2)
    assert found == [("media_timeout", "no answer within 0.2 s (--media-timeout)")]


def test_expired_and_dying_urls_are_refused_without_asking() -> None:
    """Expired now: media_expired; dying within a minute of its turn: media_expires_before_send."""
    handler, seen = answering(httpx.Response(200, headers=AUDIO))
    expired = check(handler, s3_url("a.mp3", NOW - timedelta(hours=2), 3600))
    assert expired == [
        ("media_expired", "the presigned URL expired at 2026-11-30 05:00 UTC; sign it again")
    ]
    dying = check(handler, s3_url("a.mp3", NOW, 30))
    assert dying == [
        (
            "media_expires_before_send",
            "the presigned URL expires at 2026-11-30 06:00 UTC, before its turn (about "
            "2026-11-30 06:00 UTC); sign it for longer, or send it sooner",
        )
    ]
    assert seen == []
    assert check(handler, s3_url("a.mp3", NOW, 900)) == []
    assert len(seen) == 1


def test_good_results_are_cached_a_day_without_the_signature(tmp_path: Path) -> None:
    """A good check is kept 24 h (no request the second time); a failure is asked again."""
    ledger = Ledger(tmp_path / "l.sqlite", None)
    good = s3_url("a.mp3", NOW, 7 * 86400)
    handler, seen = answering(httpx.Response(200, headers=AUDIO))
    assert check(handler, good, ledger=ledger) == []
    assert check(handler, good, ledger=ledger, now=NOW + timedelta(hours=23)) == []
    assert len(seen) == 1
    assert check(handler, good, ledger=ledger, now=NOW + timedelta(hours=25)) == []
    assert len(seen) == 2
    gone, asked = answering(httpx.Response(404))
    for _ in range(2):
        assert check(gone, "https://cdn.example.com/b.mp3", ledger=ledger)[0][0] == "media_http_404"
    assert len(asked) == 4  # HEAD, then a ranged GET, each time
    ledger.close()
    db = sqlite3.connect(tmp_path / "l.sqlite")
    stored = db.execute("SELECT key, media, content_type FROM media_checks").fetchall()
    assert [row[1:] for row in stored] == [
        ("https://cdn.example.com/a.mp3?<redacted>", "audio/mpeg")
    ]
    assert SIG not in repr(stored)


def test_a_result_through_allow_private_is_not_reused_without_it(tmp_path: Path) -> None:
    """A private host checked good with --media-allow-private is refused in a check without it."""
    ledger = Ledger(tmp_path / "l.sqlite", None)
    handler, seen = answering(httpx.Response(200, headers=AUDIO))
    url = "https://inside.example.com/a.mp3"
    assert check(handler, url, ledger=ledger, allow_private=True) == []
    assert check(handler, url, ledger=ledger, allow_private=True) == []
    assert len(seen) == 1
    assert check(handler, url, ledger=ledger)[0][0] == "media_private_address"
    ledger.close()


def test_the_same_url_on_many_rows_is_asked_once_at_a_time() -> None:
    """Ten rows naming one URL, checked at once: one request."""
    handler, seen = answering(httpx.Response(200, headers=AUDIO))

    async def go() -> list[list[tuple[str, str]]]:
        checker = MediaCheck(resolve=resolve, transport=httpx.MockTransport(handler))
        try:
            url = "https://cdn.example.com/same.mp3"
            return await asyncio.gather(*(checker.check(url) for _ in range(10)))
        finally:
            await checker.aclose()

    assert asyncio.run(go()) == [[]] * 10
    assert len(seen) == 1


class FakeProber(media.Prober):
    """The probe with TABLE as its DNS and a recording mock transport (for the CLI tests)."""

    seen: ClassVar[list[httpx.Request]] = []
    answer: ClassVar[Handler] = staticmethod(lambda request: httpx.Response(200, headers=AUDIO))

    def __init__(self, **kwargs: Any) -> None:
        """Replace the resolver and transport."""

        def handler(request: httpx.Request) -> httpx.Response:
            FakeProber.seen.append(request)
            answer: httpx.Response = FakeProber.answer(request)
            return answer

        kwargs.update(resolve=resolve, transport=httpx.MockTransport(handler))
        super().__init__(**kwargs)


@pytest.fixture
def fake_prober(monkeypatch: pytest.MonkeyPatch) -> type[FakeProber]:
    """Make --check-media ask FakeProber's mock transport; start with an empty record."""
    monkeypatch.setattr(mediacheck, "Prober", FakeProber)
    FakeProber.seen = []
    return FakeProber


@pytest.fixture
def cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a temporary directory (the ledger the cache lives in lands there)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("where", ["flag", "config"])
def test_validate_presigned_manifest_at_ten_an_hour(
    runner: CliRunner, cwd: Path, fake_prober: type[FakeProber], where: str
) -> None:
    """Expired URLs and URLs dying before their turn at --rate 10/h get media_* problems.

    Row 0 is expired, refused offline before any check and never sent: rows 1-10 (sent in
    the first 54 minutes) live an hour and are asked once each, by HEAD, at the media host
    only; rows 11-13 die before their turn. The rate comes from --rate, or run.rate.
    """
    now = datetime.now(UTC).replace(microsecond=0)
    hour = (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    urls = [s3_url("r0.mp3", now - timedelta(hours=2), 3600)]
    urls += [s3_url(f"r{i}.mp3", now, 3600) for i in range(1, 11)]
    urls += [
        gcs_url("r11.mp3", now, 3600),
        azure_url("r12.mp3", hour),
        s3_url("r13.mp3", now, 3600),
    ]
    rows = "".join(f"CALL,Call {i},crm,c:{i},{url}\n" for i, url in enumerate(urls))
    (cwd / "m.csv").write_text(HEADER + rows)
    (cwd / "c.yaml").write_text("run:\n  rate: 10/h\n")
    rate = ["--rate", "10/h"] if where == "flag" else ["--config", "c.yaml"]
    result = runner.invoke(app, ["validate", "m.csv", "--check-media", *rate, "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    found = {p["external_id"]: p["code"] for p in report["problems"]}
    assert found == {
        "c:0": "media_expired",
        **{f"c:{i}": "media_expires_before_send" for i in range(11, 14)},
    }
    assert (report["valid"], report["invalid"]) == (10, 4)
    asked = sorted(f"{r.method} {r.url.host}{r.url.path}" for r in FakeProber.seen)
    assert asked == sorted(f"HEAD cdn.example.com/r{i}.mp3" for i in range(1, 11))
    assert SIG not in result.stdout + result.stderr
    expired = next(p for p in report["problems"] if p["external_id"] == "c:0")
    when = (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M UTC")
    assert expired["message"] == f"the presigned URL expired at {when}; sign it again"
    assert expired["field"] == "media_url"


def test_validate_without_check_media_asks_nothing(
    runner: CliRunner, cwd: Path, fake_prober: type[FakeProber]
) -> None:
    """Plain validate never probes; an expired presigned URL is refused offline all the same."""
    (cwd / "m.csv").write_text(HEADER + f"CALL,t,crm,c:1,{s3_url('a.mp3', NOW, 60)}\n")
    result = runner.invoke(app, ["validate", "m.csv", "--json"])
    assert result.exit_code == 1
    assert [p["code"] for p in json.loads(result.stdout)["problems"]] == ["media_expired"]
    assert FakeProber.seen == []
    assert not (cwd / "ae-import-ledger.sqlite").exists()


def test_validate_check_media_bad_options_are_one_line(runner: CliRunner, cwd: Path) -> None:
    """--rate and --media-timeout use run's parsers: one line, exit 2."""
    (cwd / "m.csv").write_text(HEADER)
    bad_rate = runner.invoke(app, ["validate", "m.csv", "--check-media", "--rate", "fast"])
    assert bad_rate.exit_code == 2
    assert bad_rate.stderr.startswith("ae-import: error: --rate: ")
    assert bad_rate.stderr.count("\n") == 1
    bad_timeout = runner.invoke(app, ["validate", "m.csv", "--media-timeout", "0"])
    assert bad_timeout.exit_code == 2
    assert bad_timeout.stderr == (
        "ae-import: error: --media-timeout: '0' must be a number of seconds above zero\n"
    )


def test_check_media_leaks_no_signature(
    sandboxes: Sandboxes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_prober: type[FakeProber],
) -> None:
    """Validate and run --check-media over presigned rows failing in each way: zero hits anywhere.

    A 404, a redirect whose location carries a signature and ends inside, and an HTML
    page; then status and export in every shape.
    """
    inside = f"https://inside.example.com/x.mp3?X-Amz-Signature={secrets.SIGNATURE}"

    def answer(request: httpx.Request) -> httpx.Response:
        name = request.url.path.rsplit("/", 1)[-1]
        if name == "1.mp3":
            return httpx.Response(404)
        if name == "2.mp3":
            return httpx.Response(302, headers={"location": inside})
        if name == "3.mp3":
            return httpx.Response(200, headers={"content-type": "text/html"})
        return httpx.Response(200, headers=AUDIO)

    fake_prober.answer = staticmethod(answer)
    monkeypatch.setitem(TABLE, "media.example-cdn.com", ["93.184.216.34"])
    monkeypatch.chdir(tmp_path)
    good = sandboxes.start(token=secrets.TOKEN)
    path = str(secrets.manifest(tmp_path / "m.csv"))
    run = secrets.Collector(tmp_path)
    for args in (["--json"], []):
        assert run("validate", path, "--check-media", *args).exit_code == 1
    base = ["run", path, "--base-url", good.base_url, "--check-media"]
    assert run(*base, "--log-file", "text.log").exit_code == 1
    run(*base, "--log-file", "json.log", "--log-format", "json", "--json")
    for args in ([], ["--json"]):
        run("status", *args)
    for args in ([], ["--as-manifest"], ["--as-manifest", "--format", "jsonl"]):
        run("export", *args)
    assert good.store.count() == 3  # rows 0, 4 and 5; 1-3 refused before sending
    codes = {"media_http_404", "media_private_address", "media_content_type"}
    assert all(code in "".join(run.outputs) for code in codes)
    assert secrets.leaks(run, tmp_path) == []
