"""What the store tests share: bodies of a given size, and a reader that counts its reads."""

from __future__ import annotations

import hashlib
import io
import random
from typing import Any


def sized_body(size: int) -> bytes:
    """Return ``size`` reproducible bytes that no two offsets repeat in practice."""
    return random.Random(size).randbytes(size)


class CountingReader(io.RawIOBase):
    """A forward-only binary stream over ``data`` that records how much each read asked for.

    Not seekable, like a download being staged: a store that needs to seek, or that
    reads the whole body at once, shows here.
    """

    def __init__(self, data: bytes) -> None:
        """Read from ``data``, from its start."""
        super().__init__()
        self._data = memoryview(data)
        self._at = 0
        self.reads = 0
        self.largest_read = 0

    def readable(self) -> bool:
        """Say that the stream can be read."""
        return True

    def tell(self) -> int:
        """Return how many bytes were read so far."""
        return self._at

    def read(self, size: int | None = -1) -> bytes:
        """Return the next ``size`` bytes (all that is left when ``size`` is -1), recorded."""
        left = len(self._data) - self._at
        want = left if size is None or size < 0 else min(size, left)
        chunk = bytes(self._data[self._at : self._at + want])
        self._at += want
        self.reads += 1
        self.largest_read = max(self.largest_read, want)
        return chunk

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Copy the next bytes into ``buffer`` and record the read's size."""
        view = memoryview(buffer)
        count = min(len(view), len(self._data) - self._at)
        view[:count] = self._data[self._at : self._at + count]
        self._at += count
        self.reads += 1
        self.largest_read = max(self.largest_read, len(view))
        return count


def check_round_trip(store: Any, base: str) -> None:
    """Put a body under ``base``; head finds its size, sha256 and type; delete, twice, is quiet."""
    from ae_import.media.cloud import StagedObject

    body = bytes(range(256)) * 40
    digest = hashlib.sha256(body).hexdigest()
    ref = f"{base}/staged/{digest}.mp3"
    assert store.head(ref) is None
    store.put(ref, io.BytesIO(body), len(body), "audio/mpeg", digest)
    assert store.head(ref) == StagedObject(len(body), digest, "audio/mpeg")
    store.delete(ref)
    assert store.head(ref) is None
    store.delete(ref)  # already gone: no error
