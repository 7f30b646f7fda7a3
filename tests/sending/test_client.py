"""Tests of the HTTP client against the sandbox over real HTTP, and with injected transports."""

from __future__ import annotations

import asyncio
import errno
import gzip
import json
import socket
from typing import Any, ClassVar

import httpx
import pytest

from ae_import.mapping.mapper import encode_body
from ae_import.net import Network
from ae_import.sending import EngagementClient, Outcome
from tests.helpers import SANDBOX_TOKEN, Sandboxes

BODY = {
    "type": "CALL",
    "title": "t",
    "source_system": "s",
    "external_id": "c:1",
    "media_url": "https://cdn.example.com/a.mp3",
    "run_workflows": False,
}


def send(base_url: str, body: Any = BODY, token: str = SANDBOX_TOKEN, **kwargs: Any) -> Outcome:
    """Send one create request with a fresh client; return the outcome."""

    async def go() -> Outcome:
        client = EngagementClient(base_url, token, **kwargs)
        try:
            return await client.create(encode_body(body))
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_created_then_existing(sandbox: Any) -> None:
    """201 is created and 200 existing, both with the engagement id and request id."""
    first = send(sandbox.base_url)
    assert (first.kind, first.http_status) == ("created", 201)
    assert first.engagement_id is not None
    assert first.engagement_id.startswith("eng_")
    assert first.request_id is not None
    again = send(sandbox.base_url)
    assert (again.kind, again.http_status, again.engagement_id) == (
        "existing",
        200,
        first.engagement_id,
    )


def test_raw_auth_scheme_sends_the_bare_key(sandbox: Any) -> None:
    """auth_scheme 'raw' sends the key without 'Bearer', which the sandbox accepts."""
    assert send(sandbox.base_url, auth_scheme="raw").kind == "created"


def test_422_keeps_code_detail_errors_and_request_id(sandbox: Any) -> None:
    """A 422 is failed, with the problem's code, detail, errors[] and request_id."""
    outcome = send(sandbox.base_url, {**BODY, "media_url": "http://cdn.example.com/a"})
    assert (outcome.kind, outcome.http_status, outcome.error_code) == ("failed", 422, "validation")
    assert outcome.errors is not None
    assert json.loads(outcome.errors)[0]["code"] == "url_scheme"
    assert outcome.request_id is not None
    assert outcome.request_id.startswith("req_")


@pytest.mark.parametrize(
    ("mark", "status", "words"),
    [("ae-sandbox-404", 404, "cannot see"), ("ae-sandbox-409", 409, "deleted engagement")],
)
def test_404_and_409_are_failed_with_advice(
    sandbox: Any, mark: str, status: int, words: str
) -> None:
    """404 and 409 are failed, and say what they mean for the external_id."""
    outcome = send(sandbox.base_url, {**BODY, "external_id": mark})
    assert (outcome.kind, outcome.http_status) == ("failed", status)
    assert outcome.error_detail is not None
    assert words in outcome.error_detail


def test_401_is_auth_and_mentions_the_raw_form(sandbox: Any) -> None:
    """A refused token sent as Bearer is an auth outcome whose detail mentions auth_scheme: raw."""
    outcome = send(sandbox.base_url, token="wrong")
    assert (outcome.kind, outcome.http_status) == ("auth", 401)
    assert outcome.error_detail is not None
    assert "auth_scheme: raw" in outcome.error_detail
    assert "wrong" not in outcome.error_detail


@pytest.mark.parametrize(
    ("token", "scheme", "hint", "not_hint"),
    [
        ("Bearer tok-123456", "bearer", "drop the 'Bearer ' prefix", "auth_scheme"),
        ("bearer tok-123456", "raw", "drop the 'Bearer ' prefix", "auth_scheme"),
        ("sk-apik_123456", "bearer", "auth_scheme: raw", "auth_scheme: bearer"),
        ("tok-123456", "raw", "auth_scheme: bearer", "auth_scheme: raw"),
    ],
)
def test_401_hint_follows_what_was_sent(token: str, scheme: str, hint: str, not_hint: str) -> None:
    """The 401 hint is based on the token's form and the scheme used; it never shows the token."""
    transport = httpx.MockTransport(lambda request: httpx.Response(401))
    outcome = send(
        "https://api.example.com/api", token=token, auth_scheme=scheme, transport=transport
    )
    assert (outcome.kind, outcome.http_status) == ("auth", 401)
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("the token was refused (401); ")
    assert hint in outcome.error_detail
    assert not_hint not in outcome.error_detail
    assert "123456" not in outcome.error_detail


def test_403_is_auth_and_names_the_scope(sandboxes: Sandboxes) -> None:
    """A token without the scope is an auth outcome naming engagements:write."""
    server = sandboxes.start(readonly_token="ro")
    outcome = send(server.base_url, token="ro")
    assert (outcome.kind, outcome.http_status) == ("auth", 403)
    assert outcome.error_detail is not None
    assert "engagements:write" in outcome.error_detail


def test_429_is_retry_with_retry_after(sandboxes: Sandboxes) -> None:
    """A 429 is a retry outcome carrying Retry-After in seconds."""
    server = sandboxes.start(rate=0.01, burst=1)
    send(server.base_url)
    outcome = send(server.base_url)
    assert (outcome.kind, outcome.http_status) == ("retry", 429)
    assert outcome.retry_after is not None
    assert outcome.retry_after >= 1


def test_5xx_is_retry(sandboxes: Sandboxes) -> None:
    """Injected 500s and 503s are retry outcomes."""
    server = sandboxes.start(fail_rate=1.0, seed=1)
    outcomes = {send(server.base_url).http_status for _ in range(8)}
    assert outcomes <= {500, 503}
    assert send(server.base_url).kind == "retry"


def test_connection_refused_is_retry() -> None:
    """Nobody listening is a retry outcome (network), not an exception."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    outcome = send(f"http://127.0.0.1:{port}/api")
    assert (outcome.kind, outcome.error_code) == ("retry", "network")


def test_timeout_is_retry(sandboxes: Sandboxes) -> None:
    """An answer slower than the timeout is a retry outcome (timeout)."""
    server = sandboxes.start(latency_ms=2000)
    outcome = send(server.base_url, timeout=0.2)
    assert (outcome.kind, outcome.error_code) == ("retry", "timeout")


@pytest.mark.parametrize(
    ("status", "content"),
    [
        (200, b"<html>"),
        (201, b'{"no": "id"}'),
        (201, b'{"id": "e'),
        (200, b"[]"),
        (201, b'{"id": null}'),
        (201, b'{"id": {"value": "eng_1"}}'),
        (200, b'{"id": 17}'),
        (201, b'{"id": ""}'),
        (201, b'{"id": "  "}'),
        (201, b'{"id": ["eng_1"]}'),
    ],
)
def test_unparseable_success_is_retry(status: int, content: bytes) -> None:
    """A 2xx whose body is not an engagement is retried (through an injected transport)."""
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=content))
    outcome = send("https://api.example.com/api", transport=transport)
    assert (outcome.kind, outcome.http_status, outcome.error_code) == (
        "retry",
        status,
        "bad_answer",
    )


def test_408_is_retry_and_400_failed() -> None:
    """408 is retried; 400 is failed, with the problem's detail."""
    problem = {
        "type": "urn:x:bad",
        "title": "Bad",
        "status": 400,
        "detail": "nope",
        "request_id": "req_1",
    }
    answers = iter([httpx.Response(408), httpx.Response(400, json=problem)])
    transport = httpx.MockTransport(lambda request: next(answers))

    async def go() -> list[Outcome]:
        client = EngagementClient("https://api.example.com/api", "t", transport=transport)
        out = [await client.create(b"{}"), await client.create(b"{}")]
        await client.aclose()
        return out

    timeout, bad = asyncio.run(go())
    assert (timeout.kind, timeout.http_status) == ("retry", 408)
    assert (bad.kind, bad.http_status, bad.error_code, bad.error_detail, bad.request_id) == (
        "failed",
        400,
        "bad",
        "nope",
        "req_1",
    )


def test_request_carries_bearer_token_and_json() -> None:
    """The request is a POST of the body to /v2/engagements with the token as Bearer."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"id": "eng_1"})

    send("https://api.example.com/api/", transport=httpx.MockTransport(answer), token="tok")
    [request] = seen
    assert request.method == "POST"
    assert str(request.url) == "https://api.example.com/api/v2/engagements"
    assert request.headers["authorization"] == "Bearer tok"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert json.loads(request.content) == BODY


class CountingNetwork(Network):
    """A network that counts the API transports built from it (each a MockTransport)."""

    built: ClassVar[list[int]] = []

    def api_transport(self, concurrency: int) -> httpx.AsyncBaseTransport:
        """Count the build; answer 201 to everything."""
        self.built.append(concurrency)
        return httpx.MockTransport(lambda request: httpx.Response(201, json={"id": "eng_1"}))


def test_the_transport_is_built_at_open_once_and_never_for_a_client_unused() -> None:
    """Making a client builds no transport; open() builds it once; closing an unused one is fine."""
    CountingNetwork.built.clear()

    async def go() -> list[Outcome]:
        unused = EngagementClient("https://api.example.com/api", "tok", network=CountingNetwork())
        await unused.aclose()
        client = EngagementClient(
            "https://api.example.com/api", "tok", network=CountingNetwork(), concurrency=3
        )
        assert (CountingNetwork.built, client.url) == (
            [],
            "https://api.example.com/api/v2/engagements",
        )
        client.open()
        client.open()
        outcomes = [await client.create(encode_body(BODY)) for _ in range(2)]
        await client.aclose()
        return outcomes

    outcomes = asyncio.run(go())
    assert CountingNetwork.built == [3]
    assert [o.kind for o in outcomes] == ["created", "created"]


def test_the_token_is_in_no_repr_of_the_client_or_its_wire() -> None:
    """A tool that prints a frame's locals (Sentry, pytest) never shows the token."""
    client = EngagementClient(
        "https://api.example.com/api", "tok-SECRET-123", network=CountingNetwork()
    )
    assert "SECRET" not in repr(vars(client))  # before open(): a resume may never open it
    client.open()
    assert "SECRET" not in repr(vars(client)) + repr(client._wire)


def test_an_injected_transport_is_closed_even_if_never_opened() -> None:
    """aclose() closes a transport it was given, whether or not a request went."""
    closed: list[bool] = []

    class Transport(httpx.MockTransport):
        async def aclose(self) -> None:
            closed.append(True)

    client = EngagementClient(
        "https://api.example.com/api", "tok", transport=Transport(lambda r: httpx.Response(201))
    )
    asyncio.run(client.aclose())
    assert closed == [True]


def test_gzip_answer_through_an_injected_transport_decodes() -> None:
    """A gzip-encoded 201 is decoded from its Content-Encoding and created."""
    content = gzip.compress(b'{"id": "eng_7"}')
    transport = httpx.MockTransport(
        lambda request: httpx.Response(201, headers={"Content-Encoding": "gzip"}, content=content)
    )
    outcome = send("https://api.example.com/api", transport=transport)
    assert (outcome.kind, outcome.engagement_id) == ("created", "eng_7")


def test_emfile_anywhere_in_the_chain_is_a_local_stop() -> None:
    """An OSError with errno EMFILE under a connect error is the 'local' kind, code emfile."""

    def refuse(request: httpx.Request) -> httpx.Response:
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as exc:
            raise httpx.ConnectError("cannot connect") from exc

    outcome = send("https://api.example.com/api", transport=httpx.MockTransport(refuse))
    assert (outcome.kind, outcome.error_code) == ("local", "emfile")
    assert outcome.error_detail == "too many open files: raise `ulimit -n` or lower --concurrency"


def test_a_timeout_error_whose_root_is_a_hang_up_is_network() -> None:
    """httpx-aiohttp reports a hang-up as ConnectTimeout: the root cause decides, network."""

    def hang_up(request: httpx.Request) -> httpx.Response:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except OSError as exc:
            raise httpx.ConnectTimeout("Server disconnected") from exc

    outcome = send("https://api.example.com/api", transport=httpx.MockTransport(hang_up))
    assert (outcome.kind, outcome.error_code) == ("retry", "network")
    assert outcome.error_detail is not None
    assert outcome.error_detail.startswith("ConnectionResetError: ")


def test_a_read_timeout_is_a_timeout() -> None:
    """A transport's own ReadTimeout is a timeout retry."""

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out")

    outcome = send("https://api.example.com/api", transport=httpx.MockTransport(slow))
    assert (outcome.kind, outcome.error_code) == ("retry", "timeout")


def test_a_2xx_id_holding_the_escaped_token_is_scrubbed() -> None:
    """An engagement id echoing the token JSON-escaped twice is scrubbed (found by a property)."""
    token = "sk-live/Prop+erty=Token_42"
    body = json.dumps({"id": "x " + token.replace("/", "\\/")}).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    client = EngagementClient("https://api.example.com/api", token, transport=transport)
    outcome = asyncio.run(client.create(b"{}"))
    assert outcome.engagement_id == "x <redacted>"
