"""The sandbox's media fetch (``ae-import sandbox --fetch-media``): what the server does to a URL.

The real endpoint downloads ``media_url`` before it answers, and refuses with 422 when
the URL is not accessible, does not serve audio or video, resolves to a private
address, or the download times out (openapi.yaml, 422). The sandbox does the same,
cheaply, for each create, through the importer's own probe (``ae_import/media.py``:
each hop's addresses judged, HEAD, then a 1-byte ranged GET, at most 5 redirects,
bounded by ``timeout_s``); this module turns its ``Probe`` into the server's causes:

==========================  ==========================================================
code                        the probe found
==========================  ==========================================================
media_unreachable           no answer (DNS, connection, scheme, redirects), or >= 300
unsupported_media_type      a 2xx whose Content-Type is not audio/* or video/*
media_private_address       a hop that resolves to a private/internal address
media_timeout               no whole answer within ``timeout_s``
==========================  ==========================================================

``allow_private`` lets it fetch from private and loopback addresses over plain http
too (a store on this machine, such as moto or MinIO). The address check resolves the
name, then httpx resolves it again to connect: a name that changes its answer in
between (DNS rebinding) is not caught. Good enough for a test double.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ae_import.media import MAX_REDIRECTS, Probe, Prober, Resolve, blocked, getaddrinfo

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_REDIRECTS", "FetchSettings", "MediaFetcher", "MediaProblem", "blocked"]


@dataclass(frozen=True)
class FetchSettings:
    """How the sandbox fetches media before it answers."""

    allow_private: bool = False
    timeout_s: float = 30.0
    digest: bool = False  # download each recording whole and keep its sha256 (``fetched``)


@dataclass(frozen=True)
class MediaProblem:
    """Why a media URL is refused: an ``errors[]`` entry of the 422 answer."""

    code: str
    message: str


def _unreachable(why: str) -> MediaProblem:
    return MediaProblem("media_unreachable", f"the media URL is not accessible: {why}")


def refusal(probe: Probe, timeout_s: float) -> MediaProblem | None:
    """Return why the server refuses a URL that came to ``probe``, or None when it serves media."""
    if probe.kind == "media":
        return None
    if probe.kind == "status":
        return _unreachable(f"HTTP {probe.status}")
    if probe.kind == "type":
        shown = probe.content_type[:100] or "no content type"
        return MediaProblem(
            "unsupported_media_type",
            f"the media URL does not serve audio/* or video/* content ({shown})",
        )
    if probe.kind == "private":
        return MediaProblem(
            "media_private_address",
            f"the media URL resolves to a private/internal IP address ({probe.host})",
        )
    if probe.kind == "timeout":
        return MediaProblem(
            "media_timeout", f"the media download timed out (no answer within {timeout_s:g} s)"
        )
    return _unreachable(probe.detail)


class MediaFetcher:
    """Checks media URLs as the server fetches them; one httpx client for the sandbox's life."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        resolve: Resolve = getaddrinfo,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """Prepare the probe (no redirects followed by httpx: each hop is checked)."""
        self.settings = settings
        self.prober = Prober(
            allow_private=settings.allow_private,
            timeout_s=settings.timeout_s,
            connections=100,
            user_agent="ae-import-sandbox media fetch",
            resolve=resolve,
            transport=transport,
        )

    async def check(self, url: str) -> MediaProblem | None:
        """Return why the server would refuse ``url``, or None when it serves audio or video."""
        return refusal(await self.prober.probe(url), self.settings.timeout_s)

    async def download(self, url: str) -> dict[str, object]:
        """GET a recording whole, as the server does; return its sha256, size and type."""
        import hashlib

        digest = hashlib.sha256()
        size = 0
        async with asyncio.timeout(self.settings.timeout_s):
            async with self.prober.client.stream("GET", url) as answer:
                kind = answer.headers.get("content-type", "")
                async for chunk in answer.aiter_bytes(1 << 20):
                    digest.update(chunk)
                    size += len(chunk)
        return {"sha256": digest.hexdigest(), "size": size, "content_type": kind}

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.prober.aclose()
