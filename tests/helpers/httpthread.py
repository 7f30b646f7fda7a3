"""Small stdlib HTTP servers on 127.0.0.1 in a thread, for answers the sandbox never gives."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class QuietHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that says nothing when a client hangs up (a reset, a probe)."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore a client that hangs up (a probe that read enough, a reset); report the rest."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], **attributes: Any) -> Iterator[str]:
    """Serve ``handler`` on an ephemeral port; yield its base URL (``http://127.0.0.1:P/api``).

    ``attributes`` are set on the server, where the handler reads them
    (``self.server.status``). The server polls for shutdown every 10 ms, not the
    stdlib's 500 ms, so stopping it costs a test nothing.
    """
    server = QuietHTTPServer(("127.0.0.1", 0), handler)
    for name, value in attributes.items():
        setattr(server, name, value)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
