"""doctor's checks of the way to the server: proxy, DNS, TLS, the route and token, the clock.

``doctor.py`` runs them in order after the settings and the token (its table says what
each passes on). They reach the server through the command's ``net.Network``: the
proxy it picks (asked first for a CONNECT tunnel of its own, so a refusal is named
plainly) and its one TLS context.
"""

from __future__ import annotations

import email.utils
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

from ae_import.errors import UsageError
from ae_import.net import Network
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

if TYPE_CHECKING:
    import httpx

    from ae_import.options import RunSettings

__all__ = ["MAX_SKEW_S", "Check", "NetworkChecks", "Status"]

MAX_SKEW_S = 300.0
Status = Literal["ok", "fail", "skip"]


@dataclass(frozen=True)
class Check:
    """One row of the doctor's table."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return the row for ``--json``."""
        return asdict(self)


def _one_line(text: str, limit: int = 300) -> str:
    return safe_text(redact_urls_in(" ".join(text.split())))[:limit]


class NetworkChecks:
    """The rows, and the checks of the way to the server: proxy, DNS, TLS, route, clock."""

    def __init__(
        self,
        env: Mapping[str, str],
        clock: Callable[[], float],
        transport: httpx.BaseTransport | None,
    ) -> None:
        """Start with no rows; ``transport`` (tests) replaces the network's."""
        self.env = env
        self.clock = clock
        self.transport = transport
        self.rows: list[Check] = []

    def add(self, name: str, status: Status, detail: str, fix: str = "") -> None:
        """Add one row."""
        self.rows.append(Check(name, status, _one_line(detail), fix))

    def skip_server(self, why: str) -> None:
        """Add the server checks that could not run, as skipped."""
        for name in ("route + token", "clock"):
            self.add(name, "skip", why)

    def network(self, settings: RunSettings) -> Network | None:
        """Resolve the proxies and build the TLS context; a bad one fails its row."""
        from ae_import.net import Proxies, network_for, trust_context

        try:
            Proxies.resolve(settings.proxy, settings.no_proxy, self.env)
        except UsageError as exc:
            self.add("proxy", "fail", exc.message, "fix the proxy URL, or pass --no-proxy")
            return None
        try:
            trust_context(settings.ca_bundle, settings.system_certs, self.env)
        except UsageError as exc:
            self.add("TLS", "fail", exc.message, "point it at a PEM file of CA certificates")
            return None
        return network_for(settings, self.env)

    def proxy(self, settings: RunSettings, network: Network) -> bool:
        """Name the proxy the API is reached through, and ask it for a tunnel to the host."""
        import httpx

        from ae_import.net import open_tunnel

        url = httpx.URL(settings.base_url)
        proxy = network.proxy_for(url)
        if proxy is None:
            self.add("proxy", "ok", network.proxies.describe())
            return True
        via = f"{proxy} (from {proxy.origin})"
        if url.scheme != "https":
            self.add("proxy", "ok", f"{via}; plain http is forwarded, no tunnel to check")
            return True
        port = url.port or 443
        tunnel = open_tunnel(proxy, url.host, port, timeout=min(settings.timeout, 30.0))
        asked = f"CONNECT {url.host}:{port} through {via}"
        if tunnel.ok:
            self.add("proxy", "ok", f"{asked}: {tunnel.status} {tunnel.reason}".rstrip())
            return True
        if tunnel.status is None:
            fix = "check the proxy's host and port, or pass --no-proxy to connect directly"
            self.add("proxy", "fail", f"{asked}: {tunnel.reason}", fix)
        else:
            fix = {
                407: "the proxy wants a user and password: http://USER:PASSWORD@HOST:PORT "
                "in --proxy or HTTPS_PROXY (check them if they are there)",
                403: "the proxy does not let this host through: ask its owner",
            }.get(tunnel.status, "ask the proxy's owner what its answer means")
            self.add("proxy", "fail", f"{asked}: {tunnel.status} {tunnel.reason}", fix)
        return False

    def dns(self, settings: RunSettings, network: Network) -> bool:
        """Resolve the base URL's host (behind a proxy, the proxy does)."""
        import httpx

        url = httpx.URL(settings.base_url)
        if network.proxy_for(url) is not None:
            self.add("DNS", "skip", f"{url.host} is resolved by the proxy")
            return True
        try:
            found = socket.getaddrinfo(url.host, url.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            self.add(
                "DNS",
                "fail",
                f"cannot resolve {url.host}: {exc.strerror or exc}",
                "check the host in --base-url, and this machine's DNS",
            )
            return False
        addresses = sorted({str(info[4][0]) for info in found})
        self.add("DNS", "ok", f"{url.host}: {', '.join(addresses[:3])}")
        return True

    def route(self, settings: RunSettings, token: str | None, network: Network) -> None:
        """POST {} (no engagement can come of it) and read what the answer says."""
        import httpx

        url = settings.base_url.rstrip("/") + "/v2/engagements"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token is not None:
            bearer = token if settings.auth_scheme == "raw" else f"Bearer {token}"
            headers["Authorization"] = bearer
        https = url.startswith("https:")
        try:
            # --timeout bounds this request too (an empty POST needs no media download)
            limit = min(settings.timeout, 30.0)
            with self._client(network, limit) as client:
                answer = client.post(url, content=b"{}", headers=headers)
        except httpx.HTTPError as exc:
            why = _certificate_problem(exc)
            if why is not None:
                host = httpx.URL(url).host
                self.add(
                    "TLS",
                    "fail",
                    f"the certificate of {host} is not trusted ({why}); trusted: "
                    f"{network.trust.describe()}",
                    "if a proxy re-signs traffic, pass its CA with --ca-bundle",
                )
                self.skip_server("needs a trusted certificate")
            else:
                self.add("TLS", "skip", "no connection")
                self.add(
                    "route + token",
                    "fail",
                    f"no answer from {url}: {type(exc).__name__}: {exc}",
                    "check --base-url, the network and any proxy",
                )
                self.add("clock", "skip", "needs an answer")
            return
        if https:
            self.add("TLS", "ok", f"certificate trusted ({network.trust.describe()})")
        else:
            self.add("TLS", "skip", "plain http to a loopback host")
        self._judge(answer, url, token is not None)
        self._clock(answer)

    def _client(self, network: Network, timeout: float) -> httpx.Client:
        """Return a client through the network (or through the transport a test gave)."""
        import httpx

        if self.transport is not None:
            return httpx.Client(trust_env=False, timeout=timeout, transport=self.transport)
        return network.client(timeout=timeout)

    def _judge(self, answer: httpx.Response, url: str, has_token: bool) -> None:
        status = answer.status_code
        name = "route + token"
        if status in (400, 422):
            self.add(name, "ok", f"POST {{}} to {url} refused with {status}, as it should be")
        elif status == 401 and not has_token:
            self.add(name, "skip", f"{url} answers 401: set a token to check it")
        elif status == 401:
            self.add(
                name,
                "fail",
                f"the token was refused (401) by {url}",
                "check AE_API_TOKEN or --token-file; an API key (sk-apik_...) may need "
                "auth_scheme: raw",
            )
        elif status == 403:
            self.add(
                name,
                "fail",
                "the token lacks the engagements:write scope (403)",
                "use a token with the engagements:write scope",
            )
        elif 200 <= status < 300:
            self.add(
                name,
                "fail",
                f"POST {{}} to {url} was accepted ({status}): an engagement may have been "
                "created by this check; this server does not check requests as the API does",
                "check --base-url (is it the AskElephant API?); look for an empty engagement",
            )
        elif status in (404, 405):
            self.add(
                name,
                "fail",
                f"no Create engagement route at {url} ({status})",
                "check --base-url; it should end in /api",
            )
        else:
            self.add(
                name,
                "fail",
                f"POST {{}} to {url} answered {status}, not 400 or 422",
                "check --base-url; if it is right, the server is in trouble: try later",
            )

    def _clock(self, answer: httpx.Response) -> None:
        date = answer.headers.get("date")
        try:
            stamp = email.utils.parsedate_to_datetime(date).timestamp() if date else None
        except (TypeError, ValueError):
            stamp = None
        if stamp is None:
            self.add("clock", "skip", "the answer has no readable Date header")
            return
        skew = self.clock() - stamp
        ahead = "ahead of" if skew > 0 else "behind"
        detail = f"{abs(skew):.0f} s {ahead} the server's clock"
        if abs(skew) < 2:  # Date is to the second
            detail = "in step with the server's clock (to the second)"
        if abs(skew) <= MAX_SKEW_S:
            self.add("clock", "ok", detail)
        else:
            self.add(
                "clock",
                "fail",
                detail + f" (more than {MAX_SKEW_S:.0f} s)",
                "sync this machine's clock (NTP: timedatectl set-ntp true)",
            )


def _certificate_problem(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLCertVerificationError):
            return str(seen.verify_message or seen)
        seen = seen.__cause__ or seen.__context__
    return None
