#!/usr/bin/env python3
"""A peer for the benchmarks: the plain script one would write with one default httpx.AsyncClient.

Usage: python bench/httpx_peer.py ROWS.jsonl BASE_URL CONCURRENCY

Reads the JSONL requests, POSTs each to BASE_URL/v2/engagements through one shared
``httpx.AsyncClient()`` with default settings, at most CONCURRENCY at a time, and
prints how many were answered 2xx. No retries, no ledger: the least a script does.
"""

from __future__ import annotations

import asyncio
import os
import sys

import httpx


async def main(path: str, base_url: str, concurrency: int) -> int:
    """Send every line; return how many got a 2xx."""
    with open(path, "rb") as source:
        bodies = [line for line in source if line.strip()]
    headers = {
        "Authorization": f"Bearer {os.environ['AE_API_TOKEN']}",
        "Content-Type": "application/json",
    }
    url = base_url.rstrip("/") + "/v2/engagements"
    limit = asyncio.Semaphore(concurrency)
    ok = 0
    async with httpx.AsyncClient(timeout=600) as client:

        async def send(body: bytes) -> None:
            nonlocal ok
            async with limit:
                answer = await client.post(url, content=body, headers=headers)
                ok += answer.is_success

        await asyncio.gather(*(send(body) for body in bodies))
    return ok


if __name__ == "__main__":
    print(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
