"""The sandbox's media fetch (``ae-import sandbox --fetch-media``): what the server does to a URL.

The real endpoint downloads ``media_url`` before it answers, and refuses with 422 when
the URL is not accessible, does not serve audio or video, resolves to a private
address, or the download times out (openapi.yaml, 422). The sandbox does the same,
cheaply, for each create:

1. Each hop's host is resolved, and every address must be public (not private,
   loopback, link-local, multicast or reserved), unless ``allow_private``; then plain
   http is allowed too (a store on this machine, such as moto or MinIO).
2. ``HEAD``; a 2xx with ``Content-Type: audio/*`` or ``video/*`` settles it.
3. Otherwise (HEAD refused with 403, 405 or 501, as S3 does for a URL signed for
   GET; a type the store sets only on GET, as ``response-content-type`` does; any
   other answer) a ``GET`` with ``Range: bytes=0-0`` decides: its status and type.
4. Redirects are followed, at most ``MAX_REDIRECTS``, each hop checked as in 1.
5. The whole check is bounded by ``timeout_s``: past it, "download timed out".

The address check resolves the name, then httpx resolves it again to connect: a name
that changes its answer in between (DNS rebinding) is not caught. Good enough for a
test double; the real server should pin the address it checked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..redact import redact_urls_in, safe_text

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_REDIRECTS", "FetchSettings", "MediaFetcher", "MediaProblem", "blocked"]

MAX_REDIRECTS = 5
_REFUSED_HEAD = (403, 405, 501)
_REDIRECTS = (301, 302, 303, 307, 308)

Resolve = Callable[[str, int], Awaitable[list[str]]]


@dataclass(frozen=True)
class FetchSettings:
    """How the sandbox fetches media before it answers."""

    allow_private: bool = False
    timeout_s: float = 30.0


@dataclass(frozen=True)
class MediaProblem:
    """Why a media URL is refused: an ``errors[]`` entry of the 422 answer."""

    code: str
    message: str


def _unreachable(why: str) -> MediaProblem:
    return MediaProblem("media_unreachable", f"the media URL is not accessible: {why}")


async def _getaddrinfo(host: str, port: int) -> list[str]:
    """Resolve ``host`` to its addresses, as the connection would."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def blocked(address: str) -> bool:
    """Tell whether the server refuses to fetch from ``address`` (private, loopback...)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour
        if inner is not None:
            ip = inner
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        return True
    return isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local


def _media_type(response: httpx.Response) -> str:
    value: str = response.headers.get("content-type", "")
    return value.split(";", 1)[0].strip().lower()


def _is_media(kind: str) -> bool:
    return kind.startswith(("audio/", "video/"))


class MediaFetcher:
    """Checks media URLs as the server fetches them; one httpx client for the sandbox's life."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolve: Resolve = _getaddrinfo,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Prepare the client (no redirects followed by httpx: each hop is checked here)."""
        import httpx

        self.settings = settings
        self.resolve = resolve
        self.client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            timeout=settings.timeout_s,
            headers={"User-Agent": "ae-import-sandbox media fetch"},
        )

    async def check(self, url: str) -> MediaProblem | None:
        """Return why the server would refuse ``url``, or None when it serves audio or video."""
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                return await self._follow(url)
        except TimeoutError:
            return MediaProblem(
                "media_timeout",
                f"the media download timed out (no answer within {self.settings.timeout_s:g} s)",
            )

    async def _follow(self, url: str) -> MediaProblem | None:
        import httpx

        for _ in range(MAX_REDIRECTS + 1):
            try:
                target = httpx.URL(url)
            except httpx.InvalidURL:
                return _unreachable("not a URL")
            problem = await self._check_host(target)
            if problem is not None:
                return problem
            try:
                response = await self._ask(target)
            except httpx.TimeoutException:
                raise TimeoutError from None
            except httpx.HTTPError as exc:
                why = redact_urls_in(f"{type(exc).__name__}: {exc}")
                return _unreachable(safe_text(" ".join(why.split()))[:200])
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                url = str(target.join(location))
                continue
            if response.status_code >= 300:
                return _unreachable(f"HTTP {response.status_code}")
            kind = _media_type(response)
            if not _is_media(kind):
                shown = safe_text(kind)[:100] or "no content type"
                return MediaProblem(
                    "unsupported_media_type",
                    f"the media URL does not serve audio/* or video/* content ({shown})",
                )
            return None
        return _unreachable(f"more than {MAX_REDIRECTS} redirects")

    async def _check_host(self, target: httpx.URL) -> MediaProblem | None:
        """Refuse a scheme the server does not fetch, and a host that resolves privately."""
        allowed = ("https", "http") if self.settings.allow_private else ("https",)
        if target.scheme not in allowed:
            return _unreachable(f"the scheme {safe_text(target.scheme)[:20]} is not fetched")
        host = target.host
        if not host:
            return _unreachable("no host")
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = [str(ipaddress.ip_address(host))]  # an address needs no lookup
        except ValueError:
            addresses = []
        try:
            addresses = addresses or await self.resolve(host, port)
        except OSError:
            return _unreachable(f"cannot resolve {safe_text(host)[:100]}")
        if not addresses:
            return _unreachable(f"cannot resolve {safe_text(host)[:100]}")
        if not self.settings.allow_private and any(blocked(a) for a in addresses):
            return MediaProblem(
                "media_private_address",
                f"the media URL resolves to a private/internal IP address "
                f"({safe_text(host)[:100]})",
            )
        return None

    async def _ask(self, target: httpx.URL) -> httpx.Response:
        """HEAD; when that is not a media answer, GET the first byte (the answer decides)."""
        head = await self.client.head(target)
        if 200 <= head.status_code < 300 and _is_media(_media_type(head)):
            return head
        if head.status_code in _REDIRECTS and head.headers.get("location"):
            return head
        async with self.client.stream("GET", target, headers={"Range": "bytes=0-0"}) as answer:
            return answer  # the body is not read: the status and type decide

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()
