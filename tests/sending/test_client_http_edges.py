"""The default transport (httpx over aiohttp) against scripted loopback servers.

Compressed answers, answers too large to read, a decompression bomb, a server that
drips its answer, broken answers and too many open files: each ends as an Outcome.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import zlib
from typing import Any

import pytest

from ae_import.sending import ANSWER_CAP, EngagementClient, Outcome
from tests.helpers.rawserver import Answer, Peer, answer_head, gzip_bomb, raw_server

MIB = 1 << 20
PROBLEM = {
    "type": "urn:problem:validation",
    "title": "Invalid",
    "status": 422,
    "detail": "media_url must be https",
    "request_id": "req_9",
    "errors": [{"field": "media_url", "code": "url_scheme", "message": "use https"}],
}


async def exchange(answer: Answer, **options: Any) -> tuple[Outcome, list[Peer]]:
    """Send one create request to a server answering with ``answer``; return outcome, peers."""
    async with raw_server(answer) as server:
        client = EngagementClient(server.base_url, "tok", **options)
        try:
            outcome = await client.create(b'{"external_id": "x"}')
        finally:
            await client.aclose()
        peers = await server.finished()
    return outcome, peers


def run(answer: Answer, **options: Any) -> tuple[Outcome, list[Peer]]:
    """Run ``exchange`` on a fresh event loop."""
    return asyncio.run(exchange(answer, **options))


def compressed(coding: str, data: bytes) -> bytes:
    """Return ``data`` in ``coding`` (gzip, or deflate as zlib's format)."""
    return gzip.compress(data) if coding == "gzip" else zlib.compress(data)


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_201_is_created(coding: str) -> None:
    """A compressed 201 decodes once and is created, with its id; gzip and deflate are asked for."""
    body = compressed(coding, json.dumps({"id": "eng_1"}).encode())

    async def answer(peer: Peer) -> None:
        head = answer_head(201, f"Content-Encoding: {coding}", f"Content-Length: {len(body)}")
        await peer.send(head + body)

    outcome, [peer] = run(answer)
    assert (outcome.kind, outcome.http_status, outcome.engagement_id) == ("created", 201, "eng_1")
    assert b"accept-encoding: gzip, deflate" in peer.request.lower()


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
def test_compressed_422_is_failed_with_its_problem(coding: str) -> None:
    """A compressed 422 problem is failed, with its code, detail, errors and request id."""
    body = compressed(coding, json.dumps(PROBLEM).encode())

    async def answer(peer: Peer) -> None:
        head = answer_head(
            422,
            "Content-Type: application/problem+json",
            f"Content-Encoding: {coding}",
            f"Content-Length: {len(body)}",
        )
        await peer.send(head + body)

    outcome, _ = run(answer)
    assert (outcome.kind, outcome.http_status, outcome.error_code) == ("failed", 422, "validation")
    assert (outcome.error_detail, outcome.request_id) == ("media_url must be https", "req_9")
    assert outcome.errors is not None
    assert json.loads(outcome.errors)[0]["code"] == "url_scheme"


async def hundred_mib(peer: Peer, framing: str) -> None:
    """Answer 201 with 100 MiB of body, chunked or with its Content-Length."""
    block = b"x" * (64 * 1024)
    if framing == "chunked":
        await peer.send(answer_head(201, "Transfer-Encoding: chunked"))
        frame = b"%x\r\n%s\r\n" % (len(block), block)
    else:
        await peer.send(answer_head(201, f"Content-Length: {100 * MIB}"))
        frame = block
    for _ in range(100 * MIB // len(block)):
        await peer.send(frame)


@pytest.mark.parametrize("framing", ["chunked", "length"])
def test_hundred_mib_answer_ends_the_attempt_unread(framing: str) -> None:
    """A 100 MiB answer is a retryable answer_too_large; the client hangs up long before its end."""

    async def answer(peer: Peer) -> None:
        await hundred_mib(peer, framing)

    outcome, [peer] = run(answer)
    assert (outcome.kind, outcome.http_status, outcome.error_code) == (
        "retry",
        201,
        "answer_too_large",
    )
    assert peer.client_left
    # What the socket buffers on loopback took (a few MiB at most), not the 100 MiB.
    assert peer.sent < 20 * MIB


def test_gzip_bomb_is_stopped_by_the_same_cap() -> None:
    """64 GiB of zeros as about 68 MB of gzip: stopped past ANSWER_CAP decoded bytes."""

    async def answer(peer: Peer) -> None:
        await peer.send(answer_head(201, "Content-Encoding: gzip", "Connection: close"))
        for piece in gzip_bomb(64 * 1024):
            await peer.send(piece)

    outcome, [peer] = run(answer)
    assert (outcome.kind, outcome.error_code) == ("retry", "answer_too_large")
    assert outcome.error_detail is not None
    assert f"{ANSWER_CAP:,}" in outcome.error_detail
    assert peer.client_left
    assert peer.sent < 20 * MIB


@pytest.mark.parametrize("encoding", ["gzip, gzip", "br", "gzip, identity, deflate"])
def test_stacked_or_unasked_codings_are_refused_unread(encoding: str) -> None:
    """Stacked codings (a bomb's ratio multiplied) or codings not asked for are bad answers."""

    async def answer(peer: Peer) -> None:
        await peer.send(answer_head(201, f"Content-Encoding: {encoding}", "Connection: close"))
        for piece in gzip_bomb(16 * 1024):
            await peer.send(piece)

    outcome, [peer] = run(answer)
    assert (outcome.kind, outcome.http_status, outcome.error_code) == ("retry", 201, "bad_answer")
    assert outcome.error_detail is not None
    assert "content coding" in outcome.error_detail
    assert peer.client_left


def test_corrupt_gzip_is_a_bad_answer() -> None:
    """A body that claims gzip but is not: a retryable bad answer, status kept."""

    async def answer(peer: Peer) -> None:
        body = b"not gzip at all"
        head = answer_head(201, "Content-Encoding: gzip", f"Content-Length: {len(body)}")
        await peer.send(head + body)

    outcome, _ = run(answer)
    assert (outcome.kind, outcome.http_status, outcome.error_code) == ("retry", 201, "bad_answer")


@pytest.mark.slow
def test_dripping_server_is_timed_out_as_a_whole() -> None:
    """A server that drips its answer a byte at a time is cut at --timeout, not reset per byte."""
    body = b'{"id": "eng_1"}'
    whole = answer_head(201, f"Content-Length: {len(body)}") + body

    async def answer(peer: Peer) -> None:
        for byte in whole:  # about 60 bytes: 15 s at 0.25 s a byte
            await peer.send(bytes([byte]))
            await asyncio.sleep(0.25)

    outcome, [peer] = run(answer, timeout=1.0)
    assert (outcome.kind, outcome.error_code) == ("retry", "timeout")
    assert peer.sent < len(whole)


@pytest.mark.parametrize(
    "answer_bytes",
    [
        b"",  # the server reads the request and hangs up
        b"HELLO\r\n\r\n",  # not HTTP
        answer_head(201, "Content-Length: 100") + b'{"id": ',  # cut short
    ],
    ids=["hang-up", "not-http", "cut-short"],
)
def test_broken_answers_are_network_retries(answer_bytes: bytes) -> None:
    """A hang-up, a non-HTTP answer or a body cut short is a network retry, not a timeout."""

    async def answer(peer: Peer) -> None:
        if answer_bytes:
            await peer.send(answer_bytes)

    outcome, _ = run(answer)
    assert (outcome.kind, outcome.error_code) == ("retry", "network")
    assert outcome.error_detail is not None
    assert "tok" not in outcome.error_detail


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs Linux fd numbering")
def test_too_many_open_files_is_a_local_stop() -> None:
    """EMFILE on connect is a 'local' outcome that names ulimit -n and --concurrency."""
    with socket.socket() as probe:  # a port nobody listens on: socket() fails first anyway
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    import resource

    async def go() -> Outcome:
        client = EngagementClient(f"http://127.0.0.1:{port}/api", "tok")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        lowest_free = os.open(os.devnull, os.O_RDONLY)
        os.close(lowest_free)
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
        try:
            return await client.create(b"{}")
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            await client.aclose()

    outcome = asyncio.run(go())
    assert (outcome.kind, outcome.error_code) == ("local", "emfile")
    assert outcome.error_detail == ("too many open files: raise `ulimit -n` or lower --concurrency")


def test_raw_server_counts_what_it_sent() -> None:
    """The helper's byte count matches a whole small answer the client read."""
    body = b'{"id": "eng_2"}'
    whole = answer_head(200, f"Content-Length: {len(body)}") + body

    async def answer(peer: Peer) -> None:
        await peer.send(whole)

    outcome, [peer] = run(answer)
    assert (outcome.kind, outcome.engagement_id) == ("existing", "eng_2")
    assert (peer.sent, peer.client_left) == (len(whole), False)
