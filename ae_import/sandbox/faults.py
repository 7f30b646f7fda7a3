"""A fault-injecting HTTP/1.1 proxy in front of the sandbox: the network's bad nights, on loopback.

Each request is read whole (its JSON body gives the external_id), then one fault, or
none, decides what the client sees:

=================  =====================================================================
fault              what happens
=================  =====================================================================
``500``, ``503``   answered at once with that status; nothing reaches the server
``429``            429 with ``Retry-After: N`` (seconds); nothing reaches the server
``429-date``       429 with ``Retry-After`` as an HTTP-date N seconds ahead
``reset-before``   the connection is reset (RST) before anything reaches the server
``reset-after``    the server creates the engagement; the client gets a reset, no answer
``slow``           the server's answer is held back ``slow_s`` seconds (past a timeout)
``non-json``       the server creates; the client gets 200 with an HTML body
``truncated``      the server creates; the client gets half the body, then the end
``create-500``     the server creates; the client gets 500
=================  =====================================================================

Faults come from a script (external_id -> the faults of its 1st, 2nd... attempts) or
at random with given probabilities and a seed. Requests per external_id and faults
injected are counted, so tests can check attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["FAULTS", "FaultPlan", "FaultProxy", "parse_fault"]

FAULTS = (
    "500",
    "503",
    "429",
    "429-date",
    "reset-before",
    "reset-after",
    "slow",
    "non-json",
    "truncated",
    "create-500",
)
_DIRECT = {"500", "503", "429", "429-date", "reset-before"}
_HEAD_LIMIT = 64 * 1024


def parse_fault(text: str) -> tuple[str, float]:
    """Read ``NAME=P`` (a fault and its probability, 0 to 1)."""
    name, _, share = text.partition("=")
    name = name.strip().lower()
    if name not in FAULTS:
        raise ValueError(f"'{name}' is not a fault; use one of {', '.join(FAULTS)}")
    try:
        probability = float(share) if share else 1.0
    except ValueError:
        raise ValueError(f"'{text}': the probability must be a number from 0 to 1") from None
    if not 0 <= probability <= 1:
        raise ValueError(f"'{text}': the probability must be a number from 0 to 1")
    return name, probability


@dataclass
class FaultPlan:
    """Which requests get which fault."""

    script: Mapping[str, list[str]] = field(default_factory=dict)
    rates: Mapping[str, float] = field(default_factory=dict)
    seed: int | None = None
    retry_after: float = 1.0
    slow_s: float = 5.0


def _problem(status: int, reason: str, extra: str = "") -> bytes:
    body = json.dumps({"type": f"fault:{status}", "title": reason, "status": status}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def _length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST, not FIN: what a crashed peer or a middlebox does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """Listens on loopback and forwards to ``upstream`` (host, port), injecting faults."""

    def __init__(
        self, upstream: tuple[str, int], plan: FaultPlan, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        """Prepare; nothing listens until start()."""
        self.upstream = upstream
        self.plan = plan
        self.host = host
        self._error: OSError | None = None
        self.injected: Counter[str] = Counter()
        self._attempts: Counter[str] = Counter()
        self._limited: Counter[str] = Counter()
        self._rng = random.Random(plan.seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event
        self._thread: threading.Thread | None = None
        self.port = port

    @property
    def base_url(self) -> str:
        """Return the base URL clients use: http://HOST:PORT/api."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/api"

    def attempts(self, external_id: str) -> int:
        """Return how many requests for ``external_id`` the proxy received."""
        with self._lock:
            return self._attempts[external_id]

    def rate_limited(self, external_id: str) -> int:
        """Return how many requests for ``external_id`` the proxy answered 429 itself."""
        with self._lock:
            return self._limited[external_id]

    def _choose(self, external_id: str | None) -> str | None:
        fault = self._pick(external_id)
        if external_id is not None and fault is not None and fault.startswith("429"):
            with self._lock:
                self._limited[external_id] += 1
        return fault

    def _pick(self, external_id: str | None) -> str | None:
        with self._lock:
            if external_id is not None:
                self._attempts[external_id] += 1
                script = self.plan.script.get(external_id)
                if script is not None:
                    attempt = self._attempts[external_id]
                    return script[attempt - 1] if attempt <= len(script) else None
            roll = self._rng.random()
            for name, share in self.plan.rates.items():
                if roll < share:
                    return name
                roll -= share
            return None

    async def _forward(self, head: bytes, body: bytes) -> tuple[bytes, bytes]:
        reader, writer = await asyncio.open_connection(*self.upstream)
        try:
            writer.write(head + body)
            await writer.drain()
            answer_head = await reader.readuntil(b"\r\n\r\n")
            answer_body = await reader.readexactly(_length(answer_head))
            return answer_head, answer_body
        finally:
            writer.close()

    async def _one(
        self, head: bytes, body: bytes, writer: asyncio.StreamWriter
    ) -> bool:  # keep the connection?
        external_id = None
        with contextlib.suppress(ValueError, AttributeError, UnicodeDecodeError):
            found = json.loads(body).get("external_id")
            external_id = found if isinstance(found, str) else None
        fault = self._choose(external_id)
        with self._lock:
            if fault:
                self.injected[fault] += 1
        if fault in _DIRECT:
            if fault == "reset-before":
                _reset(writer)
                return False
            wait = self.plan.retry_after
            if fault == "429":
                extra = f"retry-after: {wait:g}\r\n"
            elif fault == "429-date":
                extra = (
                    f"retry-after: {email.utils.formatdate(time.time() + wait, usegmt=True)}\r\n"
                )
            else:
                extra = ""
            status = 429 if fault and fault.startswith("429") else int(fault or 500)
            reason = {429: "Too Many Requests", 500: "Internal Server Error"}.get(
                status, "Service Unavailable"
            )
            writer.write(_problem(status, reason, extra))
            await writer.drain()
            return True
        answer_head, answer_body = await self._forward(head, body)
        if fault == "reset-after":
            _reset(writer)
            return False
        if fault == "slow":
            await asyncio.sleep(self.plan.slow_s)
        if fault == "non-json":
            html = b"<html><body>upstream hiccup</body></html>"
            answer_head = (
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n"
                + f"content-length: {len(html)}\r\n\r\n".encode()
            )
            answer_body = html
        elif fault == "truncated":
            writer.write(answer_head + answer_body[: len(answer_body) // 2])
            await writer.drain()
            writer.close()
            return False
        elif fault == "create-500":
            writer.write(_problem(500, "Internal Server Error"))
            await writer.drain()
            return True
        writer.write(answer_head + answer_body)
        await writer.drain()
        return True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                body = await reader.readexactly(_length(head))
                if not await self._one(head, body, writer):
                    return
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            if not writer.is_closing():
                writer.close()

    def start(self, timeout: float = 10.0) -> str:
        """Listen in a background thread; return the base URL."""
        ready = threading.Event()

        async def main() -> None:
            self._stopping = asyncio.Event()
            try:
                server = await asyncio.start_server(
                    self._serve, self.host, self.port, limit=_HEAD_LIMIT
                )
            except OSError as exc:
                self._error = exc
                ready.set()
                return
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stopping.wait()
            server.close()
            current = asyncio.current_task()
            for task in asyncio.all_tasks():
                if task is not current:
                    task.cancel()
            await asyncio.sleep(0)

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(main())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="ae-fault-proxy", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("the fault proxy did not start")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error
        return self.base_url

    def stop(self) -> None:
        """Stop listening, drop open connections, and end the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FaultProxy:
        """Start."""
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop."""
        self.stop()
