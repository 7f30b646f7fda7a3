"""A proxy.py plugin for the tests: ``*.test`` resolves to 127.0.0.1, every request is logged.

``.test`` is a reserved top-level domain that never resolves, so a client cannot reach
``api.test`` by itself: a request that succeeds went through the proxy. The plugin runs
in proxy.py's worker processes, so it appends to the file named by ``AE_PROXY_LOG``.
"""

from __future__ import annotations

import os

from proxy.common.utils import text_
from proxy.http.parser import HttpParser
from proxy.http.proxy import HttpProxyBasePlugin


class TestRoutingPlugin(HttpProxyBasePlugin):
    """Resolves ``*.test`` to loopback and logs each request: method, target, whether auth came."""

    def resolve_dns(self, host: str, port: int) -> tuple[str | None, tuple[str, int] | None]:
        """Send ``*.test`` to 127.0.0.1; leave other names to proxy.py."""
        if host == "test" or host.endswith(".test"):
            return "127.0.0.1", None
        return None, None

    def before_upstream_connection(self, request: HttpParser) -> HttpParser | None:
        """Log the request (CONNECT host:port, or METHOD host:port/path) before it goes on."""
        method = text_(request.method)
        target = f"{text_(request.host)}:{request.port}"
        if not request.is_https_tunnel:
            target += text_(request.path or b"/")
        auth = request.has_header(b"proxy-authorization")
        with open(os.environ["AE_PROXY_LOG"], "a", encoding="utf-8") as log:
            log.write(f"{method} {target} auth={auth}\n")
        return request
