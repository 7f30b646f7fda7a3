"""Direct tests of the sandbox over real HTTP on 127.0.0.1: every status it answers."""

from __future__ import annotations

import asyncio
import email.utils
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from ae_import.sandbox import MemoryStore, SandboxSettings, create_app
from tests.helpers import ROOT, SANDBOX_TOKEN, Sandboxes

DOCUMENT = json.loads((ROOT / "ae_import" / "sandbox" / "openapi.json").read_text("utf-8"))
AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
BODY: dict[str, Any] = {
    "type": "CALL",
    "title": "Discovery",
    "source_system": "crm",
    "external_id": "crm:1",
    "media_url": "https://cdn.example.com/a.mp3?X-Amz-Signature=abc",
    "run_workflows": False,
}


def conforms(name: str, value: Any) -> None:
    """Assert ``value`` conforms to the spec's component schema ``name``."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(value)


def post(
    server: Any,
    body: Any = None,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """POST a create request to ``server`` and return the response."""
    url = f"{server.base_url}/v2/engagements"
    if content is not None:
        return httpx.post(url, content=content, headers=headers if headers is not None else AUTH)
    return httpx.post(url, json=body, headers=headers if headers is not None else AUTH)


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 error of ``status``; return its body."""
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    conforms("error", body)
    assert body["status"] == status
    assert body["request_id"].startswith("req_")
    assert response.headers["x-request-id"] == body["request_id"]
    return dict(body)


def test_create_then_existing_whatever_the_source_system(sandbox: Any) -> None:
    """201 on first create; 200 with the same engagement for the same external_id."""
    first = post(sandbox, BODY)
    assert first.status_code == 201
    conforms("engagement", first.json())
    assert first.json()["title"] == "Discovery"
    assert first.json()["engagement_type"] == "CALL"
    again = post(sandbox, {**BODY, "source_system": "other", "title": "changed"})
    assert again.status_code == 200
    assert again.json() == first.json()
    assert sandbox.store.count() == 1


def test_raw_api_key_is_accepted(sandbox: Any) -> None:
    """The bare key, without 'Bearer', is accepted too (NOTES.md)."""
    assert post(sandbox, BODY, headers={"Authorization": SANDBOX_TOKEN}).status_code == 201


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer", "Basic abc", "wrong"])
def test_missing_or_wrong_token_is_401(sandbox: Any, header: str | None) -> None:
    """A missing or wrong token gets 401, whose detail names both auth forms."""
    headers = {} if header is None else {"Authorization": header}
    body = problem(post(sandbox, BODY, headers=headers), 401)
    assert "Bearer" in body["detail"]
    assert "raw" in body["detail"]
    assert sandbox.store.count() == 0


def test_token_without_scope_is_403(sandboxes: Sandboxes) -> None:
    """The read-only token is authenticated but lacks engagements:write: 403."""
    server = sandboxes.start(readonly_token="read-only")
    body = problem(post(server, BODY, headers={"Authorization": "Bearer read-only"}), 403)
    assert "engagements:write" in body["detail"]


@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xfe"])
def test_body_that_is_not_json_is_400(sandbox: Any, content: bytes) -> None:
    """A body that is not JSON is 400."""
    problem(
        post(sandbox, content=content, headers={**AUTH, "Content-Type": "application/json"}), 400
    )


def test_invalid_body_is_422_with_every_problem(sandbox: Any) -> None:
    """validate_body's problems come back as errors[] with field, code and message."""
    body = problem(post(sandbox, {"type": "WEBINAR", "media_url": "http://10.0.0.1/a"}), 422)
    got = [(e["field"], e["code"]) for e in body["errors"]]
    assert got == [
        ("title", "missing_field"),
        ("source_system", "missing_field"),
        ("external_id", "missing_field"),
        ("run_workflows", "missing_field"),
        ("type", "bad_enum"),
        ("media_url", "url_scheme"),
        ("media_url", "url_private"),
    ]
    assert all(e["message"] for e in body["errors"])


@pytest.mark.parametrize("content", [b"[]", b'"text"', b"7", b"null"])
def test_body_that_is_not_an_object_is_422(sandbox: Any, content: bytes) -> None:
    """JSON that is not an object is a validation failure."""
    answer = post(sandbox, content=content, headers={**AUTH, "Content-Type": "application/json"})
    assert problem(answer, 422)["errors"][0]["code"] == "not_object"


def test_non_media_url_is_422_not_audio_video(sandbox: Any) -> None:
    """A URL matching the reject pattern answers 422 'not audio/video'; nothing is fetched."""
    body = problem(post(sandbox, {**BODY, "media_url": "https://cdn.example.com/page.html"}), 422)
    assert body["errors"] == [
        {
            "field": "media_url",
            "code": "unsupported_media_type",
            "message": "the media URL does not serve audio/* or video/* content",
        }
    ]


def test_custom_reject_media_pattern(sandboxes: Sandboxes) -> None:
    """--reject-media replaces the pattern."""
    server = sandboxes.start(reject_media=r"/bad/")
    assert (
        post(server, {**BODY, "media_url": "https://cdn.example.com/bad/a.mp3"}).status_code == 422
    )
    assert (
        post(
            server, {**BODY, "external_id": "2", "media_url": "https://x.example/a.html"}
        ).status_code
        == 201
    )


@pytest.mark.parametrize(("mark", "status"), [("ae-sandbox-404", 404), ("ae-sandbox-409", 409)])
def test_reserved_external_ids(sandbox: Any, mark: str, status: int) -> None:
    """Documented reserved id patterns answer 404 (invisible) and 409 (deleted)."""
    problem(post(sandbox, {**BODY, "external_id": f"sf:{mark}-1"}), status)
    assert sandbox.store.count() == 0


def test_rate_limit_answers_429_with_retry_after_seconds(sandboxes: Sandboxes) -> None:
    """Past the token bucket the answer is 429 with Retry-After in whole seconds."""
    server = sandboxes.start(rate=0.01, burst=1)
    assert post(server, BODY).status_code == 201
    limited = post(server, BODY)
    problem(limited, 429)
    assert 1 <= int(limited.headers["retry-after"]) <= 100


def test_rate_limit_retry_after_as_http_date(sandboxes: Sandboxes) -> None:
    """With retry_after='date' the header is an HTTP-date in the future."""
    server = sandboxes.start(rate=0.01, burst=1, retry_after="date")
    post(server, BODY)
    limited = post(server, BODY)
    problem(limited, 429)
    when = email.utils.parsedate_to_datetime(limited.headers["retry-after"])
    assert when > datetime.now(UTC)


def test_fixed_window_and_retry_after_forms(sandboxes: Sandboxes) -> None:
    """A fixed window of 1 per 100 s refuses the second; Retry-After 0 or left out as asked."""
    zero = sandboxes.start(rate=0.01, limiter="fixed-window", window=100.0, retry_after="0")
    post(zero, BODY)
    refused = post(zero, BODY)
    problem(refused, 429)
    assert refused.headers["retry-after"] == "0"
    silent = sandboxes.start(rate=0.01, limiter="sliding-window", window=100.0, retry_after="none")
    post(silent, BODY)
    refused = post(silent, BODY)
    problem(refused, 429)
    assert "retry-after" not in refused.headers


def test_concurrency_limit_refuses_beyond_k_in_flight(sandboxes: Sandboxes) -> None:
    """With max_in_flight 1 and slow answers, of three requests at once two are refused."""
    server = sandboxes.start(latency_ms=1000, max_in_flight=1)
    results: list[int] = []

    def send(n: int) -> None:
        results.append(post(server, {**BODY, "external_id": f"sf:c{n}"}).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201, 429, 429]
    assert post(server, {**BODY, "external_id": "sf:after"}).status_code == 201  # slot freed


def test_fail_rate_injects_500_and_503(sandboxes: Sandboxes) -> None:
    """With fail_rate 1 every answer is a 500 or a 503, and both occur."""
    server = sandboxes.start(fail_rate=1.0, seed=3)
    statuses = {post(server, BODY).status_code for _ in range(20)}
    assert statuses == {500, 503}
    assert server.store.count() == 0


def test_state_file_keeps_idempotency_across_restarts(sandboxes: Sandboxes, tmp_path: Path) -> None:
    """With a SQLite state file, a restarted sandbox answers 200 for a known id."""
    state = tmp_path / "state.sqlite"
    first = sandboxes.start(state=state)
    created = post(first, BODY)
    assert created.status_code == 201
    first.stop()
    second = sandboxes.start(state=state)
    again = post(second, BODY)
    assert again.status_code == 200
    assert again.json()["id"] == created.json()["id"]


def test_concurrent_requests_for_one_id_create_once(sandboxes: Sandboxes) -> None:
    """Two requests for one external_id in flight together create one engagement."""
    server = sandboxes.start(latency_ms=50)
    results: list[int] = []

    def send() -> None:
        results.append(post(server, BODY).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200, 200, 200, 201]
    assert server.store.count() == 1


def test_latency_and_jitter_use_the_injected_sleep() -> None:
    """The media-download delay goes through the injected sleep, within +-jitter."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    settings = SandboxSettings(token="t", latency_ms=100, jitter_ms=20, seed=1)
    app = create_app(settings, MemoryStore(), sleep=fake_sleep)

    async def go() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            codes = []
            for n in range(5):
                answer = await client.post(
                    "/api/v2/engagements",
                    json={**BODY, "external_id": str(n)},
                    headers={"Authorization": "Bearer t"},
                )
                codes.append(answer.status_code)
            return codes

    assert asyncio.run(go()) == [201] * 5
    assert len(slept) == 5
    assert all(0.08 <= s <= 0.12 for s in slept)
    assert len(set(slept)) > 1


def test_log_line_per_request_without_secrets() -> None:
    """Each request logs one line: status, time, request id, external_id; no URL query."""
    lines: list[str] = []
    app = create_app(SandboxSettings(token="t"), MemoryStore(), log=lines.append)

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            headers = {"Authorization": "Bearer t"}
            await client.post("/api/v2/engagements", json=BODY, headers=headers)
            await client.post(
                "/api/v2/engagements", json={**BODY, "external_id": "a\nb"}, headers=headers
            )
            await client.post("/api/v2/engagements", json=BODY)

    asyncio.run(go())
    assert len(lines) == 3
    assert " POST /api/v2/engagements 201 " in lines[0]
    assert lines[0].endswith("external_id=crm:1")
    assert lines[1].endswith("external_id=a\\nb")
    assert " 401 " in lines[2]
    assert not any("X-Amz" in line or "\n" in line for line in lines)


def test_openapi_document_is_served(sandbox: Any) -> None:
    """GET /api/openapi.json serves the packaged document."""
    response = httpx.get(f"{sandbox.base_url}/openapi.json")
    assert response.status_code == 200
    assert response.json() == DOCUMENT


def test_stats_count_answers(sandbox: Any) -> None:
    """The sandbox's own stats count answers by status and engagements stored."""
    post(sandbox, BODY)
    post(sandbox, BODY)
    post(sandbox, BODY, headers={})
    stats = httpx.get(sandbox.base_url.replace("/api", "/_sandbox/stats")).json()
    assert stats == {"engagements": 1, "responses": {"200": 1, "201": 1, "401": 1}}


def test_wrong_method_is_405(sandbox: Any) -> None:
    """Only POST is served on the engagements path."""
    assert httpx.get(f"{sandbox.base_url}/v2/engagements", headers=AUTH).status_code == 405
