"""The sandbox's ASGI app: Create engagement as the vendor's spec describes it.

Behaviour, in the order a request meets it:

1. Auth: ``Authorization: Bearer <token>`` (or the bare key, as NOTES.md says API keys
   may be sent); a missing or wrong token is 401, the read-only token 403.
2. Rate: past ``rate`` (a token bucket by default; a fixed or sliding window of
   ``window`` s, ``limits.py``) or past ``max_in_flight`` requests in flight, the answer
   is 429 with ``Retry-After`` in seconds, as an HTTP-date, as 0, or none.
3. Faults: with probability ``fail_rate`` the answer is 500 or 503.
4. The body: not JSON is 400; anything ``validation.validate_body`` finds is 422 with
   ``errors[]`` (the very code the importer validates with); a media URL matching
   ``reject_media`` is 422 "not audio/video". Nothing is downloaded, unless
   ``fetch_media``: then, for an external_id not seen yet, the media URL is fetched as
   the server does (``fetch.py``) and a URL the server would refuse is 422 with its
   cause; ``media_allow_private`` lets it fetch from private addresses over plain
   http too (a store on this machine), and drops validation's refusal of those.
5. Reserved ids: an external_id containing ``ae-sandbox-404`` answers 404 (owned by
   someone this token cannot see), ``ae-sandbox-409`` answers 409 (deleted).
6. ``latency`` (± ``jitter``) stands in for the synchronous media download.
7. 201 with the new engagement, or 200 with the existing one for a known external_id,
   whatever its source_system.

Errors are RFC 9457 problem details with a ``request_id``. NOTES.md calls them
problem+json, but the contract (openapi.yaml) declares ``application/json`` for every
error: the sandbox follows the contract.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ae_import.mapping import validate_body
from ae_import.records import Problem
from ae_import.sending import Clock
from ae_import.text import safe_text

from .fetch import FetchSettings, MediaFetcher, MediaProblem
from .limits import ConcurrencyLimit, Limiter, LimiterSpec, make_limiter, retry_after_value
from .state import Store

__all__ = ["DEFAULT_REJECT_MEDIA", "SandboxSettings", "create_app"]

DEFAULT_REJECT_MEDIA = r"\.(?:html?|pdf|txt|json|xml|csv|zip|png|jpe?g|gif)$"
NOT_FOUND_MARK = "ae-sandbox-404"
DELETED_MARK = "ae-sandbox-409"
JSON = "application/json"
# Validation codes that --media-allow-private lets through: loopback and private
# addresses, local names, and plain http (the scheme check of an http:// URL).
_LOCAL = ("url_private", "url_host", "url_scheme")
_REFERENCE = re.compile(r"\s*(?:s3|gs|az)://", re.IGNORECASE)

Sleep = Callable[[float], Awaitable[None]]
Log = Callable[[str], None]


@dataclass(frozen=True)
class SandboxSettings:
    """How the sandbox behaves; the defaults answer at once and never fail."""

    token: str
    readonly_token: str | None = None
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    rate: float | None = None
    burst: float | None = None
    fail_rate: float = 0.0
    reject_media: str = DEFAULT_REJECT_MEDIA
    retry_after: str = "seconds"
    seed: int | None = None
    fetch_media: bool = False
    media_allow_private: bool = False
    media_timeout_s: float = 30.0
    media_digest: bool = False  # with fetch_media: download whole, keep sha256 (/_sandbox/media)
    limiter: str = "token-bucket"  # the shape of ``rate``: limits.LIMITERS
    window: float = 1.0  # the window of a fixed or sliding window limiter, in seconds
    max_in_flight: int | None = None  # a concurrency limit: 429 beyond this many in flight


def _problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    request_id: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:ae-import:sandbox:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request_id,
    }
    if errors:
        body["errors"] = errors
    return Response(
        json.dumps(body),
        status,
        media_type=JSON,
        headers={"X-Request-Id": request_id, **(headers or {})},
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _engagement(body: dict[str, Any]) -> dict[str, Any]:
    now = _now()
    start = body.get("start_at") or now
    return {
        "object": "engagement",
        "id": "eng_" + os.urandom(12).hex(),
        "title": body["title"],
        "engagement_type": body["type"],
        "data_source": "API",
        "processing_status": "PENDING",
        "is_internal": False,
        "is_private": bool(body.get("is_private", False)),
        "engagement_at": start,
        "start_at": start,
        "created_at": now,
        "updated_at": now,
    }


class _Sandbox:
    """The request handler and its state."""

    def __init__(
        self, settings: SandboxSettings, store: Store, log: Log, clock: Clock, sleep: Sleep
    ) -> None:
        self.settings = settings
        self.store = store
        self.log = log
        self.clock = clock
        self.sleep = sleep
        self.rng = random.Random(settings.seed)
        self.limiter: Limiter | None = None
        if settings.rate:
            count = settings.rate * settings.window
            spec = LimiterSpec(settings.limiter, count, settings.window, settings.burst)
            # A fixed window resets on the wall clock's edge (on the minute), as servers do.
            windowed = settings.limiter == "fixed-window"
            self.limiter = make_limiter(spec, time.time if windowed else clock)
        self.slots = ConcurrencyLimit(settings.max_in_flight) if settings.max_in_flight else None
        self.reject_media = re.compile(settings.reject_media) if settings.reject_media else None
        self.statuses: Counter[int] = Counter()
        self.document = resources.files(__package__).joinpath("openapi.json").read_bytes()
        self.fetcher: MediaFetcher | None = None
        if settings.fetch_media:
            fetch = FetchSettings(
                settings.media_allow_private, settings.media_timeout_s, settings.media_digest
            )
            self.fetcher = MediaFetcher(fetch)
        self.media: dict[str, dict[str, object]] = {}  # external_id -> what its fetch got

    def _auth(self, request: Request, request_id: str) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        token = rest.strip() if scheme.lower() == "bearer" else header.strip()
        if token and hmac.compare_digest(token.encode(), self.settings.token.encode()):
            return None
        readonly = self.settings.readonly_token
        if token and readonly and hmac.compare_digest(token.encode(), readonly.encode()):
            return _problem(
                403,
                "forbidden",
                "Forbidden",
                "the token lacks the engagements:write scope",
                request_id,
            )
        return _problem(
            401,
            "unauthorized",
            "Unauthorized",
            "missing or invalid token; send 'Authorization: Bearer <token>' "
            "(API keys may also be sent raw, without 'Bearer')",
            request_id,
        )

    def _limited(self, request_id: str) -> tuple[Response | None, bool]:
        """Apply the rate limit, then the concurrency limit; say whether a slot was taken."""
        wait = self.limiter.admit() if self.limiter is not None else None
        slot = False
        if wait is None and self.slots is not None:
            wait = self.slots.admit()
            slot = wait is None
        if wait is None:
            return None, slot
        value = retry_after_value(self.settings.retry_after, wait)
        if value is None or value == "0":
            shown = "slow down"
        else:
            shown = f"retry after {value} s" if value.isdigit() else f"retry after {value}"
        return (
            _problem(
                429,
                "rate_limited",
                "Too Many Requests",
                f"rate limit exceeded; {shown}",
                request_id,
                headers={"Retry-After": value} if value is not None else None,
            ),
            False,
        )

    def _fault(self, request_id: str) -> Response | None:
        if self.settings.fail_rate <= 0 or self.rng.random() >= self.settings.fail_rate:
            return None
        if self.rng.random() < 0.5:
            return _problem(500, "internal", "Internal Server Error", "injected fault", request_id)
        return _problem(
            503,
            "unavailable",
            "Service Unavailable",
            "injected fault",
            request_id,
            headers={"Retry-After": "1"},
        )

    def _invalid(self, body: Any, request_id: str) -> Response | None:
        problems = validate_body(body)
        if self.settings.media_allow_private:
            # A store on this machine: its loopback address and plain http are fetched.
            problems = [p for p in problems if p.field != "media_url" or p.code not in _LOCAL]
        url = body.get("media_url") if isinstance(body, dict) else None
        if isinstance(url, str) and _REFERENCE.match(url):
            # ae-import signs s3://, gs://, az:// before sending; the server gets https only.
            scheme = url.strip().partition(":")[0].lower()
            message = f"must use https, not {scheme}; the server refuses it"
            problems = [p for p in problems if p.field != "media_url"]
            problems.append(Problem("media_url", "url_scheme", message))
        if not problems and self.reject_media and isinstance(url, str):
            path = url.split("?", 1)[0].split("#", 1)[0]
            if self.reject_media.search(path):
                errors = [
                    {
                        "field": "media_url",
                        "code": "unsupported_media_type",
                        "message": "the media URL does not serve audio/* or video/* content",
                    }
                ]
                return _problem(
                    422, "media", "Unprocessable Content", errors[0]["message"], request_id, errors
                )
        if not problems:
            return None
        errors = [{"field": p.field, "code": p.code, "message": p.message} for p in problems]
        return _problem(
            422,
            "validation",
            "Unprocessable Content",
            f"request body validation failed: {len(errors)} problem(s)",
            request_id,
            errors,
        )

    async def create(self, request: Request) -> Response:
        """Handle POST /api/v2/engagements."""
        started = self.clock()
        request_id = "req_" + os.urandom(8).hex()
        external_id = ""
        response = self._auth(request, request_id)
        slot = False
        if response is None:
            response, slot = self._limited(request_id)
        try:
            if response is None:
                response, external_id = await self._answer(request, request_id)
        finally:
            if slot and self.slots is not None:
                self.slots.release()
        self.statuses[response.status_code] += 1
        elapsed = (self.clock() - started) * 1000
        shown = f" external_id={safe_text(external_id)}" if external_id else ""
        self.log(
            f"{_now()} POST {request.url.path} {response.status_code} "
            f"{elapsed:.1f}ms {request_id}{shown}"
        )
        return response

    async def _answer(self, request: Request, request_id: str) -> tuple[Response, str]:
        """Answer a request the limits let through; return the answer and its external_id."""
        external_id = ""
        response = self._fault(request_id)
        if response is None:
            raw = await request.body()
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                body = None
                response = _problem(
                    400, "bad_request", "Bad Request", "the body is not valid JSON", request_id
                )
            if response is None:
                response = self._invalid(body, request_id)
            if response is None:
                external_id = body["external_id"]
                response = await self._fetched(body, request_id)
            if response is None:
                response = await self._create(body, external_id, request_id)
        return response, external_id

    async def _fetched(self, body: dict[str, Any], request_id: str) -> Response | None:
        """Fetch a new engagement's media as the server does; a refusal is 422 with its cause."""
        if self.fetcher is None or self.store.get(body["external_id"]) is not None:
            return None
        problem = await self.fetcher.check(body["media_url"])
        if problem is None and self.fetcher.settings.digest:
            try:
                self.media[str(body["external_id"])] = await self.fetcher.download(
                    body["media_url"]
                )
            except (TimeoutError, OSError) as exc:
                problem = MediaProblem("media_unreachable", f"the download failed: {exc!r}"[:200])
        if problem is None:
            return None
        errors = [{"field": "media_url", "code": problem.code, "message": problem.message}]
        return _problem(422, "media", "Unprocessable Content", problem.message, request_id, errors)

    async def _create(self, body: dict[str, Any], external_id: str, request_id: str) -> Response:
        if NOT_FOUND_MARK in external_id:
            return _problem(
                404,
                "not_found",
                "Not Found",
                "the external_id belongs to an engagement this token cannot access",
                request_id,
            )
        if DELETED_MARK in external_id:
            return _problem(
                409,
                "conflict",
                "Conflict",
                "the external_id belongs to a deleted engagement; use another external_id",
                request_id,
            )
        delay = self.settings.latency_ms
        if self.settings.jitter_ms:
            delay += self.rng.uniform(-self.settings.jitter_ms, self.settings.jitter_ms)
        if delay > 0:
            await self.sleep(delay / 1000)
        # Look up only after the download: no await between lookup and insert, so two
        # concurrent requests for one external_id create it once.
        existing = self.store.get(external_id)
        status = 200
        if existing is None:
            existing = _engagement(body)
            self.store.put(external_id, existing)
            status = 201
        return Response(
            json.dumps(existing), status, media_type=JSON, headers={"X-Request-Id": request_id}
        )

    async def openapi(self, request: Request) -> Response:
        """Serve the OpenAPI document of what the sandbox implements."""
        return Response(self.document, media_type=JSON)

    async def fetched(self, request: Request) -> Response:
        """Serve what each --media-digest download got, by external_id (not in the spec)."""
        return Response(json.dumps(self.media), media_type=JSON)

    async def stats(self, request: Request) -> Response:
        """Serve counts of answers by status and of stored engagements (not in the spec)."""
        body = {
            "engagements": self.store.count(),
            "responses": {str(k): v for k, v in sorted(self.statuses.items())},
        }
        return Response(json.dumps(body), media_type=JSON)


def create_app(
    settings: SandboxSettings,
    store: Store,
    *,
    log: Log = lambda line: None,
    clock: Clock = time.monotonic,
    sleep: Sleep = asyncio.sleep,
) -> Starlette:
    """Build the sandbox app around ``store``; ``log`` gets one line per request."""
    sandbox = _Sandbox(settings, store, log, clock, sleep)
    app = Starlette(
        routes=[
            Route("/api/v2/engagements", sandbox.create, methods=["POST"]),
            Route("/api/openapi.json", sandbox.openapi, methods=["GET"]),
            Route("/_sandbox/stats", sandbox.stats, methods=["GET"]),
            Route("/_sandbox/media", sandbox.fetched, methods=["GET"]),
        ]
    )
    app.state.sandbox = sandbox
    return app
