"""A scripted HTTP/1.1 server on 127.0.0.1 for edge cases: each test writes the answer's bytes.

The server runs on the test's own event loop. For each connection it reads one request
(head and Content-Length body), then hands a ``Peer`` to the test's ``answer``
coroutine, which writes whatever bytes it likes through ``Peer.send``. ``Peer.sent``
counts the bytes the socket accepted before the client went away, so a test can show
that a client stopped reading early.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["Answer", "Peer", "RawServer", "answer_head", "gzip_bomb", "raw_server"]


@dataclass
class Peer:
    """One connection as the server saw it."""

    writer: asyncio.StreamWriter
    request: bytes = b""
    sent: int = 0
    client_left: bool = False

    async def send(self, data: bytes) -> None:
        """Write ``data``, wait until the socket takes it; ConnectionError once the client left."""
        self.writer.write(data)
        await self.writer.drain()
        self.sent += len(data)


Answer = Callable[[Peer], Awaitable[None]]


@dataclass
class RawServer:
    """A running server: its base URL, and the connections it has served."""

    base_url: str
    peers: list[Peer] = field(default_factory=list)
    handlers: list[asyncio.Task[None]] = field(default_factory=list)

    async def finished(self) -> list[Peer]:
        """Wait until every connection's answer has ended; return the peers."""
        await asyncio.wait_for(asyncio.gather(*self.handlers), 30)
        return self.peers


@contextlib.asynccontextmanager
async def raw_server(answer: Answer) -> AsyncIterator[RawServer]:
    """Serve ``answer`` to every request on an ephemeral loopback port."""
    started: list[RawServer] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = started[0]
        task = asyncio.current_task()
        assert task is not None
        server.handlers.append(task)
        peer = Peer(writer)
        server.peers.append(peer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            peer.request = head + await reader.readexactly(length)
            await answer(peer)
        except (ConnectionError, asyncio.IncompleteReadError):
            peer.client_left = True
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    started.append(RawServer(f"http://127.0.0.1:{port}/api"))
    async with server:
        yield started[0]
        await started[0].finished()


def answer_head(status: int, *headers: str) -> bytes:
    """Return a status line and headers, ending with the blank line."""
    lines = [f"HTTP/1.1 {status} Status", *headers, "", ""]
    return "\r\n".join(lines).encode("latin-1")


def gzip_bomb(mebibytes: int) -> Iterator[bytes]:
    """Yield a gzip stream of ``mebibytes`` MiB of zeros (about 1 KiB each), never its trailer."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    yield first
    # After a full flush the compressor starts afresh: every further MiB is the same bytes.
    unit = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    for _ in range(mebibytes - 1):
        yield unit
