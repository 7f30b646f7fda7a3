"""Bytes in and out of staging: a file hashed, a URL spooled to a bounded temp file, uploads paced.

Blocking functions, run in threads by the stager. Memory stays flat whatever the
size: files are read and written 1 MiB at a time, and the store uploads from the
file (the S3 store keeps at most a few 8 MiB parts in memory).

- ``hash_file``: the sha256 of a local file (the key of its staged object), checked
  unchanged (size, mtime) from start to end.
- ``spool``: GET a URL into a temp file while hashing it, at most ``max_bytes``;
  redirects followed by hand, each hop's scheme and address judged (https; public
  addresses unless ``allow_private``), credentials sent only to the hosts
  ``media.auth`` names. The caller deletes the file.
- ``media_type``: the content type and extension of the staged object: from the
  name's extension, else from the source's Content-Type; audio/* or video/* only.
- ``ByteRate`` and ``PacedReader``: ``--stage-bps``, one cap for every upload at once.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, urlsplit

from ae_import.media import MAX_REDIRECTS, MEDIA_TYPES, blocked, content_type_for
from ae_import.redact import redact_urls_in
from ae_import.text import safe_text

from .sources import LocalMedia, RemoteMedia, StageProblem, StageRetry

if TYPE_CHECKING:
    import httpx

__all__ = [
    "CHUNK",
    "MAX_STAGE_BYTES",
    "ByteRate",
    "PacedReader",
    "Spooled",
    "hash_file",
    "media_type",
    "spool",
]

CHUNK = 1024 * 1024
# The largest object S3, GCS and Azure block blobs all take (5 TiB for S3 and GCS).
MAX_STAGE_BYTES = 5 * 1024**4
_BURST_S = 1.0  # a cap lets one second's worth ahead of its timeline
# A type with several extensions is stored under the usual one.
_PREFERRED = {
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/aiff": "aiff",
    "audio/x-aiff": "aiff",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/x-m4a": "m4a",
    "audio/x-flac": "flac",
    "video/mpeg": "mpg",
}
_EXTENSION_OF = {
    **{kind: ext for ext, kind in reversed(list(MEDIA_TYPES.items()))},
    **_PREFERRED,
}


def media_type(name: str, header: str | None, shown: str) -> tuple[str, str]:
    """Return the (content type, extension) to stage ``name`` as; StageProblem when not media.

    The name's extension wins (``cloud.MEDIA_TYPES``); else the source's Content-Type,
    when it is audio/* or video/* of a known kind.
    """
    by_name = content_type_for(name)
    if by_name is not None:
        return by_name, name.rsplit(".", 1)[1].lower()
    kind = (header or "").split(";", 1)[0].strip().lower()
    ext = _EXTENSION_OF.get(kind)
    if ext is not None:
        return MEDIA_TYPES.get(ext, kind), ext
    served = f"served as {safe_text(kind)[:60]}" if kind else "served with no Content-Type"
    raise StageProblem(
        "stage_not_media",
        f"'{shown}' is {served} and its name has no audio or video extension; "
        "the server takes audio/* or video/* only",
    )


def hash_file(media: LocalMedia, max_bytes: int = MAX_STAGE_BYTES) -> tuple[str, int, int]:
    """Return a local file's sha256 (hex), size and mtime_ns; StageProblem when unreadable."""
    digest = hashlib.sha256()
    try:
        with media.path.open("rb") as handle:
            before = os.fstat(handle.fileno())
            if before.st_size > max_bytes:
                raise StageProblem(
                    "stage_too_large",
                    f"'{media.shown}' is {before.st_size:,} bytes; at most {max_bytes:,} "
                    "can be staged",
                )
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
            after = os.fstat(handle.fileno())
    except OSError as exc:
        raise StageProblem(
            "stage_missing", f"cannot read '{media.shown}': {exc.strerror or exc}"
        ) from None
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise StageRetry("stage_changing", f"'{media.shown}' changed while it was read")
    return digest.hexdigest(), after.st_size, after.st_mtime_ns


@dataclass
class Spooled:
    """A URL's body in a temp file: where, its sha256, size and the Content-Type it came with."""

    path: Path
    sha256: str
    size: int
    content_type: str | None
    name: str  # the last segment of the URL's path, for its extension

    def discard(self) -> None:
        """Delete the temp file (no error when it is gone)."""
        self.path.unlink(missing_ok=True)


def _check_hop(url: httpx.URL, allow_private: bool, shown: str) -> None:
    """Refuse a hop's scheme or a private address (unless ``allow_private``)."""
    allowed = ("https", "http") if allow_private else ("https",)
    if url.scheme not in allowed:
        raise StageProblem("stage_source", f"'{shown}': the scheme {url.scheme} is not fetched")
    if allow_private:
        return
    host = url.host
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, url.port or 443, type=socket.SOCK_STREAM)
        except OSError:
            raise StageRetry("stage_source", f"'{shown}': cannot resolve {host}") from None
        addresses = [str(info[4][0]) for info in infos]
    if any(blocked(a) for a in addresses):
        raise StageProblem(
            "stage_source", f"'{shown}': {host} is a private address; it is not fetched"
        )


def _refusal(status: int, shown: str, credentialed: bool) -> Exception:
    """Return what a source's error answer means for the row."""
    if status in (401, 403):
        fix = (
            "check the credentials media.auth names for this host"
            if credentialed
            else "add the host to media.auth with its credentials"
        )
        return StageProblem("stage_auth", f"'{shown}' answered {status}; {fix}")
    if status in (404, 410):
        return StageProblem("stage_not_found", f"'{shown}' answered {status}: no such recording")
    if status in (408, 425, 429) or status >= 500:
        return StageRetry("stage_source", f"'{shown}' answered {status}; a later run retries it")
    return StageProblem("stage_source", f"'{shown}' answered {status}")


def spool(
    media: RemoteMedia,
    client: httpx.Client,
    headers_for: Callable[[str], dict[str, str]],
    *,
    allow_private: bool = False,
    directory: Path | None = None,
    max_bytes: int = MAX_STAGE_BYTES,
) -> Spooled:
    """GET ``media`` into a temp file while hashing it; the caller discards the file."""
    import httpx

    shown = media.shown
    url = httpx.URL(media.url)
    for _ in range(MAX_REDIRECTS + 1):
        _check_hop(url, allow_private, shown)
        headers = headers_for(str(url))
        try:
            with client.stream("GET", url, headers=headers) as answer:
                location = answer.headers.get("location")
                if answer.is_redirect and location:
                    url = url.join(location)
                    continue
                if answer.status_code >= 300:
                    raise _refusal(answer.status_code, shown, bool(headers))
                name = unquote(urlsplit(media.url).path.rsplit("/", 1)[-1])
                kind = answer.headers.get("content-type")
                media_type(name, kind, shown)  # refuse a non-media source before its bytes
                return _write(answer, name, kind, shown, directory, max_bytes)
        except httpx.HTTPError as exc:
            why = safe_text(" ".join(redact_urls_in(f"{type(exc).__name__}: {exc}").split()))
            raise StageRetry("stage_source", f"'{shown}': {why[:200]}") from None
    raise StageProblem("stage_source", f"'{shown}': more than {MAX_REDIRECTS} redirects")


def _write(
    answer: httpx.Response,
    name: str,
    kind: str | None,
    shown: str,
    directory: Path | None,
    max_bytes: int,
) -> Spooled:
    """Write an answer's body to a new temp file while hashing it; delete it on any failure."""
    digest = hashlib.sha256()
    size = 0
    handle = tempfile.NamedTemporaryFile(prefix="ae-import-stage-", dir=directory, delete=False)
    path = Path(handle.name)
    try:
        with handle:
            for chunk in answer.iter_bytes(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise StageProblem(
                        "stage_too_large", f"'{shown}' is over {max_bytes:,} bytes; not staged"
                    )
                digest.update(chunk)
                handle.write(chunk)
    except OSError as exc:
        path.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StageRetry(
                "stage_disk",
                f"no space left in {path.parent} to spool '{shown}'; free space there, "
                "or point TMPDIR at a larger disk",
            ) from None
        raise StageRetry("stage_disk", f"cannot spool '{shown}': {exc.strerror or exc}") from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, digest.hexdigest(), size, kind, name)


class ByteRate:
    """A bytes-per-second cap shared by every upload (``--stage-bps``); thread-safe.

    Each read reserves its bytes on one timeline and sleeps until its turn; one
    second's worth may go at once after a pause.
    """

    def __init__(
        self,
        bps: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Cap at ``bps`` bytes per second (0: no cap)."""
        self.bps = bps
        self.clock = clock
        self.sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def take(self, count: int) -> None:
        """Wait until ``count`` more bytes fit under the cap."""
        if not self.bps or count <= 0:
            return
        with self._lock:
            now = self.clock()
            self._next = max(self._next, now) + count / self.bps
            wait = self._next - now - _BURST_S
        if wait > 0:
            self.sleep(wait)


class PacedReader:
    """A file read at the pace of a ``ByteRate``, counting the bytes that go (``sent``)."""

    def __init__(
        self, handle: BinaryIO, rate: ByteRate, sent: Callable[[int], None] | None = None
    ) -> None:
        """Wrap ``handle``; ``sent`` hears each read's byte count."""
        self._handle = handle
        self._rate = rate
        self._sent = sent

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes, once the cap allows them."""
        data = self._handle.read(size)
        self._rate.take(len(data))
        if self._sent is not None and data:
            self._sent(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        """Seek the file (the store may read a part again)."""
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        """Return the file's position."""
        return self._handle.tell()

    def seekable(self) -> bool:
        """Tell whether the file can seek (a regular file can)."""
        return self._handle.seekable()

    def __getattr__(self, name: str) -> Any:
        """Pass anything else to the file."""
        return getattr(self._handle, name)
