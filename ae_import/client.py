"""The only module that speaks HTTP: one POST /v2/engagements, turned into an Outcome.

It never raises for what the network or the server does: every answer and every
transport error becomes an ``Outcome`` whose ``kind`` says what the run does next. The
transport is injectable (tests pass ``httpx.MockTransport``); by default it is
``AiohttpTransport`` below: httpx's request and response types over one aiohttp
session. NOTES.md measured httpx over aiohttp as the cheapest way to keep the httpx
API (0.7 ms of client CPU per request, against 7.3 ms for a shared default client);
reading each small answer whole, instead of streaming it, takes a little more off.

The token goes only into the Authorization header. No message built here holds it,
or a request URL with a query string.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import httpx

from .redact import redact_urls_in, safe_text
from .retry import RETRY_STATUSES, parse_retry_after

__all__ = [
    "AiohttpTransport",
    "Client",
    "EngagementClient",
    "LazyClient",
    "Outcome",
    "OutcomeKind",
    "make_transport",
]

# "auth" (401/403) and "tls" (the server's certificate is not trusted) stop the run:
# no retry can fix either.
OutcomeKind = Literal["created", "existing", "failed", "retry", "auth", "tls"]
_DETAIL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to."""

    kind: OutcomeKind
    http_status: int | None = None
    engagement_id: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    errors: str | None = None
    request_id: str | None = None
    retry_after: float | None = None


class Client(Protocol):
    """What the engine needs of a client."""

    async def create(self, body: bytes) -> Outcome:
        """Send one create request; return its outcome."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def _certificate_problem(exc: BaseException) -> str | None:
    """Return why the server's certificate failed to verify, if that is what ``exc`` is."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            found = getattr(seen, "certificate_error", seen)  # aiohttp wraps the ssl error
            return str(getattr(found, "verify_message", None) or found)
        seen = seen.__cause__ or seen.__context__
    return None


class AiohttpTransport:
    """An httpx transport over one aiohttp session, for small JSON exchanges.

    It reads each answer whole and hands httpx a Response with its content, which
    skips the streaming wrappers a general transport needs. Timeouts come from the
    request's ``timeout`` extension; aiohttp's errors become httpx's, so callers
    handle one family of exceptions.
    """

    def __init__(self, concurrency: int, ssl_context: ssl.SSLContext) -> None:
        """Prepare; the session is opened on the first request (it needs a running loop)."""
        self._limit = concurrency
        self._ssl = ssl_context
        self._session: Any = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request``; return the whole answer."""
        import aiohttp
        import httpx

        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._limit, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=True, trust_env=False
            )
        limits = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=limits.get("connect"), sock_read=limits.get("read")
        )
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            async with self._session.request(
                request.method,
                str(request.url),
                data=request.content,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                skip_auto_headers=("User-Agent", "Content-Type"),
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status, headers=answer.raw_headers, content=content, request=request
                )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(f"no answer in time ({exc})", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc

    async def aclose(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()


def make_transport(concurrency: int, ca_bundle: Path | None = None) -> AiohttpTransport:
    """Return the default transport: aiohttp under httpx's API, TLS always verified."""
    context = ssl.create_default_context(cafile=str(ca_bundle) if ca_bundle else None)
    return AiohttpTransport(concurrency, context)


def _short(text: str) -> str:
    text = safe_text(redact_urls_in(text))
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT] + "..."


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


_WHY = {
    401: "the token was refused (401); check AE_API_TOKEN, or set auth_scheme: raw "
    "in the config if it is an API key sent without 'Bearer'",
    403: "the token lacks the engagements:write scope (403)",
    404: "the external_id belongs to an engagement this token cannot see; use another external_id",
    409: "the external_id belongs to a deleted engagement; use another external_id",
}


class EngagementClient:
    """Create engagements at ``base_url`` through one shared httpx transport."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        auth_scheme: str = "bearer",
        timeout: float = 600.0,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
        ca_bundle: Path | None = None,
        user_agent: str = "ae-import",
    ) -> None:
        """Prepare the client; the token is kept only in the request headers."""
        import httpx  # here, not at import: a run that sends nothing never loads it

        authorization = token if auth_scheme == "raw" else f"Bearer {token}"
        self.auth_scheme = auth_scheme
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 30.0)).as_dict()
        # The transport is called directly: AsyncClient's auth, redirect and cookie
        # machinery (a cookie jar parses every response's headers) costs client CPU for
        # features one POST with a bearer token does not use.
        self._transport = transport or make_transport(concurrency, ca_bundle)
        # Built once: httpx would otherwise parse and merge the URL and headers per request.
        self._url = httpx.URL(base_url.rstrip("/") + "/v2/engagements")
        self._headers = [
            (b"Host", self._url.netloc),
            (b"Authorization", authorization.encode("latin-1")),
            (b"Content-Type", b"application/json"),
            (b"Accept", b"application/json"),
            (b"User-Agent", user_agent.encode("ascii")),
        ]

    async def create(self, body: bytes) -> Outcome:
        """POST one create request (already-encoded JSON); return what it came to."""
        import httpx

        request = httpx.Request(
            "POST",
            self._url,
            headers=self._headers,
            content=body,
            extensions={"timeout": self._timeout},
        )
        try:
            response = await self._transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            return Outcome("retry", error_code="timeout", error_detail=_short(f"timed out: {exc}"))
        except httpx.TransportError as exc:
            why = _certificate_problem(exc)
            if why is not None:
                host = self._url.host
                detail = (
                    f"the TLS certificate of {host} is not trusted ({why}); if a proxy "
                    "re-signs traffic, pass its CA with --ca-bundle"
                )
                return Outcome("tls", error_code="tls", error_detail=_short(detail))
            kind = type(exc).__name__
            return Outcome("retry", error_code="network", error_detail=_short(f"{kind}: {exc}"))
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        header_id = response.headers.get("x-request-id")
        request_id = _short(header_id)[:200] if header_id else None
        if 200 <= status < 300:
            try:
                body = response.json()
                engagement_id = body["id"]
            except (ValueError, KeyError, TypeError):
                return Outcome(
                    "retry",
                    status,
                    error_code="bad_answer",
                    error_detail=f"a {status} whose body is not an engagement",
                    request_id=request_id,
                )
            return Outcome(
                "existing" if status == 200 else "created",
                status,
                engagement_id=str(engagement_id),
                request_id=request_id,
            )
        problem = _problem(response)
        request_id = str(problem.get("request_id") or request_id or "") or None
        detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
        code = str(problem.get("type") or f"http_{status}").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
        errors = problem.get("errors")
        errors_text = redact_urls_in(json.dumps(errors, ensure_ascii=False)) if errors else None
        code = _short(code)[:80]
        request_id = _short(request_id)[:200] if request_id else None
        if status in (401, 403):
            return Outcome(
                "auth", status, error_code=code, error_detail=_WHY[status], request_id=request_id
            )
        if status in RETRY_STATUSES:
            return Outcome(
                "retry",
                status,
                error_code=code,
                error_detail=_short(detail),
                request_id=request_id,
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status in _WHY:
            detail = f"{_WHY[status]} ({detail})"
        return Outcome(
            "failed",
            status,
            error_code=code,
            error_detail=_short(detail),
            errors=errors_text,
            request_id=request_id,
        )

    async def aclose(self) -> None:
        """Close the connections."""
        if self._transport is not None:
            await self._transport.aclose()


class LazyClient:
    """An EngagementClient made on the first request: a run that sends nothing loads no HTTP."""

    def __init__(self, base_url: str, token: str, **options: Any) -> None:
        """Keep what the client will need."""
        self._args = (base_url, token)
        self._options = options
        self._client: EngagementClient | None = None  # made on first send

    async def create(self, body: bytes) -> Outcome:
        """Make the client if needed, then send."""
        if self._client is None:
            self._client = EngagementClient(*self._args, **self._options)
        return await self._client.create(body)

    async def aclose(self) -> None:
        """Close the client if one was made."""
        if self._client is not None:
            await self._client.aclose()
