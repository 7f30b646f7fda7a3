"""A media URL asked as the server asks it: every hop's address judged, HEAD, then a 1-byte GET.

A module of its own, beside ``client.py``, because it speaks to other hosts for
another purpose: ``client.py`` posts to the API with its token over one aiohttp
session; this asks media stores (no token) through its own httpx client, limits and
timeout. Two callers share it: ``ae-import sandbox --fetch-media`` (``sandbox/fetch.py``,
playing the server) and ``--check-media`` (``mediacheck.py``, finding bad media before
the API budget is spent). Each reads the ``Probe`` its own way.

1. Each hop's host is resolved, and every address must be public (not private,
   loopback, link-local, multicast or reserved: ``blocked``), unless ``allow_private``;
   then plain http is allowed too (a store on this machine, such as moto or MinIO).
2. ``HEAD``; a 2xx with ``Content-Type: audio/*`` or ``video/*`` settles it.
3. Otherwise (HEAD refused with 403, 405 or 501, as S3 does for a URL signed for GET;
   a type the store sets only on GET, as ``response-content-type`` does; any other
   answer) a ``GET`` with ``Range: bytes=0-0`` decides; its body is not read.
4. Redirects are followed by hand, at most ``MAX_REDIRECTS``, each hop judged as in 1.
5. The whole probe is bounded by ``timeout_s``.

Every hop goes through the proxy ``net.Network`` picks for it, with the command's TLS
context. Behind a proxy, a name this machine cannot resolve is left to the proxy (it
is not judged in 1); one that resolves is judged as usual.

The address check resolves the name, then httpx resolves it again to connect: a name
that changes its answer in between (DNS rebinding) is not caught. The server guards
its own fetch; this is a check ahead of it. Nothing returned holds a URL's query.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ae_import.net import Network, Proxies
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_REDIRECTS", "Probe", "Prober", "Resolve", "blocked", "getaddrinfo"]

MAX_REDIRECTS = 5

Resolve = Callable[[str, int], Awaitable[list[str]]]
# media: a 2xx with an audio or video type; status: a final answer >= 300; type: a 2xx
# of another type; private: a hop resolves to a blocked address; timeout; unreachable:
# no answer (no host, DNS, connection, scheme not fetched, too many redirects).
ProbeKind = Literal["media", "status", "type", "private", "timeout", "unreachable"]


@dataclass(frozen=True)
class Probe:
    """What a media URL came to: the last answer's status, type and size, or why none came."""

    kind: ProbeKind
    detail: str = ""  # unreachable: why, without the URL's query
    status: int | None = None
    content_type: str = ""  # lower case, without parameters
    size: int | None = None  # bytes, where the answer says (Content-Length, Content-Range)
    host: str = ""  # the host of the last hop judged


async def getaddrinfo(host: str, port: int) -> list[str]:
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


def _size(response: httpx.Response) -> int | None:
    """Return the object's size: a 206's Content-Range total, else the Content-Length."""
    if response.status_code == 206:
        total = response.headers.get("content-range", "").rpartition("/")[2].strip()
        return int(total) if total.isdigit() else None
    length = response.headers.get("content-length", "").strip()
    return int(length) if length.isdigit() else None


class Prober:
    """Asks media URLs as the server fetches them, through one httpx client of its own."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout_s: float = 30.0,
        connections: int = 10,
        user_agent: str = "ae-import media check",
        resolve: Resolve = getaddrinfo,
        transport: httpx.AsyncBaseTransport | None = None,
        network: Network | None = None,
        credentials: Callable[[str], Mapping[str, str]] | None = None,
    ) -> None:
        """Prepare the client (httpx follows no redirect: each hop is judged here).

        ``network`` routes each hop through its proxy with the command's TLS context
        (``transport``, for tests, replaces it). ``credentials`` gives the headers a hop's
        URL is asked with (``media.auth``: only the hosts it names get any).
        """
        self.credentials = credentials
        import httpx

        self.allow_private = allow_private
        self.timeout_s = timeout_s
        self.resolve = resolve
        self.network = network or Network(Proxies.resolve())
        options: dict[str, Any] = {
            "follow_redirects": False,
            "timeout": timeout_s,
            "headers": {"User-Agent": user_agent},
        }
        limits = httpx.Limits(max_connections=connections)
        if transport is not None:
            self.client = httpx.AsyncClient(
                transport=transport, trust_env=False, limits=limits, **options
            )
        else:
            self.client = self.network.async_client(limits=limits, **options)

    async def probe(self, url: str) -> Probe:
        """Return what ``url`` came to, within ``timeout_s`` as a whole."""
        try:
            async with asyncio.timeout(self.timeout_s):
                return await self._follow(url)
        except TimeoutError:
            return Probe("timeout")

    async def _follow(self, url: str) -> Probe:
        import httpx

        for _ in range(MAX_REDIRECTS + 1):
            try:
                target = httpx.URL(url)
            except httpx.InvalidURL:
                return Probe("unreachable", "not a URL")
            problem = await self._check_host(target)
            if problem is not None:
                return problem
            try:
                response = await self._ask(target)
            except httpx.TimeoutException:
                raise TimeoutError from None
            except httpx.HTTPError as exc:
                why = redact_urls_in(f"{type(exc).__name__}: {exc}")
                return Probe("unreachable", safe_text(" ".join(why.split()))[:200])
            location = response.headers.get("location")
            status = response.status_code
            if response.is_redirect and location:
                url = str(target.join(location))
                continue
            host = target.host
            if status >= 300:
                return Probe("status", status=status, host=host)
            kind = _media_type(response)
            found: ProbeKind = "media" if _is_media(kind) else "type"
            return Probe(found, status=status, content_type=kind, size=_size(response), host=host)
        return Probe("unreachable", f"more than {MAX_REDIRECTS} redirects")

    async def _check_host(self, target: httpx.URL) -> Probe | None:
        """Refuse a scheme the server does not fetch, and a host that resolves privately."""
        allowed = ("https", "http") if self.allow_private else ("https",)
        if target.scheme not in allowed:
            return Probe(
                "unreachable", f"the scheme {safe_text(target.scheme)[:20]} is not fetched"
            )
        host = target.host
        if not host:
            return Probe("unreachable", "no host")
        port = target.port or (443 if target.scheme == "https" else 80)
        shown = safe_text(host)[:100]
        try:
            addresses = [str(ipaddress.ip_address(host))]  # an address needs no lookup
        except ValueError:
            addresses = []
        try:
            addresses = addresses or await self.resolve(host, port)
        except OSError:
            addresses = []
        if not addresses and self.network.proxy_for(target) is not None:
            return None  # behind a proxy, names may resolve only there: it asks for us
        if not addresses:
            return Probe("unreachable", f"cannot resolve {shown}", host=shown)
        if not self.allow_private and any(blocked(a) for a in addresses):
            return Probe("private", host=shown)
        return None

    async def _ask(self, target: httpx.URL) -> httpx.Response:
        """HEAD; when that is not a media answer, GET the first byte (the answer decides)."""
        extra = dict(self.credentials(str(target))) if self.credentials is not None else {}
        head = await self.client.head(target, headers=extra)
        if 200 <= head.status_code < 300 and _is_media(_media_type(head)):
            return head
        if head.is_redirect and head.headers.get("location"):
            return head
        ranged = {"Range": "bytes=0-0", **extra}
        async with self.client.stream("GET", target, headers=ranged) as answer:
            return answer  # the body is not read: the status, type and size decide

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()
