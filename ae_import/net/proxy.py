"""Which proxy a URL goes through: the proxy variables as curl, pip and httpx read them, once.

``Proxies.resolve`` runs once per command and reads, lower case first (as curl and
urllib do), ``https_proxy``/``HTTPS_PROXY`` for https URLs, ``http_proxy``/``HTTP_PROXY``
for http ones, ``all_proxy``/``ALL_PROXY`` for either when its own is unset, and
``no_proxy``/``NO_PROXY``. ``--proxy URL`` (or ``run.proxy``) replaces the variables for
both schemes; ``NO_PROXY`` still applies to it, as it does to curl's ``-x``. ``--no-proxy``
turns proxying off altogether.

``Proxies.proxy_for(url)`` is the one decision every client asks, per request. NO_PROXY
follows curl: ``*`` matches every host; ``example.com`` and ``.example.com`` match the
domain and its subdomains; ``*.example.com`` means the same; IP literals compare as
addresses; ``10.0.0.0/8`` (CIDR) matches the addresses inside; ``host:port`` matches that
port only. Case and a trailing dot are ignored. There is no implicit loopback bypass:
list ``localhost,127.0.0.1`` if they must go direct.

Only ``http://`` proxies are spoken (https goes through them with CONNECT); a bare
``host:port`` is read as ``http://host:port``. ``https://`` and ``socks*://`` proxies are
refused with one line rather than half-supported (``options.parse_proxy``). Credentials
in a proxy URL (``http://user:pass@host:port``) are sent to the proxy only; a ``Proxy``
shows itself as ``http://***@host:port`` in every message, log line and report.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from ae_import.errors import UsageError
from ae_import.options import parse_proxy

__all__ = ["PROXY_VARIABLES", "Proxies", "Proxy", "bypassed"]

# The variables read, in the order they are looked for (each name in lower case, then upper).
PROXY_VARIABLES = ("https_proxy", "http_proxy", "all_proxy", "no_proxy")
Source = Literal["option", "environment", "none", "off"]


@dataclass(frozen=True)
class Proxy:
    """One proxy: its URL without credentials, and the credentials apart (never shown)."""

    url: str  # http://host:port, no user-info
    username: str = ""
    password: str = ""
    origin: str = ""  # where it was set: --proxy, HTTPS_PROXY, run.proxy...

    @property
    def host(self) -> str:
        """Return the proxy's host."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """Return the proxy's port (80 when the URL names none)."""
        return urlsplit(self.url).port or 80

    @property
    def has_credentials(self) -> bool:
        """Tell whether the proxy is sent a user name and password."""
        return bool(self.username or self.password)

    def address(self) -> str:
        """Return the URL with its credentials, as an SDK takes it: pass it on, never show it."""
        if not self.has_credentials:
            return self.url
        user = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        return f"http://{user}@{self.host_port}"

    def __str__(self) -> str:
        """Write the proxy as it may be shown (``***@`` where credentials are)."""
        return f"http://***@{self.host_port}" if self.has_credentials else self.url

    @property
    def host_port(self) -> str:
        """Return ``host:port`` (an IPv6 host in brackets)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __repr__(self) -> str:
        """Never show the credentials, even in a traceback."""
        return f"Proxy({str(self)!r}, origin={self.origin!r})"


def _parse_proxy(value: str, origin: str) -> Proxy:
    """Read a proxy URL set at ``origin`` (options.parse_proxy); keep its credentials apart."""
    try:
        text = parse_proxy(value)
    except ValueError as exc:
        raise UsageError(f"{origin}: {exc}") from None
    parts = urlsplit(text)
    host = parts.hostname or ""
    url = f"http://{f'[{host}]' if ':' in host else host}:{parts.port or 80}"
    return Proxy(url, unquote(parts.username or ""), unquote(parts.password or ""), origin)


def _variable(env: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """Return (name as set, value) of a proxy variable, lower case first; empty is unset."""
    for key in (name, name.upper()):
        value = env.get(key)
        if value is not None and value.strip():
            return key, value.strip()
    return None


def _split(value: str) -> tuple[str, ...]:
    """Split NO_PROXY (commas or spaces) into lower-case entries."""
    return tuple(e.strip().lower() for e in value.replace(" ", ",").split(",") if e.strip())


def _port_of(entry: str) -> tuple[str, int | None]:
    """Split ``host:port`` or ``[v6]:port`` into host and port; a bare IPv6 keeps its colons."""
    if entry.startswith("["):
        inner, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inner, int(port) if port.isdigit() else None
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, int(port) if port.isdigit() else None
    return entry, None


def bypassed(host: str, port: int, entry: str) -> bool:
    """Tell whether one NO_PROXY ``entry`` matches ``host`` (lower case, no trailing dot)."""
    if entry == "*":
        return True
    name, wanted = _port_of(entry)
    if wanted is not None and wanted != port:
        return False
    if "/" in name:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(name, strict=False)
        except ValueError:
            return False
    name = name.lstrip("*").lstrip(".").rstrip(".")
    if not name:
        return False
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(name)
    except ValueError:
        pass
    return host == name or host.endswith("." + name)


@dataclass(frozen=True)
class Proxies:
    """The proxies of one command, resolved once; ``proxy_for`` is asked for every request."""

    http: Proxy | None = None
    https: Proxy | None = None
    no_proxy: tuple[str, ...] = ()
    source: Source = "none"

    @classmethod
    def resolve(
        cls,
        proxy: str | None = None,
        no_proxy: bool = False,
        env: Mapping[str, str] | None = None,
        origin: str = "--proxy",
    ) -> Proxies:
        """Read the option (``proxy``, set at ``origin``) or else the proxy variables of ``env``."""
        env = os.environ if env is None else env
        if no_proxy:
            return cls(source="off")
        found = _variable(env, "no_proxy")
        bypass = _split(found[1]) if found else ()
        if proxy:
            chosen = _parse_proxy(proxy, origin)
            return cls(chosen, chosen, bypass, "option")
        every = _variable(env, "all_proxy")
        http = _variable(env, "http_proxy") or every
        https = _variable(env, "https_proxy") or every
        if http is None and https is None:
            return cls(no_proxy=bypass)
        return cls(
            _parse_proxy(http[1], http[0]) if http else None,
            _parse_proxy(https[1], https[0]) if https else None,
            bypass,
            "environment",
        )

    def proxy_for(self, scheme: str, host: str, port: int | None = None) -> Proxy | None:
        """Return the proxy a request to ``scheme://host:port`` goes through, or None (direct)."""
        scheme = scheme.lower()
        chosen = self.https if scheme == "https" else self.http if scheme == "http" else None
        if chosen is None:
            return None
        name = host.lower().rstrip(".").strip("[]")
        at = port or (443 if scheme == "https" else 80)
        if any(bypassed(name, at, entry) for entry in self.no_proxy):
            return None
        return chosen

    def describe(self) -> str:
        """Say which proxies are used, from where; never a password."""
        if self.source == "off":
            return "none: direct (--no-proxy)"
        if self.http is None and self.https is None:
            return "none: direct (no --proxy, run.proxy or *_PROXY variable)"
        parts = []
        if self.https is not None and self.https == self.http:
            parts.append(f"{self.https} (from {self.https.origin})")
        else:
            for scheme, chosen in (("https", self.https), ("http", self.http)):
                if chosen is not None:
                    parts.append(f"{scheme}: {chosen} (from {chosen.origin})")
        if self.no_proxy:
            parts.append(f"not for {','.join(self.no_proxy)[:200]}")
        return "; ".join(parts)
