"""The stager: a row's media into the user's bucket, once, keyed by its content.

``Stager.stage(media, base, roots)`` resolves the media (``sources``), and:

1. asks the ledger what the source was staged as before (``staged`` table: a file
   unchanged in size and mtime, or the same URL); if the store still holds that
   object (HEAD), nothing is read or uploaded;
2. else hashes the file, or spools the URL to a temp file while hashing it, and
   names the object ``<prefix>/<sha256>.<ext>``; HEAD again (another source, or an
   earlier run without this ledger, may have staged the same bytes) and uploads only
   when the store lacks it, with its content type and the sha256 as metadata;
3. records the source in the ledger, and returns the ``Staged`` reference, which the
   row is then sent with, signed just in time like any ``s3://`` row.

At most ``concurrency`` files are staged at once; the store's blocking calls run in
threads. The same source asked twice at once is staged once. Errors: ``StageProblem``
(the row's media cannot be staged: invalid), ``StageRetry`` (a later run may: a
source's 5xx, a full disk, a store that failed for now), ``CloudError`` (the store
refuses for good: no credentials, no bucket; the run stops).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ae_import.errors import CloudError
from ae_import.ledger import StagedCopy
from ae_import.media import StagedObject, Store
from ae_import.redact import Scrubber

from .sources import LocalMedia, MediaSources, RemoteMedia, StageProblem, StageRetry
from .transfer import MAX_STAGE_BYTES, ByteRate, PacedReader, hash_file, media_type, spool

if TYPE_CHECKING:
    import httpx

__all__ = ["LOOKUPS", "StageCache", "StageCounts", "Staged", "Stager"]

LOOKUPS = 16  # HEADs of objects already staged, at once (a re-run is all lookups)
T = TypeVar("T")


class StageCache(Protocol):
    """Where the stager remembers what each source was staged as (the ledger)."""

    def staged_copy(self, source: str) -> StagedCopy | None:
        """Return what ``source`` was staged as, or None."""
        ...

    def record_staged(self, source: str, copy: StagedCopy) -> None:
        """Remember that ``source`` is staged as ``copy``."""
        ...

    def forget_staged(self, ref: str) -> None:
        """Forget every source staged as ``ref``."""
        ...


@dataclass(frozen=True)
class Staged:
    """A row's media, staged: the reference it is sent as, its checksum, and if it went up now."""

    ref: str
    sha256: str
    size: int
    content_type: str
    uploaded: bool


@dataclass
class StageCounts:
    """What staging did so far: files and bytes uploaded, files found staged, objects deleted."""

    files: int = 0
    bytes: int = 0
    found: int = 0
    deleted: int = 0
    sent_bytes: int = 0  # bytes read by uploads so far, for progress


class Stager:
    """Stages media into one bucket and prefix (``--stage-to``) through one store."""

    def __init__(
        self,
        target: str,
        store: Store,
        sources: MediaSources,
        *,
        cache: StageCache | None = None,
        client: httpx.Client | None = None,
        concurrency: int = 4,
        rate: ByteRate | None = None,
        allow_private: bool = False,
        spool_dir: Path | None = None,
        max_bytes: int = MAX_STAGE_BYTES,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Stage into ``target`` through ``store``; ``client`` fetches URLs (from ``net``)."""
        self.target = target.rstrip("/")
        self.store = store
        self.sources = sources
        self.cache = cache
        self.client = client
        self.rate = rate or ByteRate(0)
        self.allow_private = allow_private
        self.spool_dir = spool_dir
        self.max_bytes = max_bytes
        self.env: Mapping[str, str] = env if env is not None else sources.env
        self.counts = StageCounts()
        self._scrub = Scrubber(sources.auth.secrets(self.env))
        self._slots = asyncio.Semaphore(concurrency)
        self._looks = asyncio.Semaphore(LOOKUPS)
        self._hashing = asyncio.Semaphore(concurrency)
        # Its own threads: the loop's default pool has min(32, CPUs + 4), 6 on 2 cores.
        self._pool = ThreadPoolExecutor(2 * concurrency + LOOKUPS, thread_name_prefix="ae-stage")
        self._busy: dict[str, tuple[asyncio.Lock, int]] = {}
        self._users: dict[str, int] = {}  # ref -> rows in flight sent with it
        self._doomed: set[str] = set()  # refs to delete once their last row is done

    @contextlib.contextmanager
    def _owning(self, key: str) -> Iterator[asyncio.Lock]:
        """Yield the lock of ``key`` (a source or a reference), dropped when nobody holds it."""
        lock, users = self._busy.get(key) or (asyncio.Lock(), 0)
        self._busy[key] = (lock, users + 1)
        try:
            yield lock
        finally:
            lock, users = self._busy[key]
            if users <= 1:
                del self._busy[key]
            else:
                self._busy[key] = (lock, users - 1)

    async def stage(self, media: str, base: Path, roots: Sequence[Path] = ()) -> Staged:
        """Stage ``media`` (a row's media_url) and return its reference; see the module doc."""
        source = self.sources.resolve(media, base, roots)
        try:
            with self._owning(source.key) as lock:
                async with lock:
                    async with self._looks:  # many lookups at once: a HEAD is cheap
                        known = await self._known(source)
                    if known is not None:
                        self.counts.found += 1
                        return known
                    return await self._stage(source)
        except (StageProblem, StageRetry) as exc:
            exc.message = self._scrub.text(exc.message)  # a host may echo a credential
            raise
        except CloudError as exc:
            scrubbed = CloudError(self._scrub.text(exc.message))
            scrubbed.transient = exc.transient
            raise scrubbed from None

    async def _stage(self, source: LocalMedia | RemoteMedia) -> Staged:
        if isinstance(source, LocalMedia):
            async with self._hashing:  # ahead of the uploads, which wait for a slot
                sha256, size, mtime_ns = await self._thread(hash_file, source, self.max_bytes)
            content_type, ext = media_type(source.path.name, None, source.shown)
            staged = await self._upload(source.path, sha256, size, content_type, ext)
        else:
            async with self._slots:  # a download is a transfer too
                spooled = await self._thread(
                    spool,
                    source,
                    self._client(),
                    self._headers,
                    allow_private=self.allow_private,
                    directory=self.spool_dir,
                    max_bytes=self.max_bytes,
                )
            try:
                content_type, ext = media_type(spooled.name, spooled.content_type, source.shown)
                staged = await self._upload(
                    spooled.path, spooled.sha256, spooled.size, content_type, ext
                )
            finally:
                spooled.discard()
            mtime_ns = None
        if self.cache is not None:
            copy = StagedCopy(staged.size, mtime_ns, staged.sha256, staged.ref, content_type)
            self.cache.record_staged(source.key, copy)
        return staged

    async def _known(self, source: LocalMedia | RemoteMedia) -> Staged | None:
        """Return the object an earlier run staged from ``source``, if the store still has it."""
        copy = self.cache.staged_copy(source.key) if self.cache is not None else None
        if copy is None or not copy.ref.startswith(self.target + "/"):
            return None
        if isinstance(source, LocalMedia):
            try:
                now = source.path.stat()
            except OSError:
                return None
            if (now.st_size, now.st_mtime_ns) != (copy.size, copy.mtime_ns):
                return None
        found = await self._head(copy.ref)
        if found is None or found.size != copy.size or found.sha256 not in (None, copy.sha256):
            return None
        return Staged(copy.ref, copy.sha256, copy.size, copy.content_type, uploaded=False)

    async def _upload(
        self, path: Path, sha256: str, size: int, content_type: str, ext: str
    ) -> Staged:
        """Upload the file at ``path`` as ``<prefix>/<sha256>.<ext>`` unless the store has it."""
        ref = f"{self.target}/{sha256}.{ext}"
        with self._owning(ref) as lock:
            async with lock:
                async with self._looks:
                    found = await self._head(ref)
                if found is not None and found.size == size and found.sha256 in (None, sha256):
                    self.counts.found += 1
                    return Staged(ref, sha256, size, content_type, uploaded=False)
                async with self._slots:
                    await self._put(ref, path, size, content_type, sha256)
        self.counts.files += 1
        self.counts.bytes += size
        return Staged(ref, sha256, size, content_type, uploaded=True)

    async def _head(self, ref: str) -> StagedObject | None:
        return await self._thread(self.store.head, ref)

    async def _put(self, ref: str, path: Path, size: int, content_type: str, sha256: str) -> None:
        def put() -> None:
            with path.open("rb") as handle:
                body: Any = handle
                if self.rate.bps:
                    body = PacedReader(handle, self.rate, self._sent)
                self.store.put(ref, body, size, content_type, sha256)

        try:
            await self._thread(put)
        except OSError as exc:
            raise StageRetry("stage_missing", f"cannot read {path.name}: {exc.strerror}") from None

    async def _thread(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call in the stager's threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    def _sent(self, count: int) -> None:
        self.counts.sent_bytes += count

    def _headers(self, url: str) -> dict[str, str]:
        entry = self.sources.auth.for_url(url)
        return entry.headers(self.env) if entry is not None else {}

    def _client(self) -> httpx.Client:
        if self.client is None:
            from ae_import.net import Network

            self.client = Network().client(follow_redirects=False, timeout=60.0)
        return self.client

    def hold(self, ref: str) -> None:
        """Count one more row in flight sent with ``ref`` (cleanup waits for the last)."""
        self._users[ref] = self._users.get(ref, 0) + 1

    def done(self, ref: str, delete: bool) -> bool:
        """Count a row done with ``ref`` (``delete``: it was created or existing).

        Return True when the object is to be deleted now (``--stage-cleanup``): the last
        row in flight with ``ref`` is done, and one of them asked for it.
        """
        if delete:
            self._doomed.add(ref)
        left = self._users.get(ref, 1) - 1
        if left > 0:
            self._users[ref] = left
            return False
        self._users.pop(ref, None)
        if ref not in self._doomed:
            return False
        self._doomed.discard(ref)
        return True

    async def remove(self, ref: str) -> None:
        """Delete a staged object and forget it in the ledger."""
        await self._thread(self.store.delete, ref)
        if self.cache is not None:
            self.cache.forget_staged(ref)
        self.counts.deleted += 1

    def close(self) -> None:
        """Close the URL client and the threads."""
        if self.client is not None:
            self.client.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
