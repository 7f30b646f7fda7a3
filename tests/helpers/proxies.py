"""A real HTTP proxy on loopback (proxy.py), and an https media host, for the proxy tests.

``ProxyPy`` starts ``python -m proxy`` on 127.0.0.1 with ``proxy_plugin``, which resolves
``*.test`` to 127.0.0.1 and logs every request; a request to ``api.test`` that succeeds
went through the proxy. The proxy runs in its own process group (it forks workers),
which ``stop`` ends whole. ``MediaHost`` serves one audio file over https (HEAD and
ranged GET) with a certificate from the tests' CA.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import trustme

from tests.helpers import ROOT
from tests.helpers.httpthread import QuietHTTPServer

__all__ = ["MediaHost", "ProxyPy", "issue"]


def issue(ca: trustme.CA, folder: Path, *names: str) -> tuple[Path, Path]:
    """Write a certificate for ``names`` from ``ca`` and its key; return (cert, key) paths."""
    cert = ca.issue_cert(*names)
    certfile, keyfile = folder / f"{names[0]}-cert.pem", folder / f"{names[0]}-key.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    return certfile, keyfile


class ProxyPy:
    """proxy.py on 127.0.0.1:<free port>, with the tests' routing and logging plugin."""

    def __init__(self, folder: Path, auth: str | None = None) -> None:
        """Keep its files in ``folder``; ``auth`` (user:password) makes it ask for Basic auth."""
        self.folder = folder
        self.auth = auth
        self.log = folder / "requests.log"
        self.log.write_text("")
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[str] | None = None

    def start(self, timeout: float = 30.0) -> ProxyPy:
        """Start the proxy; return once it accepts connections."""
        port_file = self.folder / "port"
        args = [
            *(sys.executable, "-m", "proxy", "--hostname", "127.0.0.1", "--port", "0"),
            *("--port-file", str(port_file), "--num-acceptors", "1", "--num-workers", "1"),
            *("--plugins", "tests.helpers.proxy_plugin.TestRoutingPlugin"),
            *("--log-level", "WARNING"),
        ]
        if self.auth:
            args += ["--basic-auth", self.auth]
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        env |= {"AE_PROXY_LOG": str(self.log), "PYTHONPATH": str(ROOT)}
        self._stderr = (self.folder / "stderr").open("w")
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.DEVNULL, stderr=self._stderr, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.folder / "stderr").read_text())
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text:
                self.port = int(text.split()[0])
                with contextlib.suppress(OSError):
                    socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                    return self
            time.sleep(0.02)
        self.stop()
        raise TimeoutError("proxy.py did not start")

    @property
    def url(self) -> str:
        """Return the proxy's URL, without credentials."""
        return f"http://127.0.0.1:{self.port}"

    def url_with_auth(self) -> str:
        """Return the proxy's URL with its user and password."""
        return f"http://{self.auth}@127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """Return the requests logged since the last reset: 'CONNECT api.test:443 auth=False'."""
        time.sleep(0.05)  # the worker writes its line as it forwards; let it land
        return [line for line in self.log.read_text().splitlines() if line]

    def reset(self) -> ProxyPy:
        """Forget the logged requests."""
        self.log.write_text("")
        return self

    def stop(self) -> None:
        """Stop the proxy and every process it forked."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self._stderr is not None:
            self._stderr.close()


class _Media(http.server.BaseHTTPRequestHandler):
    """Answers HEAD and GET with a small audio/mpeg body."""

    BODY = b"ID3" + b"\0" * 61

    def _head(self, status: int, length: int) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes 0-0/{len(self.BODY)}")
        self.end_headers()

    def do_HEAD(self) -> None:
        """Answer with the audio's headers."""
        self._head(200, len(self.BODY))

    def do_GET(self) -> None:
        """Answer a ranged GET with its first byte, any other with the whole body."""
        if self.headers.get("Range") == "bytes=0-0":
            self._head(206, 1)
            self.wfile.write(self.BODY[:1])
        else:
            self._head(200, len(self.BODY))
            self.wfile.write(self.BODY)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


class MediaHost:
    """An https media host on 127.0.0.1 with a certificate for ``media.test`` (and loopback)."""

    def __init__(self, ca: trustme.CA, folder: Path) -> None:
        """Serve with a certificate from ``ca``."""
        certfile, keyfile = issue(ca, folder, "media.test", "127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile, keyfile)
        self.server = QuietHTTPServer(("127.0.0.1", 0), _Media)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def url(self, name: str, host: str = "media.test") -> str:
        """Return the https URL of ``name`` at ``host``."""
        return f"https://{host}:{self.port}/{name}"

    def stop(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
