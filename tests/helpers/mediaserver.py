"""A recordings host on loopback that asks for credentials: Basic (/basic/) and bearer (/bearer/).

Serves ``files`` (path -> (bytes, content type)) over https with a certificate from
the session CA, as Twilio (Basic) and Graph or Zoom (bearer) serve recordings. A
missing or wrong credential is a 401; an unknown path a 404; ``/fail/...`` a 503.
``/redirect/<path>`` answers 302 to ``<path>`` on the same host. Every request is
kept (method, path, whether credentials came) to show what was asked and how often.
"""

from __future__ import annotations

import base64
import http.server
import ssl
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trustme

from tests.helpers.httpthread import QuietHTTPServer
from tests.helpers.proxies import issue

USER = "AC0123456789abcdef"
PASSWORD = "twilio-SECRET-token-4242"
BEARER = "graph-BEARER-token-5151"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD.encode(), BEARER.encode(), BASIC.encode())


@dataclass
class Asked:
    """One request the host answered."""

    method: str
    path: str
    credentialed: bool


@dataclass
class _State:
    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(http.server.BaseHTTPRequestHandler):
    state: _State

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def _answer(self, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        auth = self.headers.get("Authorization")
        with self.state.lock:
            self.state.asked.append(Asked(self.command, path, auth is not None))
        if path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", path.removeprefix("/redirect"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.startswith("/fail/"):
            return self._status(503)
        wanted = {"/basic/": f"Basic {BASIC}", "/bearer/": f"Bearer {BEARER}"}
        for prefix, credential in wanted.items():
            if path.startswith(prefix) and auth != credential:
                return self._status(401)
        found = self.state.files.get(path)
        if found is None:
            return self._status(404)
        data, kind = found
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _status(self, status: int) -> None:
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        """Serve a file's bytes."""
        self._answer(True)

    def do_HEAD(self) -> None:
        """Serve a file's headers."""
        self._answer(False)


class _TLSServer(QuietHTTPServer):
    """Does each TLS handshake in the request's own thread, not in accept (one at a time)."""

    context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Wrap the connection in TLS, then handle it."""
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        self.RequestHandlerClass(tls, client_address, self)  # type: ignore[arg-type]


class AuthMediaHost:
    """The host: https on 127.0.0.1, files added with ``add``, requests kept in ``asked``."""

    def __init__(self, ca: trustme.CA, folder: Path) -> None:
        """Serve with a certificate from ``ca`` for 127.0.0.1 and localhost."""
        certfile, keyfile = issue(ca, folder, "localhost", "127.0.0.1")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        self.state = _State()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = _TLSServer(("127.0.0.1", 0), handler)
        self.server.context = context
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    @property
    def host(self) -> str:
        """Return the host name the URLs use."""
        return "localhost"

    def add(self, path: str, data: bytes, kind: str = "audio/mpeg") -> str:
        """Serve ``data`` at ``path`` (e.g. /basic/rec1.mp3); return its https URL."""
        self.state.files[path] = (data, kind)
        return f"https://localhost:{self.port}{path}"

    @property
    def asked(self) -> list[Asked]:
        """Return the requests answered so far."""
        with self.state.lock:
            return list(self.state.asked)

    def forget(self) -> None:
        """Forget the requests answered so far."""
        with self.state.lock:
            self.state.asked.clear()

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
