"""One CONNECT through a proxy, asked plainly, so doctor can say what a proxy answers.

The clients open tunnels inside their libraries, where a refusal becomes an exception
whose text varies by library. ``open_tunnel`` asks the proxy itself and returns what it
said: the status line of its answer to ``CONNECT host:port``, or why no answer came.
The tunnel is closed at once; no byte goes to the origin.
"""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass

from ae_import.text import safe_text

from .proxy import Proxy

__all__ = ["Tunnel", "open_tunnel"]

_HEAD_LIMIT = 16 * 1024


@dataclass(frozen=True)
class Tunnel:
    """What a proxy answered to one CONNECT: its status (None: no answer), and the reason."""

    status: int | None
    reason: str

    @property
    def ok(self) -> bool:
        """Tell whether the proxy opened the tunnel (a 2xx)."""
        return self.status is not None and 200 <= self.status < 300


def open_tunnel(proxy: Proxy, host: str, port: int, timeout: float = 10.0) -> Tunnel:
    """Ask ``proxy`` for a tunnel to ``host:port``; return its answer (never raises for it)."""
    target = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    lines = [f"CONNECT {target} HTTP/1.1", f"Host: {target}"]
    if proxy.has_credentials:
        pair = f"{proxy.username}:{proxy.password}".encode()
        lines.append("Proxy-Authorization: Basic " + base64.b64encode(pair).decode("ascii"))
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
    try:
        with socket.create_connection((proxy.host, proxy.port), timeout=timeout) as sock:
            sock.sendall(request)
            head = b""
            while b"\r\n" not in head and len(head) < _HEAD_LIMIT:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                head += chunk
    except TimeoutError:
        return Tunnel(None, f"no answer within {timeout:g} s")
    except OSError as exc:
        return Tunnel(None, f"cannot reach the proxy: {exc.strerror or type(exc).__name__}")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        shown = safe_text(status_line)[:80] or "nothing"
        return Tunnel(None, f"not an HTTP proxy: it answered {shown!r}")
    reason = safe_text(parts[2] if len(parts) > 2 else "")[:100]
    return Tunnel(int(parts[1]), reason)
