"""Serving the sandbox with uvicorn: blocking (``ae-import sandbox``) or in a thread.

The thread form starts on an ephemeral port and yields its base URL: the pytest
fixture and ``ae-import run --sandbox`` use it.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import uvicorn

from ae_import.errors import UsageError

from .app import Log, SandboxSettings, create_app
from .faults import FaultPlan, FaultProxy
from .state import Store, open_store

__all__ = ["SandboxServer", "serve"]


class SandboxServer:
    """One sandbox: its settings, its store, and the uvicorn server that serves it."""

    def __init__(
        self,
        settings: SandboxSettings,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        state: Path | None = None,
        log: Log = lambda line: None,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        """Prepare the app and its store; nothing listens until start() or serve().

        ``tls`` (certificate file, key file) serves https instead of http.
        """
        self.settings = settings
        self.store: Store = open_store(state)
        self.app = create_app(settings, self.store, log=log)
        config = uvicorn.Config(
            self.app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            ssl_certfile=str(tls[0]) if tls else None,
            ssl_keyfile=str(tls[1]) if tls else None,
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.host = host
        self.port = port
        self.scheme = "https" if tls else "http"

    @property
    def base_url(self) -> str:
        """Return the base URL clients use: http://HOST:PORT/api."""
        if self._socket is None:
            raise RuntimeError("the sandbox is not listening")
        port = self._socket.getsockname()[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{port}/api"

    def _bind(self) -> socket.socket:
        """Bind the listening socket here, so a busy port is an OSError for the caller."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        sock.listen(2048)
        sock.set_inheritable(True)
        return sock

    def start(self, timeout: float = 10.0) -> str:
        """Serve in a background thread; return the base URL once it listens."""
        sock = self._socket = self._bind()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="ae-sandbox", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        return self.base_url

    def wait(self) -> None:
        """Block until the server thread ends; Ctrl-C (KeyboardInterrupt) gets through."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.2)

    def stop(self) -> None:
        """Stop the background server, finishing requests in flight, and close the store."""
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._thread = None
        if self._socket is not None:
            self._socket.close()
        self.store.close()

    def __enter__(self) -> SandboxServer:
        """Start in a thread."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(
    settings: SandboxSettings,
    *,
    host: str,
    port: int,
    state: Path | None,
    faults: Mapping[str, float],
    log: Log,
    announce: Callable[[str], None],
) -> None:
    """Serve until Ctrl-C or SIGTERM (``ae-import sandbox``); with ``faults``, behind the proxy."""
    # SIGTERM stops the sandbox as Ctrl-C does, from before the URL is announced.
    signal.signal(signal.SIGTERM, _terminate)
    server = SandboxServer(settings, host=host, port=0 if faults else port, state=state, log=log)
    proxy: FaultProxy | None = None
    try:
        try:
            url = server.start()
            if faults:
                inner = server._socket.getsockname()[1] if server._socket else 0
                plan = FaultPlan(rates=faults, seed=settings.seed)
                proxy = FaultProxy((host, inner), plan, host, port)
                url = proxy.start()
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port"
            ) from None
        announce(url)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()
