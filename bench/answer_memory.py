#!/usr/bin/env python3
"""Peak RSS of one create request whose answer is huge: 100 MiB plain, or a gzip bomb.

Usage: python bench/answer_memory.py [--root DIR] [--bomb-mib 65536] [--cases small,chunked,...]

A loopback server in this process answers each case; the client (``EngagementClient``
from ``DIR/ae_import``, the repository by default) runs in a child process whose peak
RSS is read from wait4. ``--root`` lets the same script measure an older checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from common import run_child

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20

CHILD = """
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from ae_import.sending import EngagementClient

async def main():
    client = EngagementClient(sys.argv[2], "bench")
    try:
        outcome = await client.create(b'{"external_id": "x"}')
    finally:
        await client.aclose()
    print(outcome.kind, outcome.http_status, outcome.error_code)

asyncio.run(main())
"""

Writer = Callable[[bytes], Awaitable[None]]


def head(status: int, *headers: str) -> bytes:
    """Return a status line and headers, ending with the blank line."""
    return "\r\n".join([f"HTTP/1.1 {status} Status", *headers, "", ""]).encode()


async def small(send: Writer, bomb_mib: int) -> None:
    """Answer a plain small 201 (the baseline)."""
    body = b'{"id": "eng_1"}'
    await send(head(201, f"Content-Length: {len(body)}") + body)


async def chunked(send: Writer, bomb_mib: int) -> None:
    """Answer 100 MiB, chunked."""
    block = b"x" * (64 * 1024)
    await send(head(201, "Transfer-Encoding: chunked"))
    for _ in range(100 * MIB // len(block)):
        await send(b"%x\r\n%s\r\n" % (len(block), block))
    await send(b"0\r\n\r\n")


async def declared(send: Writer, bomb_mib: int) -> None:
    """Answer 100 MiB with its Content-Length."""
    block = b"x" * (64 * 1024)
    await send(head(201, f"Content-Length: {100 * MIB}"))
    for _ in range(100 * MIB // len(block)):
        await send(block)


async def bomb(send: Writer, bomb_mib: int) -> None:
    """Answer ``bomb_mib`` MiB of zeros as gzip (about 1 KiB a MiB), then close."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(MIB)
    await send(head(201, "Content-Encoding: gzip", "Connection: close"))
    await send(compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH))
    unit = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    for _ in range(bomb_mib - 1):
        await send(unit)
    await send(compressor.flush())


CASES = {"small": small, "chunked": chunked, "declared": declared, "bomb": bomb}


def serve(case: str, bomb_mib: int, ready: list[int], done: threading.Event) -> None:
    """Serve ``case`` on a loopback port until ``done`` is set (run in a thread)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def send(data: bytes) -> None:
            writer.write(data)
            await writer.drain()

        try:
            request_head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in request_head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            await reader.readexactly(length)
            await CASES[case](send, bomb_mib)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.append(server.sockets[0].getsockname()[1])
        async with server:
            while not done.is_set():
                await asyncio.sleep(0.05)

    asyncio.run(main())


def measure(root: Path, case: str, bomb_mib: int) -> tuple[str, float]:
    """Run one client against ``case``; return its outcome line and peak RSS in MB."""
    ready: list[int] = []
    done = threading.Event()
    thread = threading.Thread(target=serve, args=(case, bomb_mib, ready, done))
    thread.start()
    try:
        while not ready:
            threading.Event().wait(0.01)
        url = f"http://127.0.0.1:{ready[0]}/api"
        argv = [sys.executable, "-c", CHILD, str(root), url]
        run = run_child(argv, capture=True, merge_stderr=True)
        out = run.out.strip().splitlines()
    finally:
        done.set()
        thread.join()
    return (out[-1] if out else "(no output)"), run.rss_mb


def main() -> None:
    """Measure each case; print one line per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--bomb-mib", type=int, default=64 * 1024)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args()
    for case in args.cases.split(","):
        outcome, rss = measure(args.root, case, args.bomb_mib)
        print(f"{case:9} peak RSS {rss:6.1f} MB  outcome: {outcome}", flush=True)


if __name__ == "__main__":
    main()
