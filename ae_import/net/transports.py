"""httpx transports that send each request through the proxy ``Proxies.proxy_for`` picks.

httpx reads proxy variables only when it builds its own transport, and then without
curl's NO_PROXY rules; httpx-aiohttp sends every request through one proxy and has no
NO_PROXY logic at all. So every client here is built with ``trust_env=False`` (no
library reads the environment, or ``~/.netrc``, behind our back) and a routing
transport: for each request it asks ``proxy_for`` and hands the request to a
sub-transport kept per proxy (one for direct connections). All of them use the one TLS
context of ``trust.trust_context``, for the origin and inside CONNECT tunnels alike.

The credentials of a proxy travel as a ``Proxy-Authorization`` header on the CONNECT
(and on plain http requests forwarded by the proxy), never in a URL: aiohttp would
otherwise take them as ``proxy_auth``, a form aiohttp 3.14 deprecates, and URLs end up in
messages.

httpx-aiohttp 0.2 turns every ``aiohttp.ClientConnectionError`` into ``ConnectTimeout``
(refused connections, DNS failures, a proxy that is down); ``_precise`` restores
``ConnectError`` and ``ProxyError`` from the cause, so the three clients raise the same
classes for the same failures.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from .proxy import Proxies, Proxy

if TYPE_CHECKING:
    import ssl

    import aiohttp

__all__ = ["AsyncRouter", "Router", "aiohttp_router", "async_router", "httpx_proxy", "sync_router"]

T = TypeVar("T")


def httpx_proxy(proxy: Proxy | None) -> httpx.Proxy | None:
    """Return ``proxy`` as httpx takes it: the URL bare, the credentials as a header."""
    if proxy is None:
        return None
    headers = {}
    if proxy.has_credentials:
        pair = f"{proxy.username}:{proxy.password}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return httpx.Proxy(proxy.url, headers=headers)


class _Routes(Generic[T]):
    """The sub-transports, one per proxy (None: direct), made on first use."""

    def __init__(self, proxies: Proxies, make: Callable[[Proxy | None], T]) -> None:
        self.proxies = proxies
        self.make = make
        self.made: dict[str | None, T] = {}
        self._lock = threading.Lock()

    def pick(self, url: httpx.URL) -> tuple[T, Proxy | None]:
        """Return the sub-transport of the proxy ``url`` goes through, and that proxy."""
        proxy = self.proxies.proxy_for(url.scheme, url.host, url.port)
        key = None if proxy is None else repr((proxy.url, proxy.username, proxy.password))
        with self._lock:
            found = self.made.get(key)
            if found is None:
                found = self.made[key] = self.make(proxy)
            return found, proxy


class Router(httpx.BaseTransport):
    """A sync transport that routes each request through its proxy."""

    def __init__(self, routes: _Routes[httpx.BaseTransport]) -> None:
        """Route through ``routes``."""
        self._routes = routes

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the sub-transport of its proxy."""
        return self._routes.pick(request.url)[0].handle_request(request)

    def close(self) -> None:
        """Close every sub-transport."""
        for transport in self._routes.made.values():
            transport.close()


def _precise(exc: httpx.TransportError) -> httpx.TransportError:
    """Return the exception httpx itself would raise for the aiohttp cause of ``exc``."""
    import aiohttp

    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientHttpProxyError):  # the proxy answered, not with 2xx
        return exc if isinstance(exc, httpx.ProxyError) else httpx.ProxyError(str(exc))
    if isinstance(cause, (aiohttp.ConnectionTimeoutError, aiohttp.ServerTimeoutError)):
        return exc
    if isinstance(cause, aiohttp.ClientConnectorError):  # refused, DNS, the proxy is down
        return exc if type(exc) is httpx.ConnectError else httpx.ConnectError(str(exc))
    return exc


class AsyncRouter(httpx.AsyncBaseTransport):
    """An async transport that routes each request through its proxy."""

    def __init__(
        self,
        routes: _Routes[httpx.AsyncBaseTransport],
        close: Callable[[], Any] | None = None,
        precise: bool = False,
    ) -> None:
        """Route through ``routes``; ``close`` replaces closing each (a shared session)."""
        self._routes = routes
        self._close = close
        self._precise = precise

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the sub-transport of its proxy."""
        transport, proxy = self._routes.pick(request.url)
        if self._precise and proxy is not None and request.url.scheme == "http":
            # aiohttp sends proxy headers on a CONNECT only; a forwarded request carries its own
            forwarded = httpx_proxy(proxy)
            assert forwarded is not None
            request.headers.update(forwarded.headers)
        try:
            return await transport.handle_async_request(request)
        except httpx.TransportError as exc:
            if not self._precise:
                raise
            better = _precise(exc)
            if better is exc:
                raise
            better.request = request
            raise better from exc.__cause__

    async def aclose(self) -> None:
        """Close every sub-transport (or the session they share)."""
        if self._close is not None:
            await self._close()
            return
        for transport in self._routes.made.values():
            await transport.aclose()


def sync_router(proxies: Proxies, context: ssl.SSLContext, **options: Any) -> Router:
    """Return a sync transport: httpx's own, one per proxy, with ``context``."""

    def make(proxy: Proxy | None) -> httpx.BaseTransport:
        return httpx.HTTPTransport(
            verify=context, proxy=httpx_proxy(proxy), trust_env=False, **options
        )

    return Router(_Routes(proxies, make))


def async_router(proxies: Proxies, context: ssl.SSLContext, **options: Any) -> AsyncRouter:
    """Return an async transport: httpx's own, one per proxy, with ``context``."""

    def make(proxy: Proxy | None) -> httpx.AsyncBaseTransport:
        return httpx.AsyncHTTPTransport(
            verify=context, proxy=httpx_proxy(proxy), trust_env=False, **options
        )

    return AsyncRouter(_Routes(proxies, make))


def aiohttp_router(
    proxies: Proxies, context: ssl.SSLContext, concurrency: int, resolver: bool = False
) -> AsyncRouter:
    """Return httpx-aiohttp transports, one per proxy, over one aiohttp session of our own.

    The session is made on first use (it needs the running loop): no decompression (httpx
    decodes), no proxy variables or netrc, at most ``concurrency`` connections in all.
    On Windows the resolver is the threaded one (aiodns needs a selector loop there).
    """
    from httpx_aiohttp import AiohttpTransport

    holder: list[aiohttp.ClientSession] = []

    def session() -> aiohttp.ClientSession:
        import aiohttp

        if not holder:
            extra: dict[str, Any] = {"resolver": aiohttp.ThreadedResolver()} if resolver else {}
            connector = aiohttp.TCPConnector(limit=concurrency, ssl=context, **extra)
            holder.append(
                aiohttp.ClientSession(connector=connector, auto_decompress=False, trust_env=False)
            )
        return holder[0]

    def make(proxy: Proxy | None) -> httpx.AsyncBaseTransport:
        # verify=context: the transport would otherwise build a certifi context of its own
        return AiohttpTransport(
            verify=context, client=session, proxy=httpx_proxy(proxy), trust_env=False
        )

    async def close() -> None:
        if holder:
            await holder.pop().close()
            # TLS transports inside CONNECT tunnels close a few loop turns later (aiohttp#1115)
            await asyncio.sleep(0.05)

    return AsyncRouter(_Routes(proxies, make), close=close, precise=True)
