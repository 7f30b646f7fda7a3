"""The three clients (httpx sync, httpx async, httpx-aiohttp) through a real proxy on loopback.

``media.test`` resolves only inside the proxy (tests.helpers.proxy_plugin), so an answer
from it proves the request went through the proxy; 127.0.0.1 with NO_PROXY goes direct,
and the proxy's log shows it never saw it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ae_import.net import Network, Proxies, trust_context
from tests.helpers.proxies import MediaHost, ProxyPy
from tests.helpers.secrets import PROXY_BASIC, PROXY_PASSWORD, closed_port

CLIENTS = ["httpx", "httpx async", "httpx-aiohttp"]


def getter(name: str, network: Network) -> Callable[[str], httpx.Response]:
    """Return a GET through the client ``name`` made from ``network``."""

    def sync(url: str) -> httpx.Response:
        with network.client(timeout=10) as client:
            return client.get(url)

    async def through_async(url: str) -> httpx.Response:
        async with network.async_client(timeout=10) as client:
            return await client.get(url)

    async def through_aiohttp(url: str) -> httpx.Response:
        transport = network.api_transport(4)
        try:
            request = httpx.Request("GET", url, extensions={"timeout": {"connect": 10}})
            response = await transport.handle_async_request(request)
            await response.aread()
            return response
        finally:
            await transport.aclose()

    if name == "httpx":
        return sync
    if name == "httpx async":
        return lambda url: asyncio.run(through_async(url))
    return lambda url: asyncio.run(through_aiohttp(url))


@pytest.mark.parametrize("client", CLIENTS)
def test_every_request_goes_through_the_proxy_and_no_proxy_hosts_do_not(
    client: str, proxy: ProxyPy, media: MediaHost, ca_file: Path
) -> None:
    """Https through CONNECT; a NO_PROXY host direct, absent from the proxy's log."""
    env = {"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1"}
    network = Network(Proxies.resolve(env=env), trust_context(ca_file, env={}))
    get = getter(client, network)
    assert get(media.url("a.mp3")).status_code == 200
    assert get(media.url("direct.mp3", host="127.0.0.1")).status_code == 200
    assert proxy.requests() == [f"CONNECT media.test:{media.port} auth=False"]


@pytest.mark.parametrize("client", CLIENTS)
def test_proxy_credentials_work_and_leak_nowhere(
    client: str,
    auth_proxy: ProxyPy,
    media: MediaHost,
    ca_file: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Basic auth from the proxy URL opens the tunnel; none, a ProxyError; no password shown."""
    caplog.set_level(logging.DEBUG)
    trust = trust_context(ca_file, env={})
    good = Network(Proxies.resolve(auth_proxy.url_with_auth(), env={}), trust)
    assert getter(client, good)(media.url("ok.mp3")).status_code == 200
    bad = Network(Proxies.resolve(auth_proxy.url, env={}), trust)
    with pytest.raises(httpx.ProxyError) as caught:
        getter(client, bad)(media.url("nope.mp3"))
    said = caplog.text + str(caught.value) + "".join(capfd.readouterr())
    assert PROXY_PASSWORD not in said and PROXY_BASIC not in said
    assert auth_proxy.requests() == [f"CONNECT media.test:{media.port} auth=True"]


@pytest.mark.parametrize("client", CLIENTS)
def test_the_three_clients_raise_the_same_errors(client: str, ca_file: Path) -> None:
    """A refused connection and a proxy that is down: ConnectError from all three clients."""
    trust = trust_context(ca_file, env={})
    dead = closed_port()
    direct = Network(Proxies.resolve(no_proxy=True), trust)
    with pytest.raises(httpx.ConnectError):
        getter(client, direct)(f"https://127.0.0.1:{dead}/")
    down = Network(Proxies.resolve(f"http://127.0.0.1:{dead}", env={}), trust)
    with pytest.raises(httpx.ConnectError):
        getter(client, down)("https://media.test/")
