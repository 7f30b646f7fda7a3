"""``--check-media``: each row's media checked before its request is sent, or for every row.

``validate --check-media`` checks every valid row (``check_all``); ``run --check-media``
checks each row just before its first attempt (``MediaGate``: started as the row is
queued, so checks run ahead of the sends, at their own concurrency). A row that fails
is invalid, not sent, and its problems are reported and exported like any other.

For each row's ``media_url``, in this order:

1. A presigned https URL (``presigned.expires_at``) that has expired is
   ``media_expired``; one that expires before the row's turn, or less than
   ``SEND_SLACK_S`` after it, is ``media_expires_before_send`` (its turn: now for
   ``run``; ``validate`` forecasts it from ``--rate`` and the budgets, ``presigned.Forecast``).
   Neither asks the network.
2. A good check of the same URL (or reference) in the last ``CACHE_TTL_S`` (24 h),
   kept in the ledger, settles it: a nightly re-run does not ask again. Only good
   results are kept; a failure is asked again next time.
3. An ``s3://``, ``gs://`` or ``az://`` reference is signed for the check (as a send
   signs it, so the type the URL forces is the one seen), then asked like a URL.
4. The URL is asked as the server asks it (``media.Prober``: every hop's addresses
   public, HEAD then a 1-byte GET, at most 5 redirects, ``--media-timeout``).

==========================  ==========================================================
code                        the media...
==========================  ==========================================================
media_expired               is a presigned URL past its expiry
media_expires_before_send   is a presigned URL that dies before the row's turn
media_http_403, _404, _NNN  answers that HTTP status (any status of 300 and over)
media_content_type          answers with a type that is not audio/* or video/*
media_empty                 is empty (size 0, or 416 to a 1-byte range)
media_private_address       resolves, at some hop, to a private or internal address
media_timeout               has not answered within ``--media-timeout``
media_unreachable           cannot be asked: DNS, connection, TLS, over 5 redirects
==========================  ==========================================================

Messages name the host, never a URL's query. A signing failure (no credentials) is
not a row's problem: ``CloudError`` stops ``validate`` (exit 2) and ``run`` (rows left
retryable).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import TYPE_CHECKING, Protocol

from ae_import.net import Network
from ae_import.records import Problem, Row
from ae_import.redact import redact_url

from .auth import MediaAuth, MissingCredential
from .cloud import Signer, parse_reference, validity
from .presigned import Forecast, expires_at, when
from .probe import Probe, Prober, Resolve, getaddrinfo

if TYPE_CHECKING:
    import httpx


__all__ = [
    "CACHE_TTL_S",
    "SEND_SLACK_S",
    "Found",
    "MediaCache",
    "MediaCheck",
    "check_all",
    "judge",
    "refuse",
]

CACHE_TTL_S = 24 * 3600
SEND_SLACK_S = 60  # the server fetches as the request arrives; a URL must outlive that
Found = list[tuple[str, str]]


class MediaCache(Protocol):
    """Where good checks are kept (the ledger's ``media_checks``): asked again after a day."""

    def media_checked(self, key: str, since: str) -> bool:
        """Tell whether a good check of ``key`` was made at ``since`` or later."""
        ...

    def record_media_check(
        self, key: str, media: str, content_type: str, size: int | None, at: str
    ) -> None:
        """Record a good check of ``key`` made ``at``."""
        ...

    def forget_media_checks(self, before: str) -> None:
        """Forget the checks made before ``before``."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def judge(probe: Probe, timeout_s: float) -> Found:
    """Return the problems of a media URL that came to ``probe`` (none when it is good)."""
    host = probe.host or "the host"
    if probe.kind == "media":
        if probe.size == 0:
            return [("media_empty", f"is empty (0 bytes at {host}); upload the recording again")]
        return []
    if probe.kind == "status" and probe.status == 416:
        return [("media_empty", f"is empty ({host} answered 416 to a 1-byte range)")]
    if probe.kind == "status":
        why = {403: ": access denied (private, expired or wrongly signed)", 404: ": no such file"}
        return [
            (
                f"media_http_{probe.status}",
                f"{host} answered HTTP {probe.status}{why.get(probe.status or 0, '')}",
            )
        ]
    if probe.kind == "type":
        kind = probe.content_type[:100] or "no content type"
        return [
            (
                "media_content_type",
                f"is served as {kind}, not audio/* or video/*; the server refuses it (set the "
                "object's Content-Type, or name it as s3://, gs:// or az://: its signed URL "
                "forces the type)",
            )
        ]
    if probe.kind == "private":
        return [
            (
                "media_private_address",
                f"{host} resolves to a private or internal address; the server fetches public "
                "ones only",
            )
        ]
    if probe.kind == "timeout":
        return [("media_timeout", f"no answer within {timeout_s:g} s (--media-timeout)")]
    return [("media_unreachable", f"cannot be fetched: {probe.detail}")]


def _credentials(
    auth: MediaAuth, env: Mapping[str, str] | None
) -> Callable[[str], Mapping[str, str]]:
    """Return the headers each URL is asked with: credentials for the hosts ``auth`` names."""
    values: Mapping[str, str] = os.environ if env is None else env

    def headers(url: str) -> Mapping[str, str]:
        entry = auth.for_url(url)
        if entry is None:
            return {}
        try:
            return entry.headers(values)
        except MissingCredential:
            return {}  # the row's check says which variable is unset

    return headers


class MediaCheck:
    """Checks media URLs and references: expiry, the ledger's cache, signing, the probe."""

    def __init__(
        self,
        *,
        concurrency: int = 8,
        timeout_s: float = 30.0,
        allow_private: bool = False,
        ledger: MediaCache | None = None,
        signer: Signer | None = None,
        now: Callable[[], datetime] = _now,
        resolve: Resolve = getaddrinfo,
        transport: httpx.AsyncBaseTransport | None = None,
        network: Network | None = None,
        auth: MediaAuth | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Prepare the probe; drop the ledger's checks older than ``CACHE_TTL_S``.

        ``auth`` (``media.auth``, its variables read from ``env``) gives the hosts it names
        their credentials, as staging fetches them.
        """
        self.prober = Prober(
            allow_private=allow_private,
            timeout_s=timeout_s,
            connections=concurrency,
            resolve=resolve,
            transport=transport,
            network=network,
            credentials=_credentials(auth, env) if auth is not None and auth.hosts else None,
        )
        self.concurrency = concurrency
        self.timeout_s = timeout_s
        # A result reached through --media-allow-private is no result for a check without it.
        self._salt = b"\0private" if allow_private else b""
        self.ledger = ledger
        self.signer = signer
        self.now = now
        self._slots = asyncio.Semaphore(concurrency)
        self._asking: dict[str, asyncio.Future[Found]] = {}
        if ledger is not None:
            ledger.forget_media_checks(_stamp(now() - timedelta(seconds=CACHE_TTL_S)))

    async def check(self, media: str, send_at: datetime | None = None) -> Found:
        """Return the problems of ``media`` (a URL or a reference) if sent at ``send_at``.

        A local path (staged before sending) is judged offline, by the row's check.
        """
        if "://" not in media or media.strip().lower().startswith("file:"):
            return []
        now = self.now()
        try:
            reference = parse_reference(media)
        except ValueError:
            reference = None  # validation reports it; nothing to ask
        if reference is None:
            expiry = expires_at(media)
            if expiry is not None:
                found = self._timing(expiry, now, send_at or now)
                if found:
                    return found
        key = hashlib.blake2b(media.strip().encode("utf-8", "surrogatepass"), digest_size=16)
        key.update(self._salt)
        cache_key = key.hexdigest()
        since = _stamp(now - timedelta(seconds=CACHE_TTL_S))
        if self.ledger is not None and self.ledger.media_checked(cache_key, since):
            return []
        asking = self._asking.get(cache_key)
        if asking is None:  # the same media on several rows is asked once at a time
            asking = asyncio.ensure_future(self._ask(media, cache_key))
            self._asking[cache_key] = asking
            asking.add_done_callback(lambda _: self._asking.pop(cache_key, None))
        return list(await asyncio.shield(asking))

    def _timing(self, expiry: datetime, now: datetime, send_at: datetime) -> Found:
        if expiry <= now:
            return [
                ("media_expired", f"the presigned URL expired at {when(expiry)}; sign it again")
            ]
        if expiry <= send_at + timedelta(seconds=SEND_SLACK_S):
            return [
                (
                    "media_expires_before_send",
                    f"the presigned URL expires at {when(expiry)}, before its turn (about "
                    f"{when(send_at)}); sign it for longer, or send it sooner",
                )
            ]
        return []

    async def _ask(self, media: str, cache_key: str) -> Found:
        async with self._slots:
            url = media
            reference = parse_reference(media)
            if reference is not None:
                signer = self.signer or Signer()
                self.signer = signer
                url = await asyncio.to_thread(signer.sign, reference, validity(self.timeout_s))
            probe = await self.prober.probe(url)
        found = judge(probe, self.timeout_s)
        if not found and self.ledger is not None:
            shown = str(reference) if reference is not None else redact_url(media)
            self.ledger.record_media_check(
                cache_key, shown, probe.content_type, probe.size, _stamp(self.now())
            )
        return found

    async def aclose(self) -> None:
        """Close the probe's connections."""
        await self.prober.aclose()


def refuse(row: Row, found: Found, column: str | None = None) -> None:
    """Make ``row`` invalid with the media problems ``found``."""
    row.problems = (*row.problems, *(Problem("media_url", c, m, column) for c, m in found))
    row.body = None


async def check_all(
    rows: Iterable[Row],
    check: MediaCheck,
    forecast: Forecast,
    add: Callable[[Row], None],
    column: str | None = None,
) -> None:
    """Check the media of every valid row, many at once; hand each row to ``add`` in order.

    The rows to send are numbered in order for the forecast of their turn.
    """
    window = max(64, 4 * check.concurrency)
    position = 0
    source = iter(rows)

    async def one(row: Row, media: str, send_at: datetime) -> None:
        found = await check.check(media, send_at)
        if found:
            refuse(row, found, column)

    while chunk := list(islice(source, window)):
        jobs = []
        for row in chunk:
            media = row.media_url if row.valid else None
            if media is not None:
                jobs.append(one(row, media, forecast.send_at(position)))
                position += 1
        await asyncio.gather(*jobs)
        for row in chunk:
            add(row)
