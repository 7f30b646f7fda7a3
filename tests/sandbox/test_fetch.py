"""``sandbox --fetch-media``: the sandbox fetches media as the server does, and answers 422 like it.

The app is driven in-process (httpx's ASGI transport) on the test's own loop, so the
media servers of tests/rawserver.py serve on that loop too; the whole path (moto
holding an octet-stream recording, a signed s3:// reference, the sandbox in its own
thread) runs as a user would run it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ae_import.commands import app
from ae_import.media.cloud import Reference, Signer
from ae_import.sandbox import MemoryStore, SandboxServer, SandboxSettings, create_app
from ae_import.sandbox.fetch import FetchSettings, MediaFetcher, MediaProblem, blocked
from tests.helpers import SANDBOX_TOKEN
from tests.helpers.rawserver import Peer, raw_server
from tests.helpers.s3server import BUCKET, S3Server, s3, s3_env

__all__ = ["s3", "s3_env"]

HEADERS = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}


def body(media_url: str, external_id: str = "x:1") -> dict[str, Any]:
    """Return a valid create request for ``media_url``."""
    return {
        "type": "CALL",
        "title": "t",
        "source_system": "test",
        "external_id": external_id,
        "media_url": media_url,
        "run_workflows": False,
    }


def answer_with(head: str, content: bytes = b"") -> Callable[[Peer], Awaitable[None]]:
    """Return a raw-server answer: ``head`` (status line and headers), then ``content``."""

    async def answer(peer: Peer) -> None:
        await peer.send(
            f"{head}\r\ncontent-length: {len(content)}\r\n\r\n".encode("latin-1") + content
        )

    return answer


async def post(media_url: str, **settings: Any) -> httpx.Response:
    """POST one create to an in-process sandbox that fetches media."""
    settings.setdefault("media_allow_private", True)
    app = create_app(
        SandboxSettings(token=SANDBOX_TOKEN, fetch_media=True, **settings), MemoryStore()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        return await client.post("/api/v2/engagements", json=body(media_url), headers=HEADERS)


def cause(response: httpx.Response) -> tuple[int, str, str]:
    """Return a 422's status, error code and message."""
    error = response.json()["errors"][0]
    assert error["field"] == "media_url"
    return response.status_code, error["code"], error["message"]


def test_an_html_page_is_422_not_audio_or_video() -> None:
    """A URL that serves text/html: 422 unsupported_media_type, after HEAD and a ranged GET."""

    async def go() -> tuple[httpx.Response, list[Peer]]:
        answer = answer_with("HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8", b"<p>")
        async with raw_server(answer) as server:
            response = await post(server.base_url + "/rec/a.mp3")
            return response, await server.finished()

    response, peers = asyncio.run(go())
    assert cause(response) == (
        422,
        "unsupported_media_type",
        "the media URL does not serve audio/* or video/* content (text/html)",
    )
    methods = [peer.request.split(b" ", 1)[0] for peer in peers]
    assert methods == [b"HEAD", b"GET"]
    assert b"range: bytes=0-0" in peers[1].request.lower()


def test_a_404_is_422_unreachable() -> None:
    """A URL that answers 404: 422 media_unreachable naming the status."""

    async def go() -> httpx.Response:
        async with raw_server(answer_with("HTTP/1.1 404 Not Found")) as server:
            return await post(server.base_url + "/gone.mp3")

    assert cause(asyncio.run(go())) == (
        422,
        "media_unreachable",
        "the media URL is not accessible: HTTP 404",
    )


def test_audio_is_accepted_and_created() -> None:
    """A URL whose HEAD says audio/mpeg: 201, one request only."""

    async def go() -> tuple[httpx.Response, list[Peer]]:
        async with raw_server(answer_with("HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg")) as server:
            response = await post(server.base_url + "/a.mp3")
            return response, await server.finished()

    response, peers = asyncio.run(go())
    assert response.status_code == 201
    assert len(peers) == 1


def test_a_connection_refused_is_422_unreachable() -> None:
    """Nothing listens at the URL: 422 media_unreachable."""

    async def go() -> httpx.Response:
        async with raw_server(answer_with("HTTP/1.1 200 OK")) as server:
            url = server.base_url
        return await post(url + "/a.mp3")  # the server is closed now

    status, code, message = cause(asyncio.run(go()))
    assert (status, code) == (422, "media_unreachable")
    assert message.startswith("the media URL is not accessible: ConnectError")


def test_a_loopback_url_is_refused_without_allow_private() -> None:
    """Without --media-allow-private a loopback media URL is 422 (validation: url_private)."""

    async def go() -> httpx.Response:
        async with raw_server(answer_with("HTTP/1.1 200 OK\r\ncontent-type: audio/mpeg")) as server:
            return await post(server.base_url + "/a.mp3", media_allow_private=False)

    response = asyncio.run(go())
    assert response.status_code == 422
    codes = {e["code"] for e in response.json()["errors"]}
    assert "url_private" in codes


def fetcher(handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> MediaFetcher:
    """Return a fetcher over a mock transport, resolving names from a fixed table."""
    table = {"cdn.example.com": ["93.184.216.34"], "inside.example.com": ["10.1.2.3"]}

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("unknown host")
        return table[host]

    return MediaFetcher(
        FetchSettings(**kwargs), resolve=resolve, transport=httpx.MockTransport(handler)
    )


def check(media: MediaFetcher, url: str) -> MediaProblem | None:
    """Run one check and close the fetcher."""

    async def go() -> MediaProblem | None:
        try:
            return await media.check(url)
        finally:
            await media.aclose()

    return asyncio.run(go())


def test_a_name_that_resolves_privately_is_refused() -> None:
    """A public-looking name whose address is private: media_private_address, nothing sent."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, headers={"content-type": "audio/mpeg"})

    problem = check(fetcher(handler), "https://inside.example.com/a.mp3")
    assert problem == MediaProblem(
        "media_private_address",
        "the media URL resolves to a private/internal IP address (inside.example.com)",
    )
    assert sent == []


def test_a_redirect_to_a_private_address_is_refused() -> None:
    """Each hop is checked: a public URL redirecting to 10.0.0.7 is refused there."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url}")
        return httpx.Response(302, headers={"location": "https://10.0.0.7/a.mp3"})

    problem = check(fetcher(handler), "https://cdn.example.com/a.mp3")
    assert problem is not None and problem.code == "media_private_address"
    assert sent == ["HEAD https://cdn.example.com/a.mp3"]


def test_head_refused_falls_back_to_a_ranged_get_and_redirects_are_capped() -> None:
    """HEAD 403 (a URL signed for GET) falls back to GET; more than 5 redirects is unreachable."""
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(f"{request.method} {request.url.path} {request.headers.get('range')}")
        if request.method == "HEAD":
            return httpx.Response(403)
        if request.url.path == "/ok.mp3":
            return httpx.Response(206, headers={"content-type": "audio/mpeg"})
        hop = int(request.url.path.strip("/") or 0)
        return httpx.Response(302, headers={"location": f"/{hop + 1}"})

    assert check(fetcher(handler), "https://cdn.example.com/ok.mp3") is None
    assert sent == ["HEAD /ok.mp3 None", "GET /ok.mp3 bytes=0-0"]
    sent.clear()
    problem = check(fetcher(handler), "https://cdn.example.com/0")
    assert problem == MediaProblem(
        "media_unreachable", "the media URL is not accessible: more than 5 redirects"
    )
    assert len([s for s in sent if s.startswith("GET")]) == 6


def test_plain_http_is_refused_unless_private_is_allowed() -> None:
    """The server fetches https only; --media-allow-private lets http through (local stores)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "video/mp4"})

    problem = check(fetcher(handler), "http://cdn.example.com/a.mp4")
    assert problem == MediaProblem(
        "media_unreachable", "the media URL is not accessible: the scheme http is not fetched"
    )
    assert check(fetcher(handler, allow_private=True), "http://cdn.example.com/a.mp4") is None


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("10.0.0.1", True),
        ("169.254.169.254", True),
        ("::1", True),
        ("::ffff:192.168.1.1", True),
        ("fe80::1%eth0", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1::", False),
    ],
)
def test_blocked_addresses(address: str, refused: bool) -> None:
    """Private, loopback, link-local, mapped and multicast addresses are refused."""
    assert blocked(address) is refused


@pytest.mark.slow
def test_a_slow_server_is_422_download_timed_out() -> None:
    """A URL that never answers within --media-timeout: 422 media_timeout (0.3 s, real time)."""

    async def go() -> httpx.Response:
        async def silent(peer: Peer) -> None:
            await asyncio.sleep(5)

        async with raw_server(silent) as server:
            return await post(server.base_url + "/a.mp3", media_timeout_s=0.3)

    assert cause(asyncio.run(go())) == (
        422,
        "media_timeout",
        "the media download timed out (no answer within 0.3 s)",
    )


def test_signed_s3_reference_through_the_sandbox(s3_env: S3Server) -> None:
    """The whole path: moto holds an octet-stream object, a signed s3:// URL is created (201)."""
    settings = SandboxSettings(token=SANDBOX_TOKEN, fetch_media=True, media_allow_private=True)
    signer = Signer()
    with SandboxServer(settings) as server:
        url = server.base_url + "/v2/engagements"
        good = signer.sign(Reference("s3", BUCKET, "calls/2024/call-1.mp3"), 900)
        created = httpx.post(url, json=body(good, "s3:1"), headers=HEADERS)
        assert created.status_code == 201, created.text
        unsigned_type = signer.sign(
            Reference("s3", BUCKET, "calls/2024/notes.bin"), 900, "text/plain"
        )
        refused = httpx.post(url, json=body(unsigned_type, "s3:2"), headers=HEADERS)
        missing = signer.sign(Reference("s3", BUCKET, "calls/none.mp3"), 900)
        gone = httpx.post(url, json=body(missing, "s3:3"), headers=HEADERS)
    assert cause(refused)[:2] == (422, "unsupported_media_type")
    # S3 answers 403, not 404, for a missing key when the signer may not list the bucket.
    assert cause(gone) == (422, "media_unreachable", "the media URL is not accessible: HTTP 403")
    assert "X-Amz-Signature" not in refused.text + gone.text


def test_cli_allow_private_needs_fetch_media(runner: CliRunner) -> None:
    """--media-allow-private alone is a usage error, one line, exit 2."""
    result = runner.invoke(app, ["sandbox", "--media-allow-private"])
    assert result.exit_code == 2
    assert result.stderr == (
        "ae-import: error: --media-allow-private works with --fetch-media; add it\n"
    )


def test_problem_body_is_json_with_request_id() -> None:
    """A fetch refusal is a problem body like the others: type, status, detail, request_id."""

    async def go() -> httpx.Response:
        async with raw_server(answer_with("HTTP/1.1 500 Oops")) as server:
            return await post(server.base_url + "/a.mp3")

    problem = json.loads(asyncio.run(go()).content)
    assert problem["type"] == "urn:ae-import:sandbox:media"
    assert problem["status"] == 422
    assert problem["detail"] == "the media URL is not accessible: HTTP 500"
    assert problem["request_id"].startswith("req_")
