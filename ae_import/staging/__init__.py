"""Staging: media the server cannot fetch itself, copied into the user's bucket before sending.

A local file, a URL on a host that needs credentials (``media.auth``), or with
``--stage-all`` any https URL, is streamed into ``--stage-to s3://bucket/prefix``
(``gs://``, ``az://``) as ``<prefix>/<sha256>.<ext>``, and the row is sent with that
reference, signed just in time like any ``s3://`` row. ``sources`` decides which
media is staged and where its bytes come from; ``transfer`` hashes, spools and paces
the bytes; ``stager`` ties them to the store (``media.Store``) and the ledger.
"""

from __future__ import annotations

from .sources import LocalMedia, MediaSources, RemoteMedia, StageProblem, StageRetry
from .stager import LOOKUPS, StageCache, StageCounts, Staged, Stager
from .transfer import MAX_STAGE_BYTES, ByteRate, PacedReader, hash_file, media_type, spool

__all__ = [
    "LOOKUPS",
    "MAX_STAGE_BYTES",
    "ByteRate",
    "LocalMedia",
    "MediaSources",
    "PacedReader",
    "RemoteMedia",
    "StageCache",
    "StageCounts",
    "StageProblem",
    "StageRetry",
    "Staged",
    "Stager",
    "hash_file",
    "media_type",
    "spool",
]
