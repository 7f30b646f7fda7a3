"""The network as every client reaches it: which proxy each request takes, which CAs are trusted.

``Network`` is made once per command (``network_for(settings, env)``) and handed to each
client: the API client (``sending``), the media check (``media``), doctor, and any later
fetch. It holds the resolved ``Proxies`` (``proxy.py``: curl's reading of the proxy
variables, ``--proxy``, ``--no-proxy``) and the one ``Trust`` context (``trust.py``: the
OS store and certifi, as pip does, plus ``--ca-bundle`` and the CA variables). Its
``client``, ``async_client`` and ``api_transport`` build httpx clients whose transports
route each request through its proxy (``transports.py``), with that one context.

The cloud SDKs (botocore, google-cloud-storage, azure) take a proxy URL and a CA file
instead: ``sdk_proxy`` and ``Trust.bundle_file`` give them this network's (``media.cloud.wire``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ae_import.options import RunSettings

from .proxy import PROXY_VARIABLES, Proxies, Proxy, bypassed
from .trust import CA_VARIABLES, Trust, trust_context
from .tunnel import Tunnel, open_tunnel

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CA_VARIABLES",
    "PROXY_VARIABLES",
    "Network",
    "Proxies",
    "Proxy",
    "Trust",
    "Tunnel",
    "bypassed",
    "network_for",
    "open_tunnel",
    "trust_context",
]


@dataclass(frozen=True)
class Network:
    """The proxies and the TLS context of one command; every client is made from it."""

    proxies: Proxies = field(default_factory=Proxies)
    trust: Trust = field(default_factory=trust_context)

    def proxy_for(self, url: str | httpx.URL) -> Proxy | None:
        """Return the proxy a request to ``url`` goes through, or None for a direct one."""
        import httpx

        target = httpx.URL(str(url))
        return self.proxies.proxy_for(target.scheme, target.host, target.port)

    def sdk_proxy(self, url: str) -> str | None:
        """Return the proxy an SDK's requests to ``url`` take, credentials in it, or None.

        For the cloud SDKs, which take a proxy URL, not a transport: pass it on, never show it.
        """
        proxy = self.proxy_for(url)
        return proxy.address() if proxy is not None else None

    def describe(self) -> str:
        """Say which proxy and which certificates are used (no credentials)."""
        return f"proxy: {self.proxies.describe()}; trust: {self.trust.describe()}"

    def client(self, **options: Any) -> httpx.Client:
        """Return a sync httpx client that routes through the proxies with the one context."""
        import httpx

        from .transports import sync_router

        transport = sync_router(self.proxies, self.trust.context)
        return httpx.Client(transport=transport, trust_env=False, **options)

    def async_client(
        self, *, limits: httpx.Limits | None = None, **options: Any
    ) -> httpx.AsyncClient:
        """Return an async httpx client that routes through the proxies with the one context."""
        import httpx

        from .transports import async_router

        extra = {"limits": limits} if limits is not None else {}
        transport = async_router(self.proxies, self.trust.context, **extra)
        return httpx.AsyncClient(transport=transport, trust_env=False, **options)

    def api_transport(self, concurrency: int) -> httpx.AsyncBaseTransport:
        """Return the API's transport: httpx-aiohttp over one session, routed per request."""
        from .transports import aiohttp_router

        return aiohttp_router(
            self.proxies, self.trust.context, concurrency, resolver=sys.platform == "win32"
        )


def network_for(settings: RunSettings, env: Mapping[str, str] | None = None) -> Network:
    """Return the network of a command with ``settings``: its proxies and its trust, resolved."""
    env = os.environ if env is None else env
    proxies = Proxies.resolve(settings.proxy, settings.no_proxy, env)
    trust = trust_context(settings.ca_bundle, settings.system_certs, env)
    return Network(proxies, trust)
